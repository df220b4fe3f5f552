"""Least privilege and encryption, read from the templates."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import Synth
from helpers import (
    all_statements,
    as_list,
    environment,
    function_by_handler,
    our_functions,
    policy_statements,
    ref,
    render,
)

from infra import nag
from infra.stage import DEFAULT_STATEMENT_MODE

WILDCARD_ACTIONS = {"*", "events:*", "secretsmanager:*", "s3:*", "sqs:*", "logs:*"}


def test_no_identity_policy_grants_a_wildcard_action(any_synth: Synth) -> None:
    statements = [
        s
        for r, s in all_statements(any_synth)
        if r.type in {"AWS::IAM::Policy", "AWS::IAM::Role"} and s["Effect"] == "Allow"
    ]
    assert statements
    for statement in statements:
        actions = set(as_list(statement.get("Action", [])))
        assert not actions & WILDCARD_ACTIONS, statement


def _justification(resource_type: str, statement: dict[str, Any], arn: str) -> str | None:
    actions = {str(a) for a in as_list(statement["Action"])}
    for case in nag.WILDCARDS:
        if (
            case.policy == resource_type
            and actions <= case.actions
            and re.fullmatch(case.resource, arn)
        ):
            return case.reason
    return None


def test_every_wildcard_resource_is_one_aws_requires_and_says_why(
    any_synth: Synth, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    listing = set()
    for resource, statement in all_statements(any_synth):
        if statement["Effect"] != "Allow":
            continue
        for arn in (render(r) for r in as_list(statement["Resource"])):
            if not arn.endswith("*"):
                continue
            reason = _justification(resource.type, statement, arn)
            assert reason, (resource.stack, resource.logical_id, statement)
            listing.add(f"{resource.type} {sorted(as_list(statement['Action']))} {arn}: {reason}")
    assert listing
    if request.config.get_verbosity() > 0:  # the list, with -v
        with capsys.disabled():
            print(f"\n{any_synth.stage}: wildcard resources and why", *sorted(listing), sep="\n  ")


def test_no_role_carries_a_managed_policy(any_synth: Synth) -> None:
    # Not even CDK's providers: AWSLambdaBasicExecutionRole may write to every log group.
    for role in any_synth.resources("AWS::IAM::Role"):
        assert "ManagedPolicyArns" not in role.properties, role.logical_id


def test_a_function_writes_to_its_own_log_group_only(any_synth: Synth) -> None:
    for function in our_functions(any_synth):
        log_group = ref(function.properties["LoggingConfig"]["LogGroup"])
        writes = [
            s
            for s in policy_statements(any_synth, function)
            if any(str(a).startswith("logs:") for a in as_list(s["Action"]))
        ]
        assert [s["Resource"] for s in writes] == [{"Fn::GetAtt": [log_group, "Arn"]}]


def test_every_publisher_may_put_events_of_its_own_source_on_its_stages_bus_only(
    any_synth: Synth,
) -> None:
    bus_arn = f":events:us-east-1:111111111111:event-bus/lms-{any_synth.stage}"
    for service in any_synth.services:
        for function in our_functions(any_synth):
            if function.stack != any_synth.stack_name(service.name):
                continue
            put = [
                s
                for s in policy_statements(any_synth, function)
                if "events:PutEvents" in as_list(s["Action"])
            ]
            if not service.publishes:
                assert put == [], function.logical_id
                continue
            (statement,) = put
            assert render(statement["Resource"]).endswith(bus_arn)
            assert statement["Condition"] == {"StringEquals": {"events:source": service.source}}
    # Nothing else in the app may put events at all.
    for resource, statement in all_statements(any_synth):
        if "events:PutEvents" in as_list(statement.get("Action", [])):
            assert "Condition" in statement, resource.logical_id


def test_bucket_access_is_the_declared_actions_on_the_services_prefix(extended: Synth) -> None:
    media = next(s for s in extended.services if s.name == "media")
    bucket = "lms-dev-content-<AWS::AccountId>-<AWS::Region>"
    upload = function_by_handler(extended, media.handler_path(media.route("create_upload")))
    statements = [
        s
        for s in policy_statements(extended, upload)
        if str(as_list(s["Action"])[0]).startswith("s3:")
    ]
    assert [(s["Action"], render(s["Resource"])) for s in statements] == [
        ("s3:PutObject", f"arn:<AWS::Partition>:s3:::{bucket}/media/*")
    ]
    assert environment(upload)["LMS_CONTENT_PREFIX"] == "media/"
    listing = function_by_handler(extended, media.handler_path(media.route("list_files")))
    (list_statement,) = [
        s for s in policy_statements(extended, listing) if s["Action"] == "s3:ListBucket"
    ]
    assert list_statement["Condition"] == {"StringLike": {"s3:prefix": ["media/*"]}}
    assert render(list_statement["Resource"]) == f"arn:<AWS::Partition>:s3:::{bucket}"
    assert media.consumer_path is not None
    consumer = function_by_handler(extended, media.consumer_path)
    assert [
        s["Action"]
        for s in policy_statements(extended, consumer)
        if str(as_list(s["Action"])[0]).startswith("s3:")
    ] == ["s3:DeleteObject"]
    # A function that declares no bucket action has none.
    for function in our_functions(extended):
        if "LMS_CONTENT_BUCKET" not in environment(function):
            actions = {
                a for s in policy_statements(extended, function) for a in as_list(s["Action"])
            }
            assert not any(str(a).startswith("s3:") for a in actions), function.logical_id


def test_a_services_own_secrets_exist_empty_in_its_stack_and_reach_who_names_them(
    extended: Synth,
) -> None:
    billing = next(s for s in extended.services if s.name == "billing")
    stack = extended.stack_name("billing")
    secrets = {
        s.properties["Name"]: s.logical_id
        for s in extended.resources("AWS::SecretsManager::Secret", stack=stack)
    }
    assert set(secrets) == {
        "lms-dev/billing/stripe-api-key",
        "lms-dev/billing/stripe-webhook-secret",
    }
    webhook = function_by_handler(extended, billing.handler_path(billing.route("webhook")))
    env = environment(webhook)
    assert env["LMS_SECRET_STRIPE_WEBHOOK_SECRET_ARN"] == {
        "Ref": secrets["lms-dev/billing/stripe-webhook-secret"]
    }
    assert "LMS_SECRET_STRIPE_API_KEY_ARN" not in env
    readable = {
        ref(r)
        for s in policy_statements(extended, webhook)
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
        for r in as_list(s["Resource"])
    }
    assert secrets["lms-dev/billing/stripe-webhook-secret"] in readable
    assert secrets["lms-dev/billing/stripe-api-key"] not in readable


def test_the_database_is_encrypted_and_backed_up_and_scaled_by_the_stage(stage: Synth) -> None:
    (cluster,) = stage.resources("AWS::RDS::DBCluster")
    props = cluster.properties
    assert props["Engine"] == "aurora-postgresql"
    assert props["DBClusterIdentifier"] == f"lms-{stage.stage}"
    assert props["StorageEncrypted"] is True
    assert props["BackupRetentionPeriod"] == (14 if stage.stage == "prod" else 1)
    scaling = props["ServerlessV2ScalingConfiguration"]
    assert (scaling["MinCapacity"], scaling["MaxCapacity"]) == (
        (1, 16) if stage.stage == "prod" else (0.5, 8)
    )
    (instance,) = stage.resources("AWS::RDS::DBInstance")
    assert instance.properties["DBInstanceClass"] == "db.serverless"
    assert instance.properties.get("PubliclyAccessible") is not True


def test_the_proxy_requires_tls_knows_every_role_and_pools_from_the_stage(stage: Synth) -> None:
    (proxy,) = stage.resources("AWS::RDS::DBProxy")
    props = proxy.properties
    assert props["DBProxyName"] == f"lms-{stage.stage}"
    assert props["RequireTLS"] is True
    assert props["EngineFamily"] == "POSTGRESQL"
    registered = {ref(auth["SecretArn"]) for auth in props["Auth"]}
    for service in stage.services:
        assert any(f"{service.name.capitalize()}Secret" in (r or "") for r in registered)
    assert len(registered) == len(stage.services) + 1  # and the admin
    # Named statements pin sessions, so the proxy drops idle clients sooner then.
    named = stage.stage == "prod" or DEFAULT_STATEMENT_MODE == "named"
    assert props["IdleClientTimeout"] == (300 if named else 1800)
    (target_group,) = stage.resources("AWS::RDS::DBProxyTargetGroup")
    pool = target_group.properties["ConnectionPoolConfigurationInfo"]
    assert pool["MaxConnectionsPercent"] == 80
    assert pool["MaxIdleConnectionsPercent"] == 50
    # A request gives up waiting for a database connection well before its function's
    # timeout, so that the caller still gets an answer.
    route_timeout = min(
        f.properties["Timeout"] for f in our_functions(stage) if ".api." in f.properties["Handler"]
    )
    assert pool["ConnectionBorrowTimeout"] < route_timeout


def test_every_service_role_has_its_own_generated_secret(stage: Synth) -> None:
    usernames = set()
    for secret in stage.resources("AWS::SecretsManager::Secret", stack=stage.stack_name("data")):
        generate = secret.properties.get("GenerateSecretString", {})
        if "SecretStringTemplate" in generate:
            template = json.loads(generate["SecretStringTemplate"])
            assert generate["GenerateStringKey"] == "password"
            usernames.add(template["username"])
    assert usernames == {s.role for s in stage.services} | {"lms_admin"}


def test_queues_are_encrypted_and_refuse_plain_http(extended: Synth) -> None:
    queues = extended.resources("AWS::SQS::Queue")
    assert queues
    for queue in queues:
        assert queue.properties.get("SqsManagedSseEnabled") is True, queue.logical_id
        assert any(
            ref(q) == queue.logical_id
            and any(
                s["Effect"] == "Deny"
                and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
                for s in p.properties["PolicyDocument"]["Statement"]
            )
            for p in extended.resources("AWS::SQS::QueuePolicy", stack=queue.stack)
            for q in p.properties["Queues"]
        ), queue.logical_id


def test_the_content_bucket_is_private_encrypted_versioned_and_tls_only(stage: Synth) -> None:
    buckets = {
        b.logical_id: b for b in stage.resources("AWS::S3::Bucket", stack=stage.stack_name("data"))
    }
    (content_id,) = [k for k, b in buckets.items() if "BucketName" in b.properties]
    props = buckets[content_id].properties
    assert props["BucketName"]["Fn::Join"][1][0] == f"lms-{stage.stage}-content-"
    assert props["VersioningConfiguration"]["Status"] == "Enabled"
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (policy,) = [
        p
        for p in stage.resources("AWS::S3::BucketPolicy")
        if ref(p.properties["Bucket"]) == content_id
    ]
    assert any(
        s["Effect"] == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in policy.properties["PolicyDocument"]["Statement"]
    )


def test_the_vpc_has_no_route_to_the_internet_but_endpoints_for_the_apis(stage: Synth) -> None:
    assert not stage.resources("AWS::EC2::NatGateway")
    assert not stage.resources("AWS::EC2::InternetGateway")
    services = {
        render(e.properties["ServiceName"]) for e in stage.resources("AWS::EC2::VPCEndpoint")
    }
    assert any("events" in s for s in services)
    assert any("secretsmanager" in s for s in services)
    assert any(s.endswith(".s3") for s in services)


def test_browsers_get_no_cross_origin_access_unless_a_deployment_names_its_origins(
    synth: Synth,
) -> None:
    (api,) = synth.resources("AWS::ApiGatewayV2::Api")
    assert "CorsConfiguration" not in api.properties
    assert api.properties["Name"] == "lms-dev"


def test_named_origins_and_no_wildcard_are_what_cors_allows() -> None:
    from infra.api import cors

    options = cors("https://app.example.com, https://admin.example.com")
    assert options is not None
    assert options.allow_origins == ["https://app.example.com", "https://admin.example.com"]
    assert "*" not in (options.allow_origins or [])
    assert cors(None) is None and cors("") is None
