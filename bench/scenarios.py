"""What each declared route is called with in the cold-start benchmark.

``prepare`` makes, through the use cases, what the routes need (a student, an
instructor, an administrator, an organization, a published course with modules and
lessons, an enrollment) and feeds the events those changes published to the consuming
services in process, so that each route finds its objects. ``SCENARIOS`` says, per route
name, who calls it and with which body; a declared route without a scenario stops the
benchmark: every route joins the cold-start list.

Path parameters are filled by name from the prepared objects (``courseId``, ``lessonId``
...). ``__UNIQUE__`` in a body and ``__FRESH__`` as a caller are replaced on every run, for
routes whose second call would otherwise be refused (registering the same email twice);
a pool token (``__UPLOADED_VERSION__``) by the next of the objects ``prepare`` made for
routes whose work is used up by a run (a version completed or published).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PASSWORD = "correct horse battery"  # noqa: S105 (the bench's own accounts)


@dataclass(frozen=True)
class Scenario:
    # "student", "teacher", "admin"; "fresh" (a new id each run); "new user" (a user
    # registered for each run); None (anonymous)
    caller: str | None
    body: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # overrides of path parameters
    headers: dict[str, str] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {
    # user
    "refresh": Scenario(None, {"refreshToken": "__REFRESH_TOKEN__"}),
    "logout": Scenario(None, {"refreshToken": "__REFRESH_TOKEN__"}),
    "change_password": Scenario(
        "new user", {"currentPassword": PASSWORD, "newPassword": "another long password"}
    ),
    "clear_login_lock": Scenario("admin", params={"userId": "{studentId}"}),
    "transfer_ownership": Scenario("admin", {"userId": "{teacherId}"}),
    "register": Scenario(
        None,
        {"email": "cold-__UNIQUE__@example.com", "password": PASSWORD, "displayName": "Cold"},
    ),
    "login": Scenario(None, {"email": "{studentEmail}", "password": PASSWORD}),
    "get_me": Scenario("student"),
    "update_my_profile": Scenario("student", {"bio": "cold"}),
    "list_users": Scenario("admin", query={"limit": "20"}),
    "get_user": Scenario("admin", params={"userId": "{studentId}"}),
    "update_user": Scenario("admin", {"status": "ACTIVE"}, params={"userId": "{studentId}"}),
    "assign_role": Scenario("admin", params={"userId": "{studentId}", "role": "STUDENT"}),
    "revoke_role": Scenario("admin", params={"userId": "{spareId}", "role": "INSTRUCTOR"}),
    "create_organization": Scenario(
        "admin", {"name": "Cold", "slug": "cold-__UNIQUE__", "settings": {}}
    ),
    "list_organizations": Scenario("admin"),
    "get_organization": Scenario("admin"),
    "update_organization": Scenario("admin", {"name": "Renamed"}),
    "jwks": Scenario(None),
    "openid_configuration": Scenario(None),
    # course
    "create_course": Scenario("teacher", {"title": "Cold course __UNIQUE__"}),
    "list_courses": Scenario(None, query={"limit": "20"}),
    "get_course": Scenario("student"),
    "update_course": Scenario("teacher", {"description": "cold"}),
    "publish_course": Scenario("teacher"),
    "archive_course": Scenario("teacher", params={"courseId": "{spareCourseId}"}),
    "assign_instructor": Scenario("teacher", params={"userId": "{teacherId}"}),
    "remove_instructor": Scenario("teacher", params={"userId": "{spareId}"}),
    "add_module": Scenario("teacher", {"title": "Cold module"}),
    "reorder_modules": Scenario("teacher", {"moduleIds": ["{moduleId}", "{module2Id}"]}),
    "rename_module": Scenario("teacher", {"title": "Renamed"}),
    "remove_module": Scenario("teacher", params={"moduleId": "{spareModuleId}"}),
    "add_lesson": Scenario("teacher", {"title": "Cold lesson", "type": "text"}),
    "reorder_lessons": Scenario("teacher", {"lessonIds": ["{lessonId}", "{lesson2Id}"]}),
    "update_lesson": Scenario("teacher", {"durationMinutes": 7}),
    "remove_lesson": Scenario("teacher", params={"lessonId": "{spareLessonId}"}),
    "move_lesson": Scenario("teacher", {"moduleId": "{moduleId}", "position": 0}),
    # enrollment
    "enroll": Scenario("fresh"),
    "list_course_enrollments": Scenario("teacher"),
    "list_my_enrollments": Scenario("student"),
    "get_enrollment": Scenario("student"),
    "complete_lesson": Scenario("student"),
    "cancel_enrollment": Scenario("admin", params={"enrollmentId": "{spareEnrollmentId}"}),
    # assignment
    "create_assignment": Scenario("teacher", {"title": "Cold __UNIQUE__", "maxScore": 10}),
    "list_course_assignments": Scenario("student"),
    "get_assignment": Scenario("student"),
    "update_assignment": Scenario("teacher", {"description": "cold __UNIQUE__"}),
    "delete_assignment": Scenario("teacher", params={"assignmentId": "{spareAssignmentId}"}),
    "archive_assignment": Scenario("teacher", params={"assignmentId": "{archivedAssignmentId}"}),
    "submit": Scenario(
        "student",
        {"content": {"text": "cold", "links": ["https://example.com/work"]}},
        headers={"Idempotency-Key": "cold-__UNIQUE__"},
    ),
    "list_assignment_submissions": Scenario("teacher", query={"latest": "true"}),
    "list_my_submissions": Scenario("student"),
    "get_submission": Scenario("student"),
    "grade_submission": Scenario("teacher", {"score": 7, "feedback": "cold __UNIQUE__"}),
    # analytics
    "course_metrics": Scenario(
        "teacher", query={"metric": "activeLearners", "period": "day", "to": "2026-11-30"}
    ),
    "platform_metrics": Scenario(
        "admin", query={"metric": "revenue", "currency": "USD", "period": "week"}
    ),
    # payment
    "create_plan": Scenario(
        "admin", {"name": "Cold", "price": "9.90", "currency": "USD", "interval": "month"}
    ),
    "list_plans": Scenario(None, query={"limit": "20"}),
    "update_plan": Scenario("admin", {"name": "Renamed"}),
    "archive_plan": Scenario("admin", params={"planId": "{sparePlanId}"}),
    "create_invoice": Scenario("student", {"planId": "{planId}"}),
    "list_my_invoices": Scenario("student", query={"limit": "20"}),
    "get_invoice": Scenario("student"),
    "void_invoice": Scenario("student", params={"invoiceId": "{spareInvoiceId}"}),
    # Each run pays an invoice of its own, through the gateway (the simulator): the whole
    # path, the stripe library's import and two gateway calls included.
    "pay_invoice": Scenario(
        "student",
        {"paymentMethod": "pm_card_visa"},
        params={"invoiceId": "__NEXT_INVOICE__"},
        headers={"Idempotency-Key": "__UNIQUE__"},
    ),
    # A signed event about a payment that is not ours: verified, recorded, acknowledged.
    "payment_webhook": Scenario(
        None,
        {
            "id": "evt___UNIQUE__",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": 0,
            "data": {"object": {"id": "pi___UNIQUE__", "status": "succeeded", "amount": 990}},
        },
        headers={"Stripe-Signature": "__STRIPE_SIGNATURE__"},
    ),
    # content (itemId: a published PDF; quizId: a published quiz)
    "create_content": Scenario("teacher", {"type": "pdf", "title": "Cold __UNIQUE__"}),
    "list_lesson_content": Scenario("student"),
    "get_content": Scenario("student"),
    "start_upload": Scenario(
        "teacher",
        {
            "fileName": "cold.pdf",
            "contentType": "application/pdf",
            "sizeBytes": 4096,
            "checksumSha256": "0" * 64,
        },
    ),
    # Each run checks another uploaded file (HEAD, ranged GET, GET, DELETE ?tagging)...
    "complete_upload": Scenario("teacher", params={"versionId": "__UPLOADED_VERSION__"}),
    # ... and publishes another ready version.
    "publish_version": Scenario("teacher", params={"versionId": "__READY_VERSION__"}),
    "list_versions": Scenario("teacher"),
    "download_content": Scenario("student"),
    "put_questions": Scenario(
        "teacher",
        {
            "questions": [
                {
                    "questionText": "Cold?",
                    "options": [{"id": "y", "text": "Yes"}, {"id": "n", "text": "No"}],
                    "correctOptionId": "y",
                }
            ]
        },
        params={"itemId": "{quizId}"},
    ),
    "get_questions": Scenario("student", params={"itemId": "{quizId}"}),
    "submit_attempt": Scenario("student", {"answers": {}}, params={"itemId": "{quizId}"}),
    "list_attempts": Scenario("student", params={"itemId": "{quizId}"}),
}

# Invoices the pay scenario's runs pay, one each (made by ``prepare``).
INVOICE_POOL: list[str] = []

# Objects a run uses up, one per run (``per_run``), made by ``prepare``.
POOL_SIZE = 10
_pools: dict[str, Iterator[str]] = {}


def prepare() -> dict[str, str]:
    """Objects every route can be called on; their ids by path parameter name."""
    from functions.assignment import use_cases as assignments
    from functions.assignment.models import CreateAssignment, SubmissionContent, SubmitWork
    from functions.course import use_cases as courses
    from functions.course.models import AddLesson, AddModule, CreateCourse
    from functions.enrollment import use_cases as enrollments
    from functions.user import use_cases as users
    from functions.user.models import CreateOrganization, RegisterUser
    from lms_platform.http import Principal

    tag = secrets.token_hex(3)

    def register(name: str) -> Any:
        return users.register(
            RegisterUser(email=f"{name}-{tag}@example.com", password=PASSWORD, display_name=name)
        )

    student, teacher, spare = register("student"), register("teacher"), register("spare")
    admin = users.create_admin(f"admin-{tag}@example.com", PASSWORD, "Admin")
    for who in (teacher, spare):
        users.assign_role(None, who.id, "INSTRUCTOR")
    deliver_published_events()  # the Course service learns who may teach
    org = users.create_organization(CreateOrganization(name="Bench", slug=f"bench-{tag}"))
    instructor = Principal(teacher.id, frozenset({"INSTRUCTOR"}), teacher.email)

    def course(title: str) -> tuple[Any, list[Any], list[Any]]:
        made = courses.create_course(instructor, CreateCourse(title=f"{title} {tag}"))
        modules = [
            courses.add_module(instructor, made.id, AddModule(title=f"M{n}")) for n in (1, 2, 3)
        ]
        lessons = [
            courses.add_lesson(instructor, made.id, m.id, AddLesson(title=f"L{n}", type="text"))
            for n, m in enumerate((modules[0], modules[0], modules[1], modules[1]))
        ]
        courses.publish(instructor, made.id)
        return made, modules, lessons

    main, modules, lessons = course("Bench")
    spare_course, _, _ = course("Spare")
    courses.assign_instructor(instructor, main.id, spare.id)
    deliver_published_events()
    me = Principal(student.id, frozenset({"STUDENT"}), student.email)
    enrollment = enrollments.enroll(me, main.id)
    other = Principal(spare.id, frozenset({"STUDENT"}), spare.email)
    spare_enrollment = enrollments.enroll(other, main.id)
    deliver_published_events()  # the enrollments, to the Assignment and Content services

    def assignment(title: str, **fields: Any) -> Any:
        made = CreateAssignment(title=title, max_score=10, **fields)
        return assignments.create_assignment(instructor, main.id, made)

    essay = assignment("Essay", lesson_id=lessons[0].id, passing_score=5)
    graded = assignment("Graded")
    spare_assignment, archived = assignment("Spare"), assignment("Archived")
    work = SubmitWork(content=SubmissionContent(text="bench"))
    submission = assignments.submit(me, graded.id, work, idempotency_key=None)
    plan, spare_plan, invoice, spare_invoice = _payments(admin, me)
    content = prepare_content(instructor, main.id, lessons[0].id)
    return {
        **content,
        "studentId": str(student.id),
        "studentEmail": student.email,
        "teacherId": str(teacher.id),
        "adminId": str(admin.id),
        "spareId": str(spare.id),
        "organizationId": str(org.id),
        "courseId": str(main.id),
        "spareCourseId": str(spare_course.id),
        "moduleId": str(modules[0].id),
        "module2Id": str(modules[1].id),
        "spareModuleId": str(modules[2].id),
        "lessonId": str(lessons[0].id),
        "lesson2Id": str(lessons[1].id),
        "spareLessonId": str(lessons[3].id),
        "enrollmentId": str(enrollment.id),
        "spareEnrollmentId": str(spare_enrollment.id),
        "assignmentId": str(essay.id),
        "spareAssignmentId": str(spare_assignment.id),
        "archivedAssignmentId": str(archived.id),
        "submissionId": str(submission.id),
        "role": "STUDENT",
        "planId": plan,
        "sparePlanId": spare_plan,
        "invoiceId": invoice,
        "spareInvoiceId": spare_invoice,
    }


def _payments(admin: Any, student: Any) -> tuple[str, str, str, str]:
    """Plans and invoices for the Payment routes; the pool of invoices the pay runs pay."""
    from functions.payment import use_cases as payments
    from functions.payment.models import CreateInvoice, CreatePlan
    from lms_platform.http import Principal, _principal

    token = _principal.set(Principal(admin.id, frozenset({"ADMIN"}), admin.email))
    try:
        made = [
            payments.create_plan(
                CreatePlan(name=name, price="19.90", currency="USD", interval="month")
            )
            for name in ("Bench", "Spare")
        ]
    finally:
        _principal.reset(token)
    invoices = [
        payments.create_invoice(student, CreateInvoice(plan_id=made[0].id)) for _ in range(14)
    ]
    INVOICE_POOL[:] = [str(i.id) for i in invoices[2:]]
    return str(made[0].id), str(made[1].id), str(invoices[0].id), str(invoices[1].id)


def prepare_content(instructor: Any, course_id: uuid.UUID, lesson_id: uuid.UUID) -> dict[str, str]:
    """A published PDF and a published quiz in the lesson, and the pools of uploaded and of
    ready versions the completion and publication runs use up."""
    import urllib.request

    from functions.content import use_cases as content
    from functions.content.models import CreateContent, PutQuestions, StartUpload
    from lms_local.resources import ensure_bucket
    from lms_platform.aws import client
    from lms_platform.settings import get_settings

    settings = get_settings()
    ensure_bucket(
        client("s3"), settings.content_bucket, settings.aws_region, prefixes=("content/",)
    )
    pdf = content.create_content(
        instructor, course_id, lesson_id, CreateContent(type="pdf", title="Bench notes")
    )
    data = b"%PDF-1.4\n" + bytes(range(256)) * 16

    def uploaded() -> uuid.UUID:
        started = content.start_upload(
            instructor,
            pdf.id,
            StartUpload(
                file_name="bench.pdf",
                content_type="application/pdf",
                size_bytes=len(data),
                checksum_sha256=hashlib.sha256(data).hexdigest(),
            ),
        )
        headers = {k: v for k, v in started.upload.headers.items() if k != "Content-Length"}
        request = urllib.request.Request(  # noqa: S310 (the bench's own moto)
            started.upload.url, data=data, method="PUT", headers=headers
        )
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
        return started.version_id

    def ready() -> uuid.UUID:
        version = uploaded()
        content.complete_upload(instructor, pdf.id, version)
        return version

    first = ready()
    content.publish(instructor, pdf.id, first)
    _pools["__UPLOADED_VERSION__"] = itertools.cycle([str(uploaded()) for _ in range(POOL_SIZE)])
    _pools["__READY_VERSION__"] = itertools.cycle([str(ready()) for _ in range(POOL_SIZE)])
    quiz = content.create_content(
        instructor, course_id, lesson_id, CreateContent(type="quiz", title="Bench quiz")
    )
    questions = PutQuestions.model_validate(SCENARIOS["put_questions"].body)
    draft = content.put_questions(instructor, quiz.id, questions)
    content.publish(instructor, quiz.id, draft.version_id)
    return {"itemId": str(pdf.id), "quizId": str(quiz.id)}


def deliver_published_events() -> None:
    """Hand every outbox row of every service to the consumers that subscribe to it, in
    process (what the bus, the rules and the queues do under ``lms run``)."""
    from importlib import import_module

    from functions.registry import SERVICES
    from lms_platform.db import database

    consumers = [
        import_module(s.consumer_path.rsplit(".", 1)[0]).consumer
        for s in SERVICES
        if s.consumer_path
    ]
    for service in SERVICES:
        rows = database(service.role).read(
            "SELECT source, event_type, detail::text AS detail FROM outbox ORDER BY occurred_at"
        )
        for row in rows:
            event = {
                "source": row["source"],
                "detail-type": row["event_type"],
                "detail": json.loads(row["detail"]),
            }
            for consumer in consumers:
                consumer.deliver(event)


def event_for(route: Any, scenario: Scenario, ids: dict[str, str]) -> dict[str, Any]:
    """The API Gateway v2 event of one call (``__UNIQUE__``/``__FRESH__`` left for the run)."""
    names = re.findall(r"\{(\w+)\}", route.path)
    values = {name: _fill(scenario.params.get(name, "{" + name + "}"), ids) for name in names}
    path = route.path
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    body = None if scenario.body is None else _fill(json.dumps(scenario.body), ids)
    claims = _claims(scenario.caller, ids)
    context: dict[str, Any] = {
        "http": {
            "method": route.method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "bench",
        },
        "requestId": "bench",
        "routeKey": route.key,
        "stage": "$default",
    }
    if claims:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in scenario.query.items()),
        "headers": {"content-type": "application/json", **scenario.headers},
        "queryStringParameters": scenario.query or None,
        "pathParameters": values or None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": False,
    }


def _claims(caller: str | None, ids: dict[str, str]) -> dict[str, str] | None:
    if caller is None:
        return None
    if caller == "fresh":
        return {"sub": "__FRESH__", "roles": "STUDENT", "email": "fresh@example.com"}
    if caller == "new user":
        return {"sub": "__NEW_USER__", "roles": "STUDENT", "email": "new@example.com"}
    roles = {"student": "STUDENT", "teacher": "INSTRUCTOR", "admin": "ADMIN STUDENT"}[caller]
    return {"sub": ids[f"{caller}Id"], "roles": roles, "email": f"{caller}@example.com"}


def _fill(text: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m[1], m[0]), text)


def per_run(event_json: str) -> str:
    """The event of one run: fresh unique values where the scenario asks for them (a new
    id, a user registered for this run, a refresh token of a session started for it, an
    invoice of its own to pay, a webhook signed now, the next object of a pool)."""
    from functions.user import use_cases as users
    from functions.user.models import RegisterUser

    for token, pool in _pools.items():
        if token in event_json:
            event_json = event_json.replace(token, next(pool))
    text = event_json.replace("__UNIQUE__", secrets.token_hex(6))
    text = text.replace("__FRESH__", str(uuid.uuid4()))
    if "__NEW_USER__" in text or "__REFRESH_TOKEN__" in text:
        email = f"run-{secrets.token_hex(6)}@example.com"
        user = users.register(RegisterUser(email=email, password=PASSWORD, display_name="Run"))
        text = text.replace("__NEW_USER__", str(user.id))
        if "__REFRESH_TOKEN__" in text:
            tokens = users.login(email, PASSWORD)
            text = text.replace("__REFRESH_TOKEN__", tokens.refresh_token)
    if "__NEXT_INVOICE__" in text:
        text = text.replace("__NEXT_INVOICE__", INVOICE_POOL.pop())
    if "__STRIPE_SIGNATURE__" in text:
        import os

        from lms_local.gateway_simulator import sign

        event = json.loads(text)
        secret = os.environ["LMS_STRIPE_WEBHOOK_SECRET"]
        event["headers"]["Stripe-Signature"] = sign(event["body"], secret)
        text = json.dumps(event)
    return text
