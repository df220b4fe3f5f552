"""The bus, and per consuming service: rule -> queue -> DLQ, alarm, consumer."""

from __future__ import annotations

from conftest import Synth
from helpers import (
    as_list,
    environment,
    function_by_handler,
    our_functions,
    policy_statements,
    ref,
    render,
)

from lms_platform import topology


def test_the_bus_is_named_after_the_stage_archived_and_its_schemas_registered(
    stage: Synth,
) -> None:
    (bus,) = stage.resources("AWS::Events::EventBus")
    assert bus.stack == stage.stack_name("events")
    assert bus.properties["Name"] == f"lms-{stage.stage}"
    (archive,) = stage.resources("AWS::Events::Archive")
    assert archive.properties["SourceArn"] == {"Fn::GetAtt": [bus.logical_id, "Arn"]}
    assert archive.properties["ArchiveName"] == f"lms-{stage.stage}"
    (registry,) = stage.resources("AWS::EventSchemas::Registry")
    assert registry.properties["RegistryName"] == f"lms-{stage.stage}"
    (discoverer,) = stage.resources("AWS::EventSchemas::Discoverer")
    assert discoverer.properties["SourceArn"] == {"Fn::GetAtt": [bus.logical_id, "Arn"]}
    schemas = stage.resources("AWS::EventSchemas::Schema")
    assert {s.properties["RegistryName"] for s in schemas} == {f"lms-{stage.stage}"}
    assert "lms.user@UserRegistered" in {s.properties["SchemaName"] for s in schemas}


def assert_subscription_wired(synth: Synth, subscription: topology.Subscription) -> None:
    stack = synth.stack_name(subscription.service.name)
    rules = {
        r.properties["Name"]: r.properties
        for r in synth.resources("AWS::Events::Rule", stack=stack)
        if "Name" in r.properties
    }
    rule = rules[subscription.rule_name]
    assert rule["EventPattern"] == subscription.pattern
    assert rule["EventBusName"] == topology.event_bus(synth.stage)
    queues = {
        q.properties["QueueName"]: (q.logical_id, q.properties)
        for q in synth.resources("AWS::SQS::Queue", stack=stack)
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
        a.properties
        for a in synth.resources("AWS::CloudWatch::Alarm", stack=stack)
        if a.properties.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a.properties["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dlq_id, "QueueName"]}
    ]
    assert len(alarms) == 1
    assert alarms[0]["Threshold"] == 1
    assert alarms[0]["AlarmName"] == f"{subscription.dlq_name}-not-empty"
    consumer = function_by_handler(synth, subscription.handler)
    (mapping,) = [
        m.properties
        for m in synth.resources("AWS::Lambda::EventSourceMapping", stack=stack)
        if ref(m.properties["FunctionName"]) == consumer.logical_id
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["BatchSize"] == topology.CONSUMER_BATCH_SIZE
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"]["MaximumConcurrency"] >= 2


def test_each_consuming_service_has_rule_queue_dlq_alarm_and_consumer(stage: Synth) -> None:
    subscriptions = topology.subscriptions(stage.services, stage.stage)
    assert subscriptions
    for subscription in subscriptions:
        assert subscription.queue_name == f"lms-{stage.stage}-{subscription.service.name}-events"
        assert_subscription_wired(stage, subscription)


def test_every_declared_consumer_is_wired_including_the_fakes(extended: Synth) -> None:
    for subscription in topology.subscriptions(extended.services, extended.stage):
        assert_subscription_wired(extended, subscription)


def test_services_that_consume_nothing_get_no_queue(stage: Synth) -> None:
    consuming = {s.service.name for s in topology.subscriptions(stage.services, stage.stage)}
    names = {q.properties["QueueName"] for q in stage.resources("AWS::SQS::Queue")}
    prefix = f"lms-{stage.stage}"
    expected = {f"{prefix}-{n}-events" for n in consuming}
    expected |= {f"{prefix}-{n}-events-dlq" for n in consuming}
    assert names == expected


def test_consumer_concurrency_comes_from_the_stage_and_may_differ_per_service(
    synth: Synth, production: Synth
) -> None:
    def concurrency(stage: Synth, service: str) -> int:
        (mapping,) = stage.resources(
            "AWS::Lambda::EventSourceMapping", stack=stage.stack_name(service)
        )
        return int(mapping.properties["ScalingConfig"]["MaximumConcurrency"])

    assert concurrency(synth, "enrollment") == 5
    assert concurrency(production, "enrollment") == 20  # -c lms:consumer-max-concurrency:enrollment


def test_a_consume_everything_consumer_takes_every_lms_source(extended: Synth) -> None:
    (rule,) = [
        r
        for r in extended.resources("AWS::Events::Rule", stack=extended.stack_name("insights"))
        if r.properties.get("Name") == "lms-dev-insights-events"
    ]
    assert rule.properties["EventPattern"] == {"source": [{"prefix": "lms."}]}


def test_a_consumer_with_tasks_may_send_to_its_own_queue_and_nothing_else(extended: Synth) -> None:
    insights = next(s for s in extended.services if s.name == "insights")
    assert insights.consumer_path is not None
    consumer = function_by_handler(extended, insights.consumer_path)
    (queue,) = [
        q
        for q in extended.resources("AWS::SQS::Queue", stack=consumer.stack)
        if q.properties["QueueName"] == "lms-dev-insights-events"
    ]
    assert environment(consumer)["LMS_OWN_QUEUE_URL"] == {"Ref": queue.logical_id}
    sends = [
        s
        for s in policy_statements(extended, consumer)
        if "sqs:SendMessage" in as_list(s["Action"])
    ]
    assert [ref(r) for s in sends for r in as_list(s["Resource"])] == [queue.logical_id]
    # Consumers without tasks send nothing.
    for service in extended.services:
        if service.consumer_path and not service.tasks:  # (enrollment and the fakes have tasks)
            other = function_by_handler(extended, service.consumer_path)
            actions = {a for s in policy_statements(extended, other) for a in as_list(s["Action"])}
            assert "sqs:SendMessage" not in actions
            assert "LMS_OWN_QUEUE_URL" not in environment(other)


def test_functions_reach_sqs_through_an_endpoint_once_a_service_sends_tasks(
    synth: Synth, extended: Synth
) -> None:
    def endpoints(stage: Synth) -> set[str]:
        return {
            render(e.properties["ServiceName"]).rsplit(".", 1)[-1]
            for e in stage.resources("AWS::EC2::VPCEndpoint")
        }

    assert ("sqs" in endpoints(synth)) == any(s.tasks for s in synth.services)
    assert "sqs" in endpoints(extended)


def test_the_relay_of_a_service_with_tasks_sends_the_unsent_ones_to_its_own_queue(
    extended: Synth,
) -> None:
    for service in (s for s in extended.services if s.tasks):
        (relay,) = [
            f
            for f in our_functions(extended)
            if f.stack == extended.stack_name(service.name)
            and f.properties["Handler"] == topology.RELAY_HANDLER
        ]
        (queue,) = [
            q
            for q in extended.resources("AWS::SQS::Queue", stack=relay.stack)
            if q.properties["QueueName"] == f"lms-dev-{service.name}-events"
        ]
        assert environment(relay)["LMS_OWN_QUEUE_URL"] == {"Ref": queue.logical_id}
        sends = [
            st
            for st in policy_statements(extended, relay)
            if "sqs:SendMessage" in as_list(st["Action"])
        ]
        assert [ref(r) for st in sends for r in as_list(st["Resource"])] == [queue.logical_id]
