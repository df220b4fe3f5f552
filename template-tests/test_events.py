"""The bus, and per consuming service: rule -> queue -> DLQ, alarm, consumer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import Synth, synthesize
from helpers import function_by_handler, ref

from functions.registry import SERVICES
from lms_events import user as user_events
from lms_platform import topology


def test_the_bus_is_named_archived_and_its_schemas_registered(synth: Synth) -> None:
    (bus_id, bus) = next(iter(synth.resources("AWS::Events::EventBus").items()))
    assert bus["Properties"]["Name"] == topology.EVENT_BUS
    (archive,) = synth.resources("AWS::Events::Archive").values()
    assert archive["Properties"]["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    (discoverer,) = synth.resources("AWS::EventSchemas::Discoverer").values()
    assert discoverer["Properties"]["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    names = {
        s["Properties"]["SchemaName"] for s in synth.resources("AWS::EventSchemas::Schema").values()
    }
    assert "lms.user@UserRegistered" in names


def assert_subscription_wired(synth: Synth, subscription: topology.Subscription) -> None:
    rules = {
        r["Properties"]["Name"]: r["Properties"]
        for r in synth.resources("AWS::Events::Rule").values()
        if "Name" in r["Properties"]
    }
    rule = rules[subscription.rule_name]
    assert rule["EventPattern"] == subscription.pattern
    queues = {
        q["Properties"]["QueueName"]: (k, q["Properties"])
        for k, q in synth.resources("AWS::SQS::Queue").items()
    }
    queue_id, queue = queues[subscription.queue_name]
    dlq_id, _ = queues[subscription.dlq_name]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": topology.MAX_RECEIVE_COUNT,
    }
    alarms = [
        a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dlq_id, "QueueName"]}
    ]
    assert len(alarms) == 1
    assert alarms[0]["Threshold"] == 1
    consumer_id, _ = function_by_handler(synth, subscription.handler)
    (mapping,) = [
        m["Properties"]
        for m in synth.resources("AWS::Lambda::EventSourceMapping").values()
        if ref(m["Properties"]["FunctionName"]) == consumer_id
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["BatchSize"] == topology.CONSUMER_BATCH_SIZE
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_each_consuming_service_has_rule_queue_dlq_alarm_and_consumer(synth: Synth) -> None:
    # Today's declarations may have no consumer; the test below proves the construct on one.
    for subscription in topology.subscriptions(SERVICES):
        assert_subscription_wired(synth, subscription)


def test_services_that_consume_nothing_get_no_queue(synth: Synth) -> None:
    consuming = {s.service.name for s in topology.subscriptions(SERVICES)}
    names = {q["Properties"]["QueueName"] for q in synth.resources("AWS::SQS::Queue").values()}
    expected = {f"lms-{n}-events" for n in consuming} | {f"lms-{n}-events-dlq" for n in consuming}
    assert names == expected


@pytest.fixture(scope="module")
def consuming_synth(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Synth, topology.Subscription]:
    # The user service declared as if it consumed an event: the construct must wire the
    # whole path from the declaration alone, whatever services exist today.
    user = next(s for s in SERVICES if s.name == "user")
    consuming = dataclasses.replace(user, consumes=(user_events.UserRegistered,))
    (subscription,) = topology.subscriptions((consuming,))
    return synthesize(Path(tmp_path_factory.mktemp("consuming")), (consuming,)), subscription


def test_a_consuming_declaration_gets_rule_queue_dlq_alarm_and_consumer(
    consuming_synth: tuple[Synth, topology.Subscription],
) -> None:
    synth, subscription = consuming_synth
    assert subscription.pattern == {"source": ["lms.user"], "detail-type": ["UserRegistered"]}
    assert_subscription_wired(synth, subscription)
