"""A short life of the whole product through the real route handlers, with the bus in the
loop: it makes every kind of event some consumer subscribes to. Its events, read back
from the outboxes as they went to the bus, are what the fault injections carry.

A consumer added later that subscribes to an event type this story does not make is
named by ``uncovered()``; the tests fail on it rather than pass without it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from tests.assignment.builders import create_assignment, grade, submit
from tests.chaos.conftest import Bus
from tests.content.conftest import World, answers_to, attempt, published_quiz
from tests.course.builders import admin, build_course, instructor, ok, student
from tests.enrollment.test_consumer_convergence import course_history
from tests.support import as_caller, call


def simulator_env() -> Iterator[None]:
    """The payment gateway simulator, with the Stripe client pointed at it."""
    import os

    from functions.payment.gateway import reset_gateway
    from lms_local.gateway_simulator import GatewaySimulator
    from lms_platform.settings import reset_settings

    sim = GatewaySimulator(secret_key="sk_test_chaos", webhook_secret="whsec_chaos").start()
    env = {
        "LMS_STRIPE_SECRET_KEY": sim.secret_key,
        "LMS_STRIPE_WEBHOOK_SECRET": sim.webhook_secret,
        "LMS_STRIPE_API_BASE": sim.url,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reset_settings()
    reset_gateway()
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings()
    reset_gateway()
    sim.stop()


def enroll(caller: dict[str, Any], course_id: str) -> str:
    reply = call(
        "POST",
        "/courses/{courseId}/enrollments",
        caller=caller,
        path_params={"courseId": course_id},
    )
    return str(ok(reply, 201)["id"])


def complete_lesson(caller: dict[str, Any], enrollment_id: str, lesson_id: str) -> Any:
    return call(
        "PUT",
        "/enrollments/{enrollmentId}/lessons/{lessonId}/completion",
        caller=caller,
        path_params={"enrollmentId": enrollment_id, "lessonId": lesson_id},
    )


def users_story(bus: Bus) -> None:
    boss = as_caller(uuid.uuid4(), "ADMIN")
    people = []
    for n in range(2):
        reply = call(
            "POST",
            "/auth/register",
            body={
                "email": f"chaos-{uuid.uuid4().hex[:8]}@example.com",
                "password": "correct horse battery",
                "displayName": f"Person {n}",
            },
        )
        people.append(ok(reply, 201)["id"])
    first, second = people
    for method in ("PUT", "DELETE"):
        call(
            method,
            "/users/{userId}/roles/{role}",
            caller=boss,
            path_params={"userId": first, "role": "INSTRUCTOR"},
        )
    for status in ("SUSPENDED", "ACTIVE"):
        call(
            "PATCH",
            "/users/{userId}",
            caller=boss,
            path_params={"userId": second},
            body={"status": status},
        )
    call("PATCH", "/me/profile", caller=as_caller(first, "STUDENT"), body={"bio": "chaos"})
    bus.settle()


def learning_story(bus: Bus) -> None:
    course_history()
    course = build_course(lessons_per_module=(2,))
    bus.settle()
    learner, quitter, writer = student(), student(), student()
    done = enroll(learner, course.id)
    cancelled = enroll(quitter, course.id)
    call(
        "POST",
        "/enrollments/{enrollmentId}/cancel",
        caller=quitter,
        path_params={"enrollmentId": cancelled},
    )
    enroll(writer, course.id)
    bus.settle()
    ok(complete_lesson(learner, done, course.lesson_ids[0]))
    world = World(course, learner, student(), instructor(), admin(), done)
    item, quiz = published_quiz(world, course.lesson_ids[1])
    ok(attempt(learner, item, answers_to(quiz, len(quiz["questions"]))), 201)
    bus.settle()
    work = ok(create_assignment(course.owner, course.id, lessonId=course.lesson_ids[0]), 201)
    spare = ok(create_assignment(course.owner, course.id, title="Spare"), 201)
    call(
        "PATCH",
        "/assignments/{assignmentId}",
        caller=course.owner,
        path_params={"assignmentId": work["id"]},
        body={"title": "Essay, revised"},
    )
    call(
        "DELETE",
        "/assignments/{assignmentId}",
        caller=course.owner,
        path_params={"assignmentId": spare["id"]},
    )
    bus.settle()
    handed = ok(submit(writer, work["id"]), 201)
    ok(grade(course.owner, handed["id"], 90))
    bus.settle()


def payment_story(bus: Bus) -> None:
    boss = as_caller(uuid.uuid4(), "ADMIN", "STUDENT")
    buyer = as_caller(uuid.uuid4(), "STUDENT")
    body = {"name": "Pro", "price": "19.90", "currency": "USD", "interval": "month"}
    plan = ok(call("POST", "/plans", caller=boss, body=body), 201)
    for method in ("pm_card_chargeDeclinedInsufficientFunds", "pm_card_visa"):
        invoice = ok(call("POST", "/invoices", caller=buyer, body={"planId": plan["id"]}), 201)
        call(
            "POST",
            "/invoices/{invoiceId}/payments",
            caller=buyer,
            path_params={"invoiceId": invoice["id"]},
            body={"paymentMethod": method},
            headers={"idempotency-key": str(uuid.uuid4())},
        )
    spare = ok(call("POST", "/invoices", caller=buyer, body={"planId": plan["id"]}), 201)
    call("POST", "/invoices/{invoiceId}/void", caller=boss, path_params={"invoiceId": spare["id"]})
    bus.settle()


def run_story(bus: Bus) -> None:
    users_story(bus)
    learning_story(bus)
    payment_story(bus)


def uncovered(bus: Bus, events: list[dict[str, Any]]) -> list[str]:
    """``consumer: EventType`` for each subscription no event of the story exercises."""
    made = {(e["source"], e["detail-type"]) for e in events}
    return [
        f"{name}: {s.event.event_type}"
        for name, consumer in bus.consumers.items()
        for s in consumer.subscriptions
        if (s.event.source, s.event.event_type) not in made
    ]
