"""A stage's settings come from the context, with defaults by kind of stage, and a bad
value stops the synthesis with the key's name (no template involved: fast)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from infra.stage import DEFAULT_STATEMENT_MODE, DEFAULT_TRACING, ContextError, Stage


def stage_of(services: tuple[str, ...] = (), **context: object) -> Stage:
    app = cdk.App(context={f"lms:{k.replace('_', '-')}": v for k, v in context.items()})
    return Stage.from_context(app.node, services)


def test_without_context_the_stage_is_dev_with_its_defaults() -> None:
    stage = stage_of()
    assert stage == Stage()
    assert (stage.name, stage.production) == ("dev", False)
    assert (stage.aurora_min_acu, stage.aurora_max_acu) == (0.5, 8)
    assert (stage.log_retention_days, stage.backup_retention_days) == (14, 1)
    assert stage.statement_mode == DEFAULT_STATEMENT_MODE
    assert stage.tracing is DEFAULT_TRACING
    assert stage.proxy.borrow_timeout_seconds == 3


def test_a_production_stage_keeps_logs_and_backups_longer() -> None:
    stage = stage_of(stage="prod", production="true")
    assert stage.production is True
    assert (stage.log_retention_days, stage.backup_retention_days) == (365, 14)
    assert stage.removal_policy == cdk.RemovalPolicy.RETAIN


def test_context_values_may_be_strings_from_the_command_line_or_json_from_cdk_json() -> None:
    from_cli = stage_of(aurora_max_acu="16", tracing="true", throttle_rate="50")
    from_json = stage_of(aurora_max_acu=16, tracing=True, throttle_rate=50)
    assert from_cli == from_json
    assert (from_cli.aurora_max_acu, from_cli.tracing, from_cli.throttle.rate) == (16, True, 50)


def test_named_statements_make_the_proxy_drop_idle_clients_sooner() -> None:
    assert stage_of(db_statement_mode="unnamed").proxy.idle_client_timeout_minutes == 30
    assert stage_of(db_statement_mode="named").proxy.idle_client_timeout_minutes == 5
    explicit = stage_of(db_statement_mode="named", proxy_idle_client_timeout_minutes="10")
    assert explicit.proxy.idle_client_timeout_minutes == 10


def test_consumer_concurrency_may_be_set_per_declared_service() -> None:
    context = {"consumer_max_concurrency": "4", "consumer-max-concurrency:enrollment": "12"}
    app = cdk.App(context={f"lms:{k.replace('_', '-')}": v for k, v in context.items()})
    stage = Stage.from_context(app.node, ("user", "enrollment"))
    assert stage.consumer_concurrency("enrollment") == 12
    assert stage.consumer_concurrency("user") == 4


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"stage": "Prod"}, "lms:stage"),
        ({"stage": "local"}, "lms:stage"),
        ({"stage": "a-very-long-stage-name"}, "lms:stage"),
        ({"stage": "dev-"}, "lms:stage"),
        ({"production": "perhaps"}, "lms:production"),
        ({"aurora_min_acu": "4", "aurora_max_acu": "2"}, "lms:aurora-max-acu"),
        ({"aurora_max_acu": "2.25"}, "lms:aurora-max-acu"),
        ({"aurora_max_acu": "512"}, "lms:aurora-max-acu"),
        ({"log_retention_days": "10"}, "lms:log-retention-days"),
        ({"db_statement_mode": "prepared"}, "lms:db-statement-mode"),
        ({"alarm_email": "nobody"}, "lms:alarm-email"),
        ({"consumer_max_concurrency": "1"}, "lms:consumer-max-concurrency"),
        ({"proxy_borrow_timeout_seconds": "10"}, "lms:proxy-borrow-timeout-seconds"),
        ({"throttle_rate": "fast"}, "lms:throttle-rate"),
        ({"log_level": "chatty"}, "lms:log-level"),
    ],
)
def test_a_value_the_app_cannot_use_names_its_key(context: dict[str, str], key: str) -> None:
    with pytest.raises(ContextError, match=key):
        stage_of(**context)


def test_names_carry_the_stage_and_fit_lambdas_limit() -> None:
    stage = stage_of(stage="staging-eu")
    assert stage.stack_name("data") == "lms-staging-eu-data"
    assert stage.parameter_name("api", "id") == "/lms/staging-eu/api/id"
    assert stage.function_name("user", "get_me") == "lms-staging-eu-user-get-me"
    long_unit = "list_organization_members_with_their_roles_and_more"
    shortened = stage.function_name("organization", long_unit)
    assert len(shortened) == 64
    assert shortened.startswith("lms-staging-eu-organization-list-organization")
    assert shortened != stage.function_name("organization", long_unit + "_too")
