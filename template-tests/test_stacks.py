"""The stacks of a stage: how many, how big, in what order, and what they share."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from conftest import REPO, Synth
from helpers import stack_kind

from infra.app import SHARED_STACKS
from lms_platform import topology

LIMIT = 400  # CloudFormation allows 500 per stack; this leaves room to grow


def test_a_stack_per_service_and_the_shared_ones_named_after_the_stage(any_synth: Synth) -> None:
    expected = {f"lms-{any_synth.stage}-{kind}" for kind in SHARED_STACKS}
    expected |= {f"lms-{any_synth.stage}-{s.name}" for s in any_synth.services}
    assert set(any_synth.templates) == expected


def test_every_stack_stays_under_400_resources(any_synth: Synth) -> None:
    sizes = {name: len(t["Resources"]) for name, t in any_synth.templates.items()}
    assert all(0 < size < LIMIT for size in sizes.values()), sizes


def test_no_stack_imports_or_exports_a_value(any_synth: Synth) -> None:
    # An export in use freezes its stack: values travel through SSM parameters instead.
    for name, template in any_synth.templates.items():
        text = json.dumps(template)
        assert "Fn::ImportValue" not in text, name
        assert "Fn::GetStackOutput" not in text, name
        exported = [o for o in template.get("Outputs", {}).values() if "Export" in o]
        assert exported == [], name


def test_service_stacks_read_shared_values_from_the_stages_ssm_parameters(synth: Synth) -> None:
    for service in synth.services:
        parameters = synth.template(service.name).get("Parameters", {})
        defaults = {
            p["Default"]
            for p in parameters.values()
            if p.get("Type") == "AWS::SSM::Parameter::Value<String>"
        }
        assert f"/lms/dev/database/{service.name}/secret-arn" in defaults
        assert "/lms/dev/database/proxy-endpoint" in defaults
        ours = {d for d in defaults if not d.startswith("/cdk-bootstrap/")}
        assert all(d.startswith("/lms/dev/") for d in ours), ours
    written = {
        r.properties["Name"]
        for r in synth.resources("AWS::SSM::Parameter")
        if "Name" in r.properties
    }
    read = {
        p["Default"]
        for t in synth.templates.values()
        for p in t.get("Parameters", {}).values()
        if p.get("Type") == "AWS::SSM::Parameter::Value<String>"
        and not p["Default"].startswith("/cdk-bootstrap/")
    }
    assert read <= written, read - written


def test_deployment_order_follows_what_each_stack_reads(synth: Synth) -> None:
    name = synth.stack_name
    depends = synth.dependencies
    assert depends[name("data")] == set()
    assert depends[name("migration")] == {name("data")}
    assert name("api") in depends[name("monitoring")]
    for service in synth.services:
        # The schema exists before the functions that read it; the topic before alarms.
        assert depends[name(service.name)] == {
            name(k) for k in ("data", "events", "api", "monitoring", "migration")
        }
    # Route settings may only name routes that exist.
    assert depends[name("gateway")] == {name("api")} | {name(s.name) for s in synth.services}


def test_adding_a_service_adds_its_stack_and_changes_no_service_stack(
    synth: Synth, extended: Synth
) -> None:
    added = set(extended.templates) - set(synth.templates)
    assert {stack_kind(extended, s) for s in added} == {"media", "billing", "insights"}
    unchanged = {
        stack_kind(synth, name)
        for name, template in synth.templates.items()
        if extended.templates[name] == template
    }
    changed = {stack_kind(synth, name) for name in synth.templates} - unchanged
    # Every existing service stack and the bus and API stacks stay as they were; the
    # stacks derived from all declarations gain the newcomers' part: role secrets (data),
    # schemas (migration), strict routes (gateway), dashboard rows and alarm list.
    assert {s.name for s in synth.services} | {"events", "api"} <= unchanged
    assert changed <= {"data", "migration", "gateway", "monitoring"}


def _cost(synth: Synth, stack: str, part: str) -> int:
    """Resources whose construct path lies under ``<stack>/Service/<part>``."""
    prefix = f"{stack}/Service/{part}/"
    return sum(1 for r in synth.all_resources(stack) if r.path.startswith(prefix))


def _readme_costs() -> dict[str, int]:
    text = (REPO / "README.md").read_text()
    found = re.findall(
        r"\| (a route|a consumer|a relay|a scheduled job|a service) +\| (\d+) ", text
    )
    return {what: int(count) for what, count in found}


def test_the_readme_states_the_resources_a_route_and_a_consumer_cost(extended: Synth) -> None:
    measured: dict[str, set[int]] = defaultdict(set)
    for service in extended.services:
        stack = extended.stack_name(service.name)
        for route in service.routes:
            pascal = "".join(p.capitalize() for p in route.name.split("_"))
            measured["a route"].add(_cost(extended, stack, f"Route{pascal}"))
        if service.has_consumer:
            measured["a consumer"].add(_cost(extended, stack, "Consumer"))
        if service.publishes:
            measured["a relay"].add(_cost(extended, stack, "Relay"))
        for job in topology.jobs(service):
            pascal = "".join(p.capitalize() for p in job.name.split("_"))
            measured["a scheduled job"].add(_cost(extended, stack, f"Job{pascal}"))
        parts = {r.path.split("/")[2] for r in extended.all_resources(stack)}
        own = [p for p in parts if not p.startswith(("Route", "Job", "Consumer", "Relay"))]
        # The service's fixed part: security group, ingress rule, two layers (and a
        # resource per secret it owns).
        base = sum(1 for r in extended.all_resources(stack) if r.path.split("/")[2] in own)
        measured["a service"].add(base - len(service.secrets))
    # Every route costs the same, every consumer too (tasks or not, bucket or not).
    assert {k: len(v) for k, v in measured.items()} == dict.fromkeys(measured, 1), measured
    assert {k: v.pop() for k, v in measured.items()} == _readme_costs()


def _physical_names(synth: Synth) -> dict[str, set[str]]:
    """Explicit names of the resources, by resource type."""
    keys = {
        "AWS::Lambda::Function": "FunctionName",
        "AWS::SQS::Queue": "QueueName",
        "AWS::Events::Rule": "Name",
        "AWS::Events::EventBus": "Name",
        "AWS::Events::Archive": "ArchiveName",
        "AWS::EventSchemas::Registry": "RegistryName",
        "AWS::CloudWatch::Alarm": "AlarmName",
        "AWS::Logs::LogGroup": "LogGroupName",
        "AWS::RDS::DBCluster": "DBClusterIdentifier",
        "AWS::RDS::DBProxy": "DBProxyName",
        "AWS::ApiGatewayV2::Api": "Name",
        "AWS::ApiGatewayV2::Authorizer": "Name",
        "AWS::SNS::Topic": "TopicName",
        "AWS::CloudWatch::Dashboard": "DashboardName",
        "AWS::SSM::Parameter": "Name",
        "AWS::S3::Bucket": "BucketName",
        "AWS::SecretsManager::Secret": "Name",
    }
    names: dict[str, set[str]] = defaultdict(set)
    for resource in synth.all_resources():
        key = keys.get(resource.type)
        value: Any = resource.properties.get(key) if key else None
        if value is not None:
            names[resource.type].add(json.dumps(value, sort_keys=True))
    return names


def test_two_stages_share_no_physical_name(synth: Synth, production: Synth) -> None:
    dev, prod = _physical_names(synth), _physical_names(production)
    for type_ in set(dev) | set(prod):
        assert dev[type_] & prod[type_] == set(), type_
    assert set(synth.templates).isdisjoint(production.templates)
    # And every name carries its stage.
    for stage, names in (("dev", dev), ("prod", prod)):
        for type_, values in names.items():
            for value in values:
                assert re.search(rf"lms[-/]{stage}\b|LMS/{stage}", value), (type_, value)


def test_generated_names_for_the_database_secrets(any_synth: Synth) -> None:
    # CloudFormation deletes a secret without a recovery window; a generated name also
    # means a re-created stage never asks for a name that a kept secret still holds.
    data = any_synth.stack_name("data")
    for secret in any_synth.resources("AWS::SecretsManager::Secret", stack=data):
        assert "Name" not in secret.properties, secret.logical_id
    for secret in any_synth.resources("AWS::SecretsManager::Secret"):
        if "Name" in secret.properties:  # a service's own secret, filled by the operator
            assert secret.properties["Name"].startswith(f"lms-{any_synth.stage}/")


def test_production_keeps_its_data_and_logs_and_dev_deletes_everything(
    synth: Synth, production: Synth
) -> None:
    kept = {
        "AWS::SecretsManager::Secret",
        "AWS::Logs::LogGroup",
        "AWS::S3::Bucket",
    }
    for resource in production.all_resources():
        if resource.type in kept:
            assert resource.body.get("DeletionPolicy") == "Retain", resource.logical_id
    for resource in synth.all_resources():
        if resource.type in kept | {"AWS::RDS::DBCluster", "AWS::RDS::DBInstance"}:
            assert resource.body.get("DeletionPolicy", "Delete") == "Delete", resource.logical_id
    (cluster,) = production.resources("AWS::RDS::DBCluster")
    assert cluster.body["DeletionPolicy"] == "Snapshot"
    assert cluster.properties["DeletionProtection"] is True
    (dev_cluster,) = synth.resources("AWS::RDS::DBCluster")
    assert dev_cluster.properties["DeletionProtection"] is False
    # A dev bucket is emptied on teardown, so that the stage can come back under its name.
    assert synth.resources("Custom::S3AutoDeleteObjects")
    assert not production.resources("Custom::S3AutoDeleteObjects")
    assert all(production.termination_protection.values())
    assert not any(synth.termination_protection.values())


def test_log_retention_comes_from_the_stage(synth: Synth, production: Synth) -> None:
    for stage, days in ((synth, 14), (production, 365)):
        retention = {
            r.properties.get("RetentionInDays") for r in stage.resources("AWS::Logs::LogGroup")
        }
        assert retention == {days}


def test_the_content_bucket_lets_nothing_half_uploaded_stay(stage: Synth) -> None:
    # Given a service that keeps files under its own prefix of the content bucket
    keeping = [s for s in stage.services if s.bucket_prefix]
    assert keeping, "no service keeps files"
    (bucket,) = [
        b
        for b in stage.resources("AWS::S3::Bucket")
        if "LoggingConfiguration" in b.properties  # the content bucket, not its access log
    ]
    rules = {r.get("Id"): r for r in bucket.properties["LifecycleConfiguration"]["Rules"]}
    for service in keeping:
        prefix = service.bucket_prefix.strip("/")
        # Then uploads never completed expire, older versions with them, after a day
        pending = rules[f"{prefix}-pending-uploads"]
        assert pending["Prefix"] == service.bucket_prefix
        assert pending["TagFilters"] == [{"Key": "lms-upload", "Value": "pending"}]
        assert pending["ExpirationInDays"] == 1
        assert pending["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
        # And multipart uploads never completed are aborted
        multipart = rules[f"{prefix}-incomplete-multipart"]
        assert multipart["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    # And the bucket is private, encrypted, versioned and refuses plain HTTP
    assert bucket.properties["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert bucket.properties["VersioningConfiguration"]["Status"] == "Enabled"
    assert "BucketEncryption" in bucket.properties
