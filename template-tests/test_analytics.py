"""The Analytics stack as its declaration makes it: one rule on every ``lms.`` source into its
queue, a consumer that may send its rebuild tasks to that queue only, the partitions job on
a daily schedule, and its two routes behind the JWT authorizer."""

from __future__ import annotations

from conftest import Synth
from helpers import as_list, environment, function_by_handler, policy_statements, ref, render

from functions.analytics.service import SERVICE as ANALYTICS


def test_one_rule_brings_every_lms_source_to_the_analytics_queue(synth: Synth) -> None:
    stack = synth.stack_name("analytics")
    (rule,) = [
        r
        for r in synth.resources("AWS::Events::Rule", stack=stack)
        if r.properties.get("Name") == f"lms-{synth.stage}-analytics-events"
    ]
    assert rule.properties["EventPattern"] == {"source": [{"prefix": "lms."}]}
    (queue,) = [
        q
        for q in synth.resources("AWS::SQS::Queue", stack=stack)
        if q.properties["QueueName"] == f"lms-{synth.stage}-analytics-events"
    ]
    assert [ref(t["Arn"]) for t in rule.properties["Targets"]] == [queue.logical_id]


def test_the_consumer_sends_its_rebuild_tasks_to_its_own_queue_only(synth: Synth) -> None:
    assert ANALYTICS.consumer_path is not None
    consumer = function_by_handler(synth, ANALYTICS.consumer_path)
    (queue,) = [
        q
        for q in synth.resources("AWS::SQS::Queue", stack=consumer.stack)
        if q.properties["QueueName"] == f"lms-{synth.stage}-analytics-events"
    ]
    assert environment(consumer)["LMS_OWN_QUEUE_URL"] == {"Ref": queue.logical_id}
    sends = [
        s for s in policy_statements(synth, consumer) if "sqs:SendMessage" in as_list(s["Action"])
    ]
    assert [ref(r) for s in sends for r in as_list(s["Resource"])] == [queue.logical_id]


def test_the_partitions_job_runs_daily(synth: Synth) -> None:
    job = function_by_handler(synth, ANALYTICS.job_path(ANALYTICS.job("snapshot_partitions")))
    (schedule,) = [
        r.properties
        for r in synth.resources("AWS::Events::Rule", stack=job.stack)
        if ref(r.properties.get("Targets", [{}])[0].get("Arn")) == job.logical_id
    ]
    assert schedule["ScheduleExpression"] == "rate(1 day)"
    assert job.stack == synth.stack_name("analytics")


def test_the_series_routes_are_in_the_analytics_stack_behind_the_authorizer(synth: Synth) -> None:
    wired = {
        r.properties["RouteKey"]: r
        for r in synth.resources("AWS::ApiGatewayV2::Route", stack=synth.stack_name("analytics"))
    }
    assert sorted(wired) == ["GET /analytics/courses/{courseId}", "GET /analytics/platform"]
    for route in wired.values():
        assert route.properties["AuthorizationType"] == "JWT"
    for route in ANALYTICS.routes:
        function = function_by_handler(synth, ANALYTICS.handler_path(route))
        assert "analytics" in render(function.properties.get("FunctionName", ""))
