"""Content fixtures: the content bucket in moto (versioned, as on AWS), the events of the
other services carried to the consumers in process, and a course with people in it.

``deliver()`` hands every outbox row of every service to every consumer that subscribes
to it, as the bus, the rules and the queues would (the inboxes drop what was already
applied), so the Content service learns who teaches and who is enrolled from the real
Course and Enrollment events.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import pytest

from functions.registry import SERVICES
from lms_local.resources import ensure_bucket
from lms_platform.aws import client
from lms_platform.db import open_connection, params_from_url
from tests.content import samples
from tests.course.builders import BuiltCourse, admin, build_course, instructor, ok, student
from tests.support import call

BUCKET = "lms-content"


@pytest.fixture(scope="session")
def content_bucket(platform_env: dict[str, str]) -> str:
    ensure_bucket(client("s3"), BUCKET, "us-east-1", prefixes=("content/",))
    return BUCKET


def outbox_events(admin_url: str) -> list[dict[str, Any]]:
    """Every service's events as EventBridge delivers them, oldest first per service."""
    connection = open_connection(params_from_url(admin_url))
    try:
        found = []
        for service in SERVICES:
            rows = connection.run(
                f"SELECT id::text, source, event_type, detail::text FROM {service.schema}.outbox "
                "WHERE destination = 'bus' ORDER BY occurred_at"
            )
            found += [
                {"id": i, "source": s, "detail-type": t, "detail": json.loads(d)}
                for i, s, t, d in rows
            ]
        return found
    finally:
        connection.close()


@pytest.fixture
def deliver(platform_env: dict[str, str], admin_url: str) -> Any:
    """``deliver()``: every published event to every consumer of it (repeats are no-ops)."""
    consumers = [
        import_module(s.consumer_path.rsplit(".", 1)[0]).consumer
        for s in SERVICES
        if s.consumer_path
    ]

    def run() -> int:
        delivered = 0
        for event in outbox_events(admin_url):
            for consumer in consumers:
                delivered += consumer.deliver(event)
        return delivered

    return run


@dataclass
class World:
    """A published course (two lessons), its owner, an enrolled student, a student who is
    not enrolled, an instructor of another course, an admin."""

    course: BuiltCourse
    enrolled: dict[str, Any]
    stranger: dict[str, Any]
    other_instructor: dict[str, Any]
    admin: dict[str, Any]
    enrollment_id: str
    items: dict[str, Any] = field(default_factory=dict)

    @property
    def owner(self) -> dict[str, Any]:
        return self.course.owner

    @property
    def lesson(self) -> str:
        return self.course.lesson_ids[0]

    def callers(self) -> dict[str, dict[str, Any] | None]:
        return {
            "anonymous": None,
            "student": self.stranger,
            "enrolled student": self.enrolled,
            "instructor of another course": self.other_instructor,
            "instructor": self.owner,
            "admin": self.admin,
        }


def enroll(caller: dict[str, Any], course_id: str) -> str:
    reply = call(
        "POST",
        "/courses/{courseId}/enrollments",
        caller=caller,
        path_params={"courseId": course_id},
    )
    return str(ok(reply, 201)["id"])


@pytest.fixture
def world(db_clean: None, content_bucket: str, deliver: Any) -> World:
    course = build_course(lessons_per_module=(2,))
    build_course(other := instructor(), lessons_per_module=(1,), title="Another course")
    deliver()
    enrolled = student()
    enrollment_id = enroll(enrolled, course.id)
    deliver()
    return World(course, enrolled, student(), other, admin(), enrollment_id)


# --- content through the routes -------------------------------------------------------------


def create_item(
    caller: dict[str, Any], course_id: str, lesson_id: str, kind: str = "pdf", **body: Any
) -> Any:
    return call(
        "POST",
        "/courses/{courseId}/lessons/{lessonId}/content",
        caller=caller,
        path_params={"courseId": course_id, "lessonId": lesson_id},
        body={"type": kind, "title": f"A {kind}", **body},
    )


def start_upload(caller: dict[str, Any], item_id: str, data: bytes, **body: Any) -> Any:
    declared = {
        "fileName": "notes.pdf",
        "contentType": "application/pdf",
        "sizeBytes": len(data),
        "checksumSha256": samples.sha256(data),
        **body,
    }
    return call(
        "POST", "/content/{itemId}/uploads", caller=caller, path_params={"itemId": item_id},
        body=declared,
    )  # fmt: skip


