"""What an operator watches: one topic, every alarm on it, one dashboard per stage."""

from __future__ import annotations

import json

from conftest import Synth
from helpers import our_functions, ref, render

from infra import monitoring
from infra.data import aurora_max_connections, proxy_connection_budget
from infra.stage import DEFAULT_STATEMENT_MODE, Stage
from infra.units import units


def _alarms(synth: Synth) -> dict[str, dict[str, object]]:
    return {
        str(a.properties["AlarmName"]): a.properties
        for a in synth.resources("AWS::CloudWatch::Alarm")
    }


def test_one_encrypted_topic_per_stage_with_the_operators_address(
    synth: Synth, production: Synth
) -> None:
    for stage in (synth, production):
        (topic,) = stage.resources("AWS::SNS::Topic")
        assert topic.stack == stage.stack_name("monitoring")
        assert topic.properties["TopicName"] == f"lms-{stage.stage}-alarms"
        (key,) = stage.resources("AWS::KMS::Key")
        assert ref(topic.properties["KmsMasterKeyId"]) == key.logical_id
        assert key.properties["EnableKeyRotation"] is True
        (policy,) = stage.resources("AWS::SNS::TopicPolicy")
        publish = [
            s for s in policy.properties["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
        ]
        (statement,) = publish
        assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert render(statement["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(
            f":alarm:lms-{stage.stage}-*"
        )
    assert synth.resources("AWS::SNS::Subscription") == []
    (subscription,) = production.resources("AWS::SNS::Subscription")
    assert subscription.properties["Protocol"] == "email"
    assert subscription.properties["Endpoint"] == "ops@example.com"


def test_every_alarm_of_the_stage_notifies_its_topic(any_synth: Synth) -> None:
    alarms = any_synth.resources("AWS::CloudWatch::Alarm")
    assert alarms
    topic = f":sns:us-east-1:111111111111:lms-{any_synth.stage}-alarms"
    for alarm in alarms:
        props = alarm.properties
        assert str(props["AlarmName"]).startswith(f"lms-{any_synth.stage}-"), alarm.logical_id
        for actions in ("AlarmActions", "OKActions"):
            (action,) = props[actions]
            assert render(action).endswith(topic), (alarm.logical_id, action)


def test_the_stage_wide_alarms_watch_the_api_the_proxy_and_aurora(stage: Synth) -> None:
    alarms = _alarms(stage)
    name = f"lms-{stage.stage}"
    five_xx = alarms[f"{name}-api-5xx-rate"]
    expressions = [m.get("Expression") for m in five_xx["Metrics"]]  # type: ignore[attr-defined]
    assert "IF(requests >= 10, 100 * errors / requests, 0)" in expressions
    latency = alarms[f"{name}-api-p99-latency"]
    assert (latency["MetricName"], latency["ExtendedStatistic"]) == ("Latency", "p99")
    pinned = alarms[f"{name}-proxy-pinned-sessions"]
    assert pinned["MetricName"] == "DatabaseConnectionsCurrentlySessionPinned"
    assert pinned["Dimensions"] == [{"Name": "ProxyName", "Value": name}]
    clients = alarms[f"{name}-proxy-client-connections"]
    assert clients["MetricName"] == "ClientConnections"
    capacity = alarms[f"{name}-aurora-capacity"]
    assert capacity["MetricName"] == "ServerlessDatabaseCapacity"
    assert capacity["Dimensions"] == [{"Name": "DBClusterIdentifier", "Value": name}]
    max_acu = 16 if stage.stage == "prod" else 8
    assert capacity["Threshold"] == max_acu * 0.9


def test_proxy_thresholds_follow_the_connection_budget_and_the_statement_mode(
    synth: Synth, production: Synth
) -> None:
    # dev: 0.5-8 ACU -> 1,669 connections (capped at 2,000 with a 0.5 minimum); the proxy
    # may use 80%. Unnamed statements: pinning is a regression, heard of at 10%.
    assert aurora_max_connections(0.5, 8) == 1669
    assert aurora_max_connections(1, 16) == 3360
    assert aurora_max_connections(0.5, 16) == 2000
    assert aurora_max_connections(1, 64) == 5000
    dev_budget = 1669 * 80 // 100
    dev_share = 80 if DEFAULT_STATEMENT_MODE == "named" else 10
    assert _alarms(synth)["lms-dev-proxy-pinned-sessions"]["Threshold"] == (
        dev_budget * dev_share // 100
    )
    assert _alarms(synth)["lms-dev-proxy-client-connections"]["Threshold"] == dev_budget * 80 // 100
    # prod: 1-16 ACU -> 3,360; named statements pin every session: only nearing the budget
    # is news.
    prod_budget = 3360 * 80 // 100
    assert _alarms(production)["lms-prod-proxy-pinned-sessions"]["Threshold"] == (
        prod_budget * 80 // 100
    )


def test_every_function_has_errors_and_throttles_alarms(any_synth: Synth) -> None:
    alarms = _alarms(any_synth)
    names = {f.properties["FunctionName"]: f for f in our_functions(any_synth)}
    for service in any_synth.services:
        for unit in units(service):
            function_name = f"lms-{any_synth.stage}-{service.name}-{unit.name}".replace("_", "-")
            function = names[function_name]
            for what, metric in (("errors", "Errors"), ("throttles", "Throttles")):
                alarm = alarms[f"{function_name}-{what}"]
                assert alarm["MetricName"] == metric
                assert alarm["Dimensions"] == [
                    {"Name": "FunctionName", "Value": {"Ref": function.logical_id}}
                ]
                assert alarm["Threshold"] == 1


def test_each_relay_alarms_on_the_age_of_its_oldest_unpublished_event(any_synth: Synth) -> None:
    alarms = _alarms(any_synth)
    for service in any_synth.services:
        name = f"lms-{any_synth.stage}-{service.name}-outbox-backlog"
        if not (service.publishes or service.tasks):  # what a relay sends
            assert name not in alarms
            continue
        alarm = alarms[name]
        assert alarm["Namespace"] == f"LMS/{any_synth.stage}"
        assert alarm["MetricName"] == monitoring.OUTBOX_AGE
        assert alarm["Dimensions"] == [{"Name": "service", "Value": service.name}]
        assert alarm["Statistic"] == "Maximum"
        assert alarm["Threshold"] == 300


def test_one_dashboard_per_stage_shows_every_function_queue_and_alarm(any_synth: Synth) -> None:
    (dashboard,) = any_synth.resources("AWS::CloudWatch::Dashboard")
    assert render(dashboard.properties["DashboardName"]) == f"lms-{any_synth.stage}-<AWS::Region>"
    body = render(dashboard.properties["DashboardBody"])
    stage = any_synth.stage
    alarm_names = set(_alarms(any_synth))
    shown = {name for name in alarm_names if f':alarm:{name}"' in body}
    assert shown == alarm_names, alarm_names - shown
    for function in our_functions(any_synth):
        name = function.properties["FunctionName"]
        if name != f"lms-{stage}-migrate":
            assert f'"FunctionName","{name}"' in body, name
    for queue in any_synth.resources("AWS::SQS::Queue"):
        assert f'"QueueName","{queue.properties["QueueName"]}"' in body
    for metric in monitoring.PLATFORM_METRICS:
        assert metric in body
    for service in any_synth.services:
        assert f'SEARCH(\'{{LMS/{stage},service}} service=\\"{service.name}\\"' in body
    assert json.dumps("DatabaseConnectionsCurrentlySessionPinned") in body


def test_the_connection_budget_is_the_proxys_share_of_auroras_connections() -> None:
    default = Stage()
    assert proxy_connection_budget(default) == 1335
