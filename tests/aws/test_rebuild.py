"""``lms rebuild-read-model --aws``: the deployment's migration function, invoked with
``{"rebuildReadModel": service}``, reads every outbox as its own service's role (each
role's secret, TLS through the proxy) and rebuilds the consumer's read model."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from lms_events import course as course_events
from lms_events.envelope import Envelope
from tests.aws.conftest import LambdaEnv, Stack

pytestmark = pytest.mark.integration


def _invoke(stack: Stack, lambda_env: LambdaEnv, event: dict[str, Any]) -> dict[str, Any]:
    import logging

    from functions import migrate

    lambda_env.set(**stack.deploy_env())
    root = logging.getLogger()
    level = root.level
    try:
        return migrate.handler(event, None)
    finally:
        root.setLevel(level)
        lambda_env.unset(*stack.deploy_env())


def _published(admin: Any, data: Any) -> None:
    envelope = Envelope.wrap(data, aggregate_id=data.course_id)
    admin.run(
        "INSERT INTO lms_course.outbox (id, source, event_type, detail, occurred_at, published_at)"
        " VALUES (:id, :source, :type, CAST(:detail AS jsonb), :at, now())",
        id=str(envelope.event_id),
        source=envelope.source,
        type=envelope.event_type,
        detail=envelope.detail_json(),
        at=envelope.occurred_at,
    )


def test_the_migration_function_rebuilds_a_read_model_from_the_outboxes(
    deployed: Stack, lambda_env: LambdaEnv
) -> None:
    # Given a course's events kept in the Course outbox, and an Enrollment read model that
    # knows nothing of it but holds a course nobody ever announced
    course_id = uuid.uuid4()
    header = {"title": "Engines", "slug": "engines", "description": None}
    with deployed.aurora.postgres.admin(deployed.database) as admin:
        _published(
            admin,
            course_events.CourseCreated(
                course_id=course_id, version=1, status="DRAFT", created_by=uuid.uuid4(), **header
            ),
        )
        _published(
            admin,
            course_events.CoursePublished(
                course_id=course_id, version=2, status="PUBLISHED", lesson_ids=[], **header
            ),
        )
        admin.run(
            "INSERT INTO lms_enrollment.courses (id, status, title, slug, version, outline_version)"
            " VALUES (:id, 'PUBLISHED', 'Made up', 'made-up', 1, 1)",
            id=str(uuid.uuid4()),
        )

    # When the function is asked to rebuild the Enrollment service's read model
    answer = _invoke(deployed, lambda_env, {"rebuildReadModel": "enrollment"})

    # Then it replayed the two events and the read model holds exactly that course
    assert answer["refused"] is None, answer
    assert (answer["rebuilt"]["events"], answer["rebuilt"]["tables"]["courses"]) == (2, 1)
    with deployed.aurora.postgres.admin(deployed.database) as admin:
        rows = admin.run("SELECT id::text, status, title, version FROM lms_enrollment.courses")
    assert rows == [[str(course_id), "PUBLISHED", "Engines", 2]]


def test_a_rebuild_of_an_unknown_service_is_refused(deployed: Stack, lambda_env: LambdaEnv) -> None:
    answer = _invoke(deployed, lambda_env, {"rebuildReadModel": "nobody"})
    assert answer == {"rebuilt": None, "refused": "no service named 'nobody'"}