def put_file(upload: dict[str, Any], data: bytes, **headers: str) -> tuple[int, bytes]:
    """Send ``data`` as the presigned upload says (what curl -T does), headers overridable."""
    sent = {k: v for k, v in upload["headers"].items() if k.lower() != "content-length"}
    sent.update(headers)
    request = urllib.request.Request(upload["url"], data=data, method="PUT", headers=sent)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def complete(caller: dict[str, Any], item_id: str, version_id: str) -> Any:
    return call(
        "POST",
        "/content/{itemId}/versions/{versionId}/complete",
        caller=caller,
        path_params={"itemId": item_id, "versionId": version_id},
    )


def publish(caller: dict[str, Any], item_id: str, version_id: str) -> Any:
    return call(
        "POST",
        "/content/{itemId}/versions/{versionId}/publish",
        caller=caller,
        path_params={"itemId": item_id, "versionId": version_id},
    )


def uploaded_version(
    caller: dict[str, Any], item_id: str, data: bytes, **body: Any
) -> tuple[str, dict[str, Any]]:
    """A version whose file is uploaded (not yet completed): its id and the upload."""
    started = ok(start_upload(caller, item_id, data, **body), 201)
    status, answer = put_file(started["upload"], data)
    assert status == 200, answer
    return started["versionId"], started["upload"]


def published_pdf(world: World, data: bytes | None = None) -> tuple[str, str]:
    """A PDF item of the world's first lesson with a published version: (item, version)."""
    data = data or samples.pdf()
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    version, _ = uploaded_version(world.owner, item, data)
    ok(complete(world.owner, item, version))
    ok(publish(world.owner, item, version))
    return item, version


QUESTIONS = [
    {
        "questionText": "2 + 2?",
        "options": [{"id": "a", "text": "3"}, {"id": "b", "text": "4"}, {"id": "c", "text": "5"}],
        "correctOptionId": "b",
    },
    {
        "questionText": "The first programmer?",
        "options": [{"id": "ada", "text": "Ada Lovelace"}, {"id": "cb", "text": "C. Babbage"}],
        "correctOptionId": "ada",
    },
    {
        "questionText": "Base of binary?",
        "options": [{"id": "x", "text": "2"}, {"id": "y", "text": "10"}],
        "correctOptionId": "x",
    },
]


def put_questions(caller: dict[str, Any], item_id: str, questions: Any = None, **body: Any) -> Any:
    return call(
        "PUT",
        "/content/{itemId}/questions",
        caller=caller,
        path_params={"itemId": item_id},
        body={"questions": QUESTIONS if questions is None else questions, **body},
    )


def published_quiz(world: World, lesson_id: str | None = None, **body: Any) -> tuple[str, Any]:
    """A quiz with the three questions above, published: (item, the instructor's view)."""
    item = ok(create_item(world.owner, world.course.id, lesson_id or world.lesson, "quiz"), 201)
    quiz = ok(put_questions(world.owner, item["id"], **body))
    ok(publish(world.owner, item["id"], quiz["versionId"]))
    return item["id"], quiz


def answers_to(quiz: Any, right: int) -> dict[str, str]:
    """Answers with the first ``right`` questions right and the others wrong."""
    chosen = {}
    for n, question in enumerate(quiz["questions"]):
        wrong = next(o["id"] for o in question["options"] if o["id"] != question["correctOptionId"])
        chosen[question["id"]] = question["correctOptionId"] if n < right else wrong
    return chosen


def attempt(caller: dict[str, Any], item_id: str, answers: dict[str, str], **body: Any) -> Any:
    return call(
        "POST",
        "/content/{itemId}/attempts",
        caller=caller,
        path_params={"itemId": item_id},
        body={"answers": answers, **body},
    )


def object_versions(key_prefix: str) -> list[Any]:
    """Every version and delete marker under a key prefix: what is left in the bucket."""
    answer = client("s3").list_object_versions(Bucket=BUCKET, Prefix=key_prefix)
    return [*answer.get("Versions", []), *answer.get("DeleteMarkers", [])]


def new_id() -> str:
    return str(uuid.uuid4())
