"""The operator's commands against a running ``lms run``: a replay its consumers take as
duplicates, the dead-letter queues, a read model rebuilt while the runtime serves."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from functions.registry import SERVICES
from tests.e2e.harness import PASSWORD, Reply, Runtime, eventually, http, login

pytestmark = pytest.mark.e2e


def _ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.body


def _account(rt: Runtime, name: str) -> tuple[str, str]:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": PASSWORD, "displayName": name.title()}
    return str(_ok(http(rt, "POST", "/auth/register", body=body), 201)["id"]), email


def _json(rt: Runtime, *args: str) -> Any:
    done = rt.lms(*args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_a_replay_a_look_at_the_dlqs_and_a_rebuild_against_the_runtime(runtime: Runtime) -> None:
    # Given an instructor's published course and a student enrolled in it
    teacher_id, teacher_email = _account(runtime, "teacher")
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    made = runtime.lms(
        *("create-admin", "--email", admin_email, "--display-name", "Ad Min", "--password-stdin"),
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stdout + made.stderr
    admin = login(runtime, admin_email)
    _ok(http(runtime, "PUT", f"/users/{teacher_id}/roles/INSTRUCTOR", token=admin))
    teacher = login(runtime, teacher_email)
    course_id = eventually(
        lambda: http(runtime, "POST", "/courses", token=teacher, body={"title": "Replays 101"}),
        lambda reply: reply.status == 201,
    ).body["id"]
    module = _ok(
        http(runtime, "POST", f"/courses/{course_id}/modules", token=teacher, body={"title": "M"}),
        201,
    )
    _ok(
        http(
            runtime,
            "POST",
            f"/courses/{course_id}/modules/{module['id']}/lessons",
            token=teacher,
            body={"title": "L", "type": "video", "durationMinutes": 3},
        ),
        201,
    )
    _ok(http(runtime, "POST", f"/courses/{course_id}/publish", token=teacher))
    _, student_email = _account(runtime, "student")
    student = login(runtime, student_email)
    enrollment = eventually(
        lambda: http(runtime, "POST", f"/courses/{course_id}/enrollments", token=student),
        lambda reply: reply.status == 201,
    ).body
    duplicates_before = runtime.output().count("duplicate")

    # When every event of the last hour is replayed, and the runtime's consumers take them
    replayed = _json(runtime, "replay", "--since", "1h", "--wait")

    # Then every consumer got some, took them all, and skipped them as duplicates
    consumers = {s.name for s in SERVICES if s.has_consumer}
    assert replayed["drained"] is True
    assert set(replayed["sent"]) == consumers and all(replayed["sent"].values()), replayed
    assert runtime.output().count("duplicate") > duplicates_before
    # And no dead-letter queue holds anything
    queues = _json(runtime, "dlq", "list")
    assert {q["service"]: q["waiting"] for q in queues} == dict.fromkeys(consumers, 0)

    # When the Enrollment read model is rebuilt while the runtime serves
    rebuilt = _json(runtime, "rebuild-read-model", "enrollment")

    # Then it holds the course again, and the student's enrollment works as before
    assert rebuilt["events"] > 0 and rebuilt["tables"]["courses"] >= 1
    assert _ok(http(runtime, "GET", f"/enrollments/{enrollment['id']}", token=student))["id"]
    assert "retention every 60 min" in runtime.output()
