"""Mixed traffic for ``make load`` (locust): students register, log in, browse the catalog,
enroll, complete lessons, hand in work and pay. What the setup made (a published course,
an assignment, a plan) comes in ``LMS_LOAD_WORLD`` (JSON).

The event lag is measured where a client feels it: from the enrollment's answer (the
EnrollmentCreated event published after its commit) to the moment the Assignment service,
which learns of enrollments only from that event, takes the student's submission. It is
reported as the pseudo-route ``LAG enrollment -> assignment``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from locust import HttpUser, between, task

WORLD: dict[str, Any] = json.loads(os.environ.get("LMS_LOAD_WORLD", "{}"))
PASSWORD = "correct horse battery staple"
POLL_SECONDS = 0.02


class Student(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.email = f"load-{uuid.uuid4().hex[:12]}@example.com"
        body = {"email": self.email, "password": PASSWORD, "displayName": "Load"}
        self.client.post("/auth/register", json=body, name="POST /auth/register")
        reply = self.client.post(
            "/auth/login", json={"email": self.email, "password": PASSWORD}, name="POST /auth/login"
        )
        self.headers = {"Authorization": f"Bearer {reply.json()['accessToken']}"}
        self.enrollment: str | None = None
        self.lessons_done = 0

    @task(5)
    def browse(self) -> None:
        self.client.get("/courses?limit=20", name="GET /courses")
        self.client.get(
            f"/courses/{WORLD['courseId']}", headers=self.headers, name="GET /courses/{courseId}"
        )

    @task(2)
    def learn(self) -> None:
        if self.enrollment is None:
            self.enroll_and_submit()
        elif self.lessons_done < len(WORLD["lessonIds"]):
            lesson = WORLD["lessonIds"][self.lessons_done]
            self.client.put(
                f"/enrollments/{self.enrollment}/lessons/{lesson}/completion",
                headers=self.headers,
                name="PUT /enrollments/{enrollmentId}/lessons/{lessonId}/completion",
            )
            self.lessons_done += 1
        else:
            self.client.get(
                f"/enrollments/{self.enrollment}",
                headers=self.headers,
                name="GET /enrollments/{enrollmentId}",
            )

    @task(1)
    def pay(self) -> None:
        invoice = self.client.post(
            "/invoices",
            json={"planId": WORLD["planId"]},
            headers=self.headers,
            name="POST /invoices",
        )
        if invoice.status_code != 201:
            return
        self.client.post(
            f"/invoices/{invoice.json()['id']}/payments",
            json={"paymentMethod": "pm_card_visa"},
            headers={**self.headers, "Idempotency-Key": str(uuid.uuid4())},
            name="POST /invoices/{invoiceId}/payments",
        )

    def enroll_and_submit(self) -> None:
        reply = self.client.post(
            f"/courses/{WORLD['courseId']}/enrollments",
            headers=self.headers,
            name="POST /courses/{courseId}/enrollments",
        )
        if reply.status_code != 201:
            return
        enrolled_at = time.perf_counter()
        self.enrollment = reply.json()["id"]
        path = f"/assignments/{WORLD['assignmentId']}/submissions"
        body = {"content": {"text": "My answer"}}
        key = str(uuid.uuid4())
        while time.perf_counter() - enrolled_at < 30:
            # the submission is refused (404/403) until the enrollment's event has arrived
            with self.client.post(
                path,
                json=body,
                headers={**self.headers, "Idempotency-Key": key},
                name="POST /assignments/{assignmentId}/submissions",
                catch_response=True,
            ) as answer:
                if answer.status_code == 201:
                    answer.success()
                    lag = (time.perf_counter() - enrolled_at) * 1000
                    self.environment.events.request.fire(
                        request_type="LAG",
                        name="enrollment -> assignment",
                        response_time=lag,
                        response_length=0,
                        exception=None,
                        context={},
                    )
                    return
                if answer.status_code in (403, 404):
                    answer.success()  # not yet known there: expected while the event travels
                else:
                    return
            time.sleep(POLL_SECONDS)
