"""Least privilege and encryption, read from the templates."""

from __future__ import annotations

from typing import Any

from conftest import Synth
from helpers import as_list, our_functions, policy_statements, ref

WILDCARD_ACTIONS = {"*", "events:*", "secretsmanager:*"}


def _all_statements(synth: Synth) -> list[dict[str, Any]]:
    statements = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        statements += policy["Properties"]["PolicyDocument"]["Statement"]
    for role in synth.resources("AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            statements += policy["PolicyDocument"]["Statement"]
    return statements


def test_no_policy_grants_a_wildcard_action(synth: Synth) -> None:
    statements = _all_statements(synth)
    assert statements
    for statement in statements:
        actions = set(as_list(statement.get("Action", [])))
        assert not actions & WILDCARD_ACTIONS, statement


def test_put_events_only_on_the_lms_bus(synth: Synth) -> None:
    (bus_id,) = synth.resources("AWS::Events::EventBus")
    put_events = [
        s for s in _all_statements(synth) if "events:PutEvents" in as_list(s.get("Action", []))
    ]
    assert put_events
    for statement in put_events:
        assert statement["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}, statement


def test_only_functions_of_publishing_services_may_put_events(synth: Synth) -> None:
    for logical_id, function in our_functions(synth).items():
        actions = {a for s in policy_statements(synth, function) for a in as_list(s["Action"])}
        env = function["Properties"]["Environment"]["Variables"]
        if "events:PutEvents" in actions:
            assert env.get("LMS_SERVICE"), logical_id


def test_the_database_is_encrypted_protected_and_backed_up(synth: Synth) -> None:
    (cluster,) = synth.resources("AWS::RDS::DBCluster").values()
    props = cluster["Properties"]
    assert props["Engine"] == "aurora-postgresql"
    assert props["StorageEncrypted"] is True
    assert props["DeletionProtection"] is True
    assert props["BackupRetentionPeriod"] >= 7
    assert props["ServerlessV2ScalingConfiguration"]["MinCapacity"] > 0
    assert cluster["DeletionPolicy"] == "Snapshot"
    (instance,) = synth.resources("AWS::RDS::DBInstance").values()
    assert instance["Properties"]["DBInstanceClass"] == "db.serverless"
    assert instance["Properties"].get("PubliclyAccessible") is not True


def test_the_proxy_requires_tls_and_knows_every_service_role(synth: Synth) -> None:
    from functions.registry import SERVICES

    (proxy,) = synth.resources("AWS::RDS::DBProxy").values()
    props = proxy["Properties"]
    assert props["RequireTLS"] is True
    assert props["EngineFamily"] == "POSTGRESQL"
    registered = {ref(auth["SecretArn"]) for auth in props["Auth"]}
    for service in SERVICES:
        assert any(f"{service.name.capitalize()}Secret" in (r or "") for r in registered)
    assert len(registered) == len(SERVICES) + 1  # and the admin


def test_every_service_role_has_its_own_generated_secret(synth: Synth) -> None:
    import json

    from functions.registry import SERVICES

    secrets = synth.resources("AWS::SecretsManager::Secret", stack="LmsData")
    usernames = set()
    for secret in secrets.values():
        generate = secret["Properties"].get("GenerateSecretString", {})
        if "SecretStringTemplate" in generate:
            template = json.loads(generate["SecretStringTemplate"])
            assert generate["GenerateStringKey"] == "password"
            usernames.add(template["username"])
    assert usernames == {s.role for s in SERVICES} | {"lms_admin"}


def test_queues_are_encrypted_and_refuse_plain_http(synth: Synth) -> None:
    queues = synth.resources("AWS::SQS::Queue")
    policies = synth.resources("AWS::SQS::QueuePolicy").values()
    for logical_id, queue in queues.items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, logical_id
        assert any(
            ref(q) == logical_id
            and any(
                s["Effect"] == "Deny"
                and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
                for s in p["Properties"]["PolicyDocument"]["Statement"]
            )
            for p in policies
            for q in p["Properties"]["Queues"]
        ), logical_id


def test_the_content_bucket_is_private_encrypted_versioned_and_tls_only(synth: Synth) -> None:
    buckets = synth.resources("AWS::S3::Bucket", stack="LmsData")
    (content_id,) = [k for k, b in buckets.items() if "BucketName" in b["Properties"]]
    props = buckets[content_id]["Properties"]
    assert props["BucketName"]["Fn::Join"][1][0] == "lms-content-"
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
        for p in synth.resources("AWS::S3::BucketPolicy").values()
        if ref(p["Properties"]["Bucket"]) == content_id
    ]
    assert any(
        s["Effect"] == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_the_vpc_has_no_route_to_the_internet_but_endpoints_for_the_apis(synth: Synth) -> None:
    assert not synth.resources("AWS::EC2::NatGateway")
    assert not synth.resources("AWS::EC2::InternetGateway")
    services = {
        str(e["Properties"]["ServiceName"])
        for e in synth.resources("AWS::EC2::VPCEndpoint").values()
    }
    assert any("events" in s for s in services)
    assert any("secretsmanager" in s for s in services)


def test_browsers_get_no_cross_origin_access_unless_a_deployment_names_its_origins(
    synth: Synth,
) -> None:
    (api,) = synth.resources("AWS::ApiGatewayV2::Api").values()
    assert "CorsConfiguration" not in api["Properties"]


def test_named_origins_and_no_wildcard_are_what_cors_allows() -> None:
    from infra.api import cors

    options = cors("https://app.example.com, https://admin.example.com")
    assert options is not None
    assert options.allow_origins == ["https://app.example.com", "https://admin.example.com"]
    assert "*" not in (options.allow_origins or [])
    assert cors(None) is None and cors("") is None
