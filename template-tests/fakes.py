"""Services declared only here, to prove the infrastructure builds every declaration field
before a real service uses it: shaped like the Content, Payment and Analytics services to
come (bucket uploads, a provider's secrets and package, a consume-everything consumer
that hands itself tasks, scheduled jobs)."""

from __future__ import annotations

from lms_events import course as course_events
from lms_events import user as user_events
from lms_platform.service import Job, Route, Service

CONTENT = Service(
    name="content",
    routes=(
        Route(
            "POST",
            "/courses/{courseId}/uploads",
            "create_upload",
            status=201,
            bucket=("PutObject",),
            summary="A presigned URL to upload a lesson's file",
        ),
        Route(
            "GET",
            "/courses/{courseId}/files",
            "list_files",
            bucket=("ListBucket", "GetObject"),
            summary="A course's files",
        ),
    ),
    consumes=(course_events.CoursePublished,),
    consumer_bucket=("DeleteObject",),
    bucket_prefix="content/",
)

PAYMENT = Service(
    name="payment",
    routes=(
        Route(
            "POST",
            "/payments/webhook",
            "webhook",
            public=True,
            throttle="strict",
            secrets=("stripe-webhook-secret",),
            summary="The payment provider's signed notifications",
        ),
        Route("POST", "/payments", "create_payment", status=201, secrets=("stripe-api-key",)),
    ),
    publishes=(user_events.UserRegistered,),
    jobs=(
        Job(
            "reconcile",
            every_minutes=60,
            summary="Settles payments the provider confirmed",
            timeout_seconds=300,
            secrets=("stripe-api-key",),
        ),
    ),
    secrets=("stripe-api-key", "stripe-webhook-secret"),
    # A group that exists in pyproject.toml today; Payment will name its own.
    dependencies=("migrations",),
)

ANALYTICS = Service(
    name="analytics",
    consumes_all=True,
    tasks=("rebuild",),
    jobs=(Job("partitions", every_minutes=1440, summary="Creates next month's partitions"),),
)

FAKES = (CONTENT, PAYMENT, ANALYTICS)
