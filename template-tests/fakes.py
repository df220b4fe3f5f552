"""Services declared only here, to prove that adding a service adds its stack and edits no
other, and that the infrastructure builds every declaration field whatever service uses
it: bucket uploads, a provider's secrets and package, a consume-everything consumer that
hands itself tasks, scheduled jobs. Their names are none of the real services'."""

from __future__ import annotations

from lms_events import course as course_events
from lms_events import user as user_events
from lms_platform.service import Job, Route, Service

MEDIA = Service(
    name="media",
    routes=(
        Route(
            "POST",
            "/media/{courseId}/uploads",
            "create_upload",
            status=201,
            bucket=("PutObject",),
            summary="A presigned URL to upload a lesson's file",
        ),
        Route(
            "GET",
            "/media/{courseId}/files",
            "list_files",
            bucket=("ListBucket", "GetObject"),
            summary="A course's files",
        ),
    ),
    consumes=(course_events.CoursePublished,),
    consumer_bucket=("DeleteObject",),
    bucket_prefix="media/",
)

BILLING = Service(
    name="billing",
    routes=(
        Route(
            "POST",
            "/billing/webhook",
            "webhook",
            public=True,
            throttle="strict",
            secrets=("stripe-webhook-secret",),
            summary="The payment provider's signed notifications",
        ),
        Route("POST", "/billing", "create_payment", status=201, secrets=("stripe-api-key",)),
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
    # An optional-dependency group that exists in pyproject.toml.
    dependencies=("migrations",),
)

INSIGHTS = Service(
    name="insights",
    consumes_all=True,
    tasks=("rebuild",),
    jobs=(Job("partitions", every_minutes=1440, summary="Creates next month's partitions"),),
)

FAKES = (MEDIA, BILLING, INSIGHTS)
