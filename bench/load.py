"""``make load``: mixed traffic (bench/locustfile.py) against ``lms run`` on this machine,
stepping the number of users up until requests fail or the p95 latency passes 500 ms.

It starts ``lms run`` on a free port with a state folder of its own, makes the world the
traffic needs (an administrator, an instructor with a published course of three lessons
and an assignment, a plan), then runs locust headless once per step. Per step it prints
requests per second and p50/p95/p99 per route, the errors, and the event lag (enrollment
answered -> the Assignment service takes a submission, p50/p95). At the end it waits for
the outboxes to drain and prints the backlog (0 when everything was sent).

What it measures is the local runtime on one machine -- gateway, handlers on a thread pool,
embedded PostgreSQL and moto on the same cores as the load generator -- not AWS.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from lms_local.environment import free_port

STEPS = [int(n) for n in os.environ.get("LMS_LOAD_STEPS", "5,10,20,40,80").split(",")]
STEP_SECONDS = int(os.environ.get("LMS_LOAD_STEP_SECONDS", "30"))
P95_LIMIT_MS = 500.0
PASSWORD = "correct horse battery staple"


def http(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        text = response.read()
    return json.loads(text) if text else None


def until(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except (urllib.error.URLError, ConnectionError, KeyError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def make_world(base: str, lms: list[str]) -> dict[str, Any]:
    def account(name: str) -> tuple[str, str]:
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        made = http(
            base,
            "POST",
            "/auth/register",
            {"email": email, "password": PASSWORD, "displayName": name},
        )
        return made["id"], email

    def login(email: str) -> str:
        body = {"email": email, "password": PASSWORD}
        return str(http(base, "POST", "/auth/login", body)["accessToken"])

    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    subprocess.run(
        [
            *lms,
            "create-admin",
            "--email",
            admin_email,
            "--display-name",
            "Admin",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    admin = login(admin_email)
    teacher_id, teacher_email = account("teacher")
    http(base, "PUT", f"/users/{teacher_id}/roles/INSTRUCTOR", token=admin)
    teacher = login(teacher_email)
    course = until(lambda: http(base, "POST", "/courses", {"title": "Load 101"}, teacher))
    module = http(base, "POST", f"/courses/{course['id']}/modules", {"title": "One"}, teacher)
    lessons = [
        http(
            base,
            "POST",
            f"/courses/{course['id']}/modules/{module['id']}/lessons",
            {"title": f"Lesson {n}", "type": "text", "durationMinutes": 3},
            teacher,
        )["id"]
        for n in range(3)
    ]
    http(base, "POST", f"/courses/{course['id']}/publish", token=teacher)
    assignment = until(
        lambda: http(
            base,
            "POST",
            f"/courses/{course['id']}/assignments",
            {"title": "Essay", "maxScore": 100},
            teacher,
        )
    )
    plan = http(
        base,
        "POST",
        "/plans",
        {"name": "Pro", "price": "19.90", "currency": "USD", "interval": "month"},
        admin,
    )
    return {
        "courseId": course["id"],
        "lessonIds": lessons,
        "assignmentId": assignment["id"],
        "planId": plan["id"],
    }


def run_step(base: str, users: int, world: dict[str, Any], folder: Path) -> list[dict[str, str]]:
    prefix = folder / f"step-{users}"
    env = {**os.environ, "LMS_LOAD_WORLD": json.dumps(world)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(Path(__file__).with_name("locustfile.py")),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(max(1, users // 5)),
            "-t",
            f"{STEP_SECONDS}s",
            "--host",
            base,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "ERROR",
        ],
        env=env,
        check=False,
        capture_output=True,
    )
    with open(f"{prefix}_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def show(users: int, rows: list[dict[str, str]]) -> tuple[int, float]:
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(
        f"\n{users} users: {float(total['Requests/s']):.1f} requests/s, "
        f"{total['Request Count']} requests, {total['Failure Count']} errors"
    )
    print(f"  {'route':<66} {'count':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>6}")
    for r in rows:
        if r["Name"] == "Aggregated":
            continue
        name = r["Name"] if r["Type"] != "LAG" else f"event lag: {r['Name']}"
        print(
            f"  {name:<66} {r['Request Count']:>6} {r['50%']:>6} {r['95%']:>6} "
            f"{r['99%']:>6} {r['Failure Count']:>6}"
        )
    routes = [r for r in rows if r["Name"] != "Aggregated" and r["Type"] != "LAG"]
    p95 = max((float(r["95%"]) for r in routes if r["95%"] != "N/A"), default=0.0)
    return int(total["Failure Count"]), p95


def backlog(lms: list[str]) -> int:
    """Outbox rows not yet sent, all services (``lms outbox status``)."""
    out = subprocess.run([*lms, "outbox", "status", "--json"], capture_output=True, text=True)
    return sum(int(o["events"]) + int(o["tasks"]) for o in json.loads(out.stdout)["outbox"])


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="lms-load-"))
    port = free_port()
    lms = [str(Path(sys.executable).with_name("lms")), "--state-dir", str(folder / "state")]
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "AWS_"))}
    log = (folder / "lms-run.log").open("wb")
    runtime = subprocess.Popen([*lms, "run", "--port", str(port)], env=env, stdout=log, stderr=log)
    try:
        until(lambda: http(base, "GET", "/.well-known/jwks.json"), 120)
        world = make_world(base, lms)
        print(f"lms run on {base} (state {folder}); steps of {STEP_SECONDS} s: {STEPS} users")
        knee = None
        for users in STEPS:
            errors, p95 = show(users, run_step(base, users, world, folder))
            if errors or p95 > P95_LIMIT_MS:
                knee = users
                print(f"  -> stop: {errors} errors, slowest route p95 {p95:.0f} ms")
                break
        print(f"\nknee: {knee or 'not reached'} users")
        started = time.monotonic()
        left = backlog(lms)
        while left and time.monotonic() - started < 120:
            time.sleep(1)
            left = backlog(lms)
        print(f"outbox backlog at the end: {left} (after {time.monotonic() - started:.0f} s)")
        return 0 if left == 0 else 1
    finally:
        runtime.terminate()
        runtime.wait(timeout=60)
        log.close()


if __name__ == "__main__":
    sys.exit(main())
