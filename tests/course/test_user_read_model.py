"""The Course service's read model of users: fed by User events over the deployed path
(bus -> rule -> queue -> consumer), the same whatever order and however often they come."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from functions.course import consumer
from functions.course.service import SERVICE
from functions.user import use_cases as user_use_cases
from lms_events import user as user_events
from lms_events.envelope import Envelope, EventData
from lms_platform import topology
from lms_platform.aws import client
from tests.course.builders import build_course, ok
from tests.enrollment.conftest import sqs_batch
from tests.support import as_caller, call

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]

PASSWORD = "correct horse battery"


@dataclass
class UserFeed:
    """A rule with the Course service's own declared pattern, into a queue of the test's."""

    queue_url: str
    queue_arn: str

    def pump(self) -> int:
        sqs, total = client("sqs"), 0
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return total
            result = consumer.handler(sqs_batch(messages, self.queue_arn), None)
            assert not result.get("batchItemFailures"), result
            for m in messages:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            total += len(messages)


@pytest.fixture
def user_feed(platform_env: dict[str, str]) -> Iterator[UserFeed]:
    events, sqs = client("events"), client("sqs")
    name = f"test-course-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name=name, EventBusName=topology.EVENT_BUS, EventPattern=json.dumps(SERVICE.event_pattern())
    )
    events.put_targets(
        Rule=name, EventBusName=topology.EVENT_BUS, Targets=[{"Id": "course", "Arn": queue_arn}]
    )
    yield UserFeed(queue_url, queue_arn)
    events.remove_targets(Rule=name, EventBusName=topology.EVENT_BUS, Ids=["course"])
    events.delete_rule(Name=name, EventBusName=topology.EVENT_BUS)
    sqs.delete_queue(QueueUrl=queue_url)


def _kept(admin_sql: Any, user: uuid.UUID) -> tuple[str, list[str], int] | None:
    rows = admin_sql.run(
        "SELECT status, roles, version FROM lms_course.users WHERE id = :u", u=user
    )
    return (rows[0][0], sorted(rows[0][1]), rows[0][2]) if rows else None


def test_users_made_instructors_in_the_user_service_can_be_assigned(
    user_feed: UserFeed, admin_sql: Any
) -> None:
    # Given a user registered, made an instructor, through the User service's routes
    root = user_use_cases.create_admin("root@example.com", PASSWORD, "Root")
    root_caller = as_caller(root.id, "ADMIN")
    body = {"email": "ada@example.com", "password": PASSWORD, "displayName": "Ada"}
    ada = uuid.UUID(ok(call("POST", "/auth/register", body=body), 201)["id"])
    role = {"userId": str(ada), "role": "INSTRUCTOR"}
    ok(call("PUT", "/users/{userId}/roles/{role}", caller=root_caller, path_params=role))
    course = build_course(published=False)
    params = {"courseId": course.id, "userId": str(ada)}
    path = "/courses/{courseId}/instructors/{userId}"
    # Before the Course service has heard of her, she is unknown there
    assert call("PUT", path, caller=course.owner, path_params=params).status == 404
    # When the User events arrive over the bus, rule and queue
    assert user_feed.pump() >= 3  # the admin's and Ada's registrations, her role
    # Then the Course service knows her state and she is assigned
    assert _kept(admin_sql, ada) == ("ACTIVE", ["INSTRUCTOR", "STUDENT"], 2)
    assert call("PUT", path, caller=course.owner, path_params=params).status == 200
    # And once suspended (and the news has arrived) she can no longer be made one elsewhere
    suspend = {"userId": str(ada)}
    ok(
        call(
            "PATCH",
            "/users/{userId}",
            caller=root_caller,
            path_params=suspend,
            body={"status": "SUSPENDED"},
        )
    )
    user_feed.pump()
    assert _kept(admin_sql, ada) == ("SUSPENDED", ["INSTRUCTOR", "STUDENT"], 3)
    other = build_course(published=False, title="Another")
    again = call(
        "PUT", path, caller=other.owner, path_params={"courseId": other.id, "userId": str(ada)}
    )
    assert again.status == 409


def _delivery(data: EventData, user: uuid.UUID) -> dict[str, Any]:
    detail = json.loads(Envelope.wrap(data, aggregate_id=user).detail_json())
    return {"source": data.source, "detail-type": data.event_type, "detail": detail}


def test_any_order_and_any_repeat_of_a_users_events_ends_in_the_newest_state(
    admin_sql: Any,
) -> None:
    # Given a user's life in five versions
    user = uuid.uuid4()
    life: list[EventData] = [
        user_events.UserRegistered(
            user_id=user, email="a@example.com", display_name="A", roles=["STUDENT"], version=1
        ),
        user_events.RoleAssigned(
            user_id=user,
            role="INSTRUCTOR",
            assigned_by=None,
            version=2,
            roles=["INSTRUCTOR", "STUDENT"],
            status="ACTIVE",
        ),
        user_events.UserStatusChanged(
            user_id=user,
            status="SUSPENDED",
            changed_by=None,
            version=3,
            roles=["INSTRUCTOR", "STUDENT"],
        ),
        user_events.UserStatusChanged(
            user_id=user,
            status="ACTIVE",
            changed_by=None,
            version=4,
            roles=["INSTRUCTOR", "STUDENT"],
        ),
        user_events.RoleRevoked(
            user_id=user,
            role="STUDENT",
            revoked_by=None,
            version=5,
            roles=["INSTRUCTOR"],
            status="ACTIVE",
        ),
    ]
    deliveries = [_delivery(e, user) for e in life]
    final = ("ACTIVE", ["INSTRUCTOR"], 5)
    for seed in range(6):
        admin_sql.run("TRUNCATE lms_course.users, lms_course.inbox")
        # When every event is delivered twice, in a shuffled order
        shuffled = deliveries * 2
        random.Random(seed).shuffle(shuffled)
        acted = sum(consumer.consumer.deliver(d) for d in shuffled)
        # Then each took effect once (the inbox) and the newest state is kept
        assert acted == len(life)
        assert _kept(admin_sql, user) == final, seed


def test_user_events_from_before_versions_existed() -> None:
    user = uuid.uuid4()
    # A registration without a version is the first version
    old_registration = user_events.UserRegistered(
        user_id=user, email="b@example.com", display_name="B", roles=["INSTRUCTOR"]
    )
    assert consumer.consumer.deliver(_delivery(old_registration, user)) == 1
    # A role change without the user's state cannot be ordered: it changes nothing
    old_change = user_events.RoleRevoked(user_id=user, role="INSTRUCTOR", revoked_by=None)
    assert consumer.consumer.deliver(_delivery(old_change, user)) == 1
    course = build_course(published=False)
    assigned = call(
        "PUT",
        "/courses/{courseId}/instructors/{userId}",
        caller=course.owner,
        path_params={"courseId": course.id, "userId": str(user)},
    )
    assert assigned.status == 200
