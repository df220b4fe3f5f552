"""One function per declared route, wired to its route, with the declared protection, and
the environment every function reads."""

from __future__ import annotations

from conftest import Synth
from helpers import (
    as_list,
    environment,
    function_by_handler,
    function_by_name,
    our_functions,
    policy_statements,
    ref,
    render,
)

from infra import shared
from infra.services import secret_variable
from infra.stage import DEFAULT_STATEMENT_MODE, DEFAULT_TRACING
from infra.units import units
from lms_platform import topology


def _declared_routes(synth: Synth) -> list[tuple[str, str, str]]:
    return [(s.name, s.handler_path(r), r.key) for s in synth.services for r in s.routes]


def test_one_function_per_declared_route_with_the_declared_handler(stage: Synth) -> None:
    route_handlers = sorted(
        r.properties["Handler"] for r in our_functions(stage) if ".api." in r.properties["Handler"]
    )
    assert route_handlers == sorted(h for _, h, _ in _declared_routes(stage))
    assert len(route_handlers) > 0


def test_every_route_is_wired_to_the_function_of_its_handler_in_its_service_stack(
    stage: Synth,
) -> None:
    routes = {r.properties["RouteKey"]: r for r in stage.resources("AWS::ApiGatewayV2::Route")}
    assert sorted(routes) == sorted(key for _, _, key in _declared_routes(stage))
    for service, handler, key in _declared_routes(stage):
        route = routes[key]
        assert route.stack == stage.stack_name(service)
        target = route.properties["Target"]["Fn::Join"][1]
        integration = stage.resource(route.stack, ref(target[1]) or "")
        function = function_by_handler(stage, handler)
        assert integration.properties["IntegrationType"] == "AWS_PROXY"
        assert integration.properties["PayloadFormatVersion"] == "2.0"
        assert ref(integration.properties["IntegrationUri"]) == function.logical_id, key
        # The shared API, known by its id from the API stack's SSM parameter.
        api = stage.templates[route.stack]["Parameters"][ref(route.properties["ApiId"]) or ""]
        assert api["Default"] == f"/lms/{stage.stage}/{shared.API_ID}"


def test_authorizer_on_every_route_but_the_public_ones(stage: Synth) -> None:
    (authorizer,) = stage.resources("AWS::ApiGatewayV2::Authorizer")
    for service in stage.services:
        for route in service.routes:
            (wired,) = [
                r.properties
                for r in stage.resources("AWS::ApiGatewayV2::Route")
                if r.properties["RouteKey"] == route.key
            ]
            if route.public:
                assert wired["AuthorizationType"] == "NONE", route.key
                assert "AuthorizerId" not in wired, route.key
            else:
                assert wired["AuthorizationType"] == "JWT", route.key
                parameter = stage.templates[stage.stack_name(service.name)]["Parameters"][
                    ref(wired["AuthorizerId"]) or ""
                ]
                assert parameter["Default"] == f"/lms/{stage.stage}/{shared.AUTHORIZER_ID}"
    published = {
        r.properties["Name"]: r.properties["Value"] for r in stage.resources("AWS::SSM::Parameter")
    }
    assert ref(published[f"/lms/{stage.stage}/{shared.AUTHORIZER_ID}"]) == authorizer.logical_id


def test_the_user_service_public_routes_are_exactly_the_token_and_key_routes(
    synth: Synth,
) -> None:
    user = next(s for s in synth.services if s.name == "user")
    routes = {
        r.properties["RouteKey"]: r.properties for r in synth.resources("AWS::ApiGatewayV2::Route")
    }
    public = {r.name for r in user.routes if routes[r.key]["AuthorizationType"] == "NONE"}
    assert public == {"register", "login", "refresh", "logout", "jwks", "openid_configuration"}


def test_the_authorizer_trusts_the_api_itself_for_the_lms_audience(stage: Synth) -> None:
    (authorizer,) = stage.resources("AWS::ApiGatewayV2::Authorizer")
    (api,) = stage.resources("AWS::ApiGatewayV2::Api")
    props = authorizer.properties
    assert props["AuthorizerType"] == "JWT"
    assert props["IdentitySource"] == ["$request.header.Authorization"]
    assert props["JwtConfiguration"]["Audience"] == ["lms-api"]
    assert props["JwtConfiguration"]["Issuer"] == {"Fn::GetAtt": [api.logical_id, "ApiEndpoint"]}
    for function in our_functions(stage):
        env = environment(function)
        if "LMS_JWT_ISSUER" in env:
            parameter = stage.templates[function.stack]["Parameters"][
                ref(env["LMS_JWT_ISSUER"]) or ""
            ]
            assert parameter["Default"] == f"/lms/{stage.stage}/{shared.API_ENDPOINT}"
            assert env["LMS_JWT_AUDIENCE"] == "lms-api"


def test_the_stage_throttles_strict_routes_harder_and_logs_every_request(stage: Synth) -> None:
    (api_stage,) = stage.resources("AWS::ApiGatewayV2::Stage")
    assert api_stage.stack == stage.stack_name("gateway")
    props = api_stage.properties
    assert props["StageName"] == "$default"
    assert props["AutoDeploy"] is True
    default = props["DefaultRouteSettings"]
    strict_keys = {r.key for s in stage.services for r in s.routes if r.throttle == "strict"}
    assert strict_keys == {"POST /auth/register", "POST /auth/login", "POST /auth/refresh"}
    assert set(props["RouteSettings"]) == strict_keys
    for key in strict_keys:
        strict = props["RouteSettings"][key]
        assert 0 < strict["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
        assert 0 < strict["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]
    expected_strict_rate = 5 if stage.stage == "prod" else 10
    assert {s["ThrottlingRateLimit"] for s in props["RouteSettings"].values()} == {
        expected_strict_rate
    }
    assert "$context.requestId" in props["AccessLogSettings"]["Format"]
    assert "$context.awsEndpointRequestId" in props["AccessLogSettings"]["Format"]
    assert ref(props["AccessLogSettings"]["DestinationArn"]) is not None


def test_every_function_is_python_312_on_arm64_in_the_vpc_with_its_own_log_group(
    any_synth: Synth,
) -> None:
    functions = our_functions(any_synth)
    others = [r for r in any_synth.resources("AWS::Lambda::Function") if r not in functions]
    # The only other functions are CDK's providers (the trigger, the dev bucket's emptying).
    assert {o.logical_id.split("CustomResourceProvider")[0] for o in others} <= {
        "AWSCDKTrigger",
        "CustomS3AutoDeleteObjects",
    }
    for function in functions:
        props = function.properties
        assert props["Runtime"] == "python3.12", function.logical_id
        assert props["Architectures"] == ["arm64"], function.logical_id
        assert len(props["VpcConfig"]["SubnetIds"]) == 2, function.logical_id
        layers = [ref(layer) or str(layer) for layer in props["Layers"]]
        assert any("DependenciesLayer" in layer for layer in layers), function.logical_id
        assert any("PlatformLayer" in layer for layer in layers), function.logical_id
        log_group = any_synth.resource(
            function.stack, ref(props["LoggingConfig"]["LogGroup"]) or ""
        )
        assert log_group.properties["LogGroupName"] == f"/aws/lambda/{props['FunctionName']}"
        assert len(props["FunctionName"]) <= 64
        assert props["FunctionName"].startswith(f"lms-{any_synth.stage}-")


def test_function_names_and_timeouts_follow_the_declarations(extended: Synth) -> None:
    timeouts = {"route": 10, "consumer": 30, "relay": 60}
    for service in extended.services:
        for unit in units(service):
            function = function_by_name(
                extended, f"lms-dev-{service.name}-{unit.name}".replace("_", "-")
            )
            assert function.stack == extended.stack_name(service.name)
            assert function.properties["Handler"] == unit.handler
            expected = timeouts.get(unit.kind, unit.timeout_seconds)
            assert function.properties["Timeout"] == expected, unit.name


def test_every_function_knows_its_stage_service_metrics_namespace_and_statement_mode(
    stage: Synth,
) -> None:
    mode = "named" if stage.stage == "prod" else DEFAULT_STATEMENT_MODE
    for function in our_functions(stage):
        env = environment(function)
        assert env["LMS_STAGE"] == stage.stage
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == f"LMS/{stage.stage}"
        if function.properties["Handler"] != "functions.migrate.handler":
            assert env["LMS_SERVICE"] == env["POWERTOOLS_SERVICE_NAME"]
            assert env["LMS_DB_STATEMENT_MODE"] == mode
            assert env["LMS_EVENT_BUS_NAME"] == topology.event_bus(stage.stage)


def _assert_tracing(synth: Synth, on: bool) -> None:
    for function in our_functions(synth):
        assert ("TracingConfig" in function.properties) == on
        assert function.properties.get("TracingConfig", {"Mode": "Active"}) == {"Mode": "Active"}
        assert ("LMS_TRACING" in environment(function)) == on
        assert on == any(
            "xray:PutTraceSegments" in as_list(s["Action"])
            for s in policy_statements(synth, function)
        )


def test_tracing_is_a_stage_switch(synth: Synth, production: Synth) -> None:
    _assert_tracing(synth, DEFAULT_TRACING)
    _assert_tracing(production, True)  # -c lms:tracing=true
    assert {environment(f)["LMS_TRACING"] for f in our_functions(production)} == {"true"}


def test_functions_read_their_own_service_secret_and_the_signing_key_only_where_needed(
    stage: Synth,
) -> None:
    for service in stage.services:
        for route in service.routes:
            function = function_by_handler(stage, service.handler_path(route))
            env = environment(function)
            parameters = stage.templates[function.stack]["Parameters"]
            own_secret = env["LMS_DB_SECRET_ARN"]
            assert parameters[ref(own_secret) or ""]["Default"] == (
                f"/lms/{stage.stage}/database/{service.name}/secret-arn"
            )
            assert parameters[ref(env["LMS_DB_HOST"]) or ""]["Default"].endswith("proxy-endpoint")
            signs = route.reads_signing_key
            assert ("LMS_SIGNING_KEY_SECRET_ARN" in env) == signs, route.key
            readable = [
                resource
                for statement in policy_statements(stage, function)
                if any(str(a).startswith("secretsmanager:") for a in as_list(statement["Action"]))
                for resource in as_list(statement["Resource"])
            ]
            expected = [own_secret] + ([env["LMS_SIGNING_KEY_SECRET_ARN"]] if signs else [])
            # ... and the secrets of its own service that the route names (Payment's keys).
            expected += [env[secret_variable(name)] for name in route.secrets]
            assert sorted(map(str, readable)) == sorted(map(str, expected)), route.key


def test_only_login_and_jwks_may_read_the_signing_key(synth: Synth) -> None:
    # login signs tokens, jwks publishes the public key; openid_configuration only names
    # the issuer and the JWKS URL, so it is not given the key.
    readers = {
        f"{service.name}.{route.name}"
        for service in synth.services
        for route in service.routes
        if "LMS_SIGNING_KEY_SECRET_ARN"
        in environment(function_by_handler(synth, service.handler_path(route)))
    }
    # login, refresh and a password change sign tokens, jwks publishes the public key.
    assert readers == {"user.login", "user.refresh", "user.change_password", "user.jwks"}


def test_a_relay_per_publishing_service_on_its_schedule(synth: Synth) -> None:
    relays = [f for f in our_functions(synth) if f.properties["Handler"] == topology.RELAY_HANDLER]
    # A service that publishes no events but hands itself tasks has an outbox too.
    publishing = sorted(s.name for s in synth.services if s.publishes or s.tasks)
    assert sorted(environment(f)["LMS_SERVICE"] for f in relays) == publishing
    for relay in relays:
        (schedule,) = [
            r.properties
            for r in synth.resources("AWS::Events::Rule", stack=relay.stack)
            if "ScheduleExpression" in r.properties
            and ref(r.properties["Targets"][0]["Arn"]) == relay.logical_id
        ]
        minutes = topology.RELAY_SCHEDULE_MINUTES
        assert (
            schedule["ScheduleExpression"] == f"rate({minutes} minute{'s' if minutes != 1 else ''})"
        )
        assert ref(schedule["Targets"][0]["Arn"]) == relay.logical_id


def test_every_service_that_keeps_events_prunes_them_on_a_schedule(synth: Synth) -> None:
    handler = topology.RETENTION_JOB.handler
    jobs = [f for f in our_functions(synth) if f.properties["Handler"] == handler]
    keepers = sorted(s.name for s in synth.services if topology.keeps_events(s))
    assert keepers and sorted(environment(f)["LMS_SERVICE"] for f in jobs) == keepers
    for job in jobs:
        (schedule,) = [
            r.properties
            for r in synth.resources("AWS::Events::Rule", stack=job.stack)
            if ref(r.properties.get("Targets", [{}])[0].get("Arn")) == job.logical_id
        ]
        assert schedule["ScheduleExpression"] == "rate(1 hour)"
        assert job.properties["Timeout"] == topology.RETENTION_JOB.timeout_seconds


def test_jobs_run_on_their_schedule_with_the_secrets_they_name(extended: Synth) -> None:
    billing = next(s for s in extended.services if s.name == "billing")
    job = function_by_handler(extended, billing.job_path(billing.job("reconcile")))
    env = environment(job)
    assert {k for k in env if k.startswith("LMS_SECRET_")} == {"LMS_SECRET_STRIPE_API_KEY_ARN"}
    (schedule,) = [
        r.properties
        for r in extended.resources("AWS::Events::Rule", stack=job.stack)
        if ref(r.properties.get("Targets", [{}])[0].get("Arn")) == job.logical_id
    ]
    assert schedule["ScheduleExpression"] == "rate(1 hour)"
    insights = next(s for s in extended.services if s.name == "insights")
    partitions = function_by_handler(extended, insights.job_path(insights.job("partitions")))
    assert partitions.properties["Timeout"] == 60
    assert "rate(1 day)" in render(
        [
            r.properties.get("ScheduleExpression")
            for r in extended.resources("AWS::Events::Rule", stack=partitions.stack)
        ]
    )


def test_a_service_dependency_group_reaches_its_own_layer_only(extended: Synth) -> None:
    from infra import assets

    def layer_key(function_stack: str) -> str:
        (layer,) = [
            r
            for r in extended.resources("AWS::Lambda::LayerVersion", stack=function_stack)
            if "DependenciesLayer" in r.logical_id
        ]
        return str(layer.properties["Content"]["S3Key"])

    billing = layer_key(extended.stack_name("billing"))
    migration = layer_key(extended.stack_name("migration"))
    others = {
        layer_key(extended.stack_name(s.name)) for s in extended.services if not s.dependencies
    }
    # The same requirements (the common ones and the "migrations" group) make one asset;
    # no other service's layer carries the group.
    assert billing == migration
    assert len(others) == 1 and billing not in others
    assert any(r.startswith("SQLAlchemy") for r in assets.runtime_requirements(("migrations",)))
    assert not any(r.startswith(("SQLAlchemy", "alembic")) for r in assets.runtime_requirements())


def test_the_migration_runs_before_the_services_and_only_after_it_can_reach_the_proxy(
    stage: Synth,
) -> None:
    function = function_by_handler(stage, "functions.migrate.handler")
    assert function.stack == stage.stack_name("migration")
    env = environment(function)
    assert {"LMS_ADMIN_SECRET_ARN", "LMS_SERVICE_SECRETS", "LMS_SIGNING_KEY_SECRET_ARN"} <= set(env)
    (trigger,) = stage.resources("Custom::Trigger")
    # A new version of the function (new code or configuration) runs the trigger again.
    version = stage.resource(trigger.stack, ref(trigger.properties["HandlerArn"]) or "")
    assert version.type == "AWS::Lambda::Version"
    assert ref(version.properties["FunctionName"]) == function.logical_id
    # The rule that admits the function to the proxy exists before the trigger runs ...
    (ingress,) = stage.resources("AWS::EC2::SecurityGroupIngress", stack=trigger.stack)
    assert ingress.logical_id in trigger.depends_on
    assert ref(ingress.properties["SourceSecurityGroupId"]) in {
        ref(g) for g in function.properties["VpcConfig"]["SecurityGroupIds"]
    }
    # ... the data stack (proxy, endpoints) is deployed before this stack, and the proxy
    # itself comes up after the Secrets Manager endpoint it reads the role secrets through.
    assert stage.dependencies[stage.stack_name("migration")] == {stage.stack_name("data")}
    (proxy,) = stage.resources("AWS::RDS::DBProxy")
    endpoints = {
        r.logical_id: r
        for r in stage.resources("AWS::EC2::VPCEndpoint", stack=proxy.stack)
        if "secretsmanager" in render(r.properties["ServiceName"])
    }
    assert set(endpoints) & set(proxy.depends_on), proxy.depends_on
    # The services come after the schema.
    for service in stage.services:
        assert stage.stack_name("migration") in stage.dependencies[stage.stack_name(service.name)]
    put_secret = [
        s
        for s in policy_statements(stage, function)
        if "secretsmanager:PutSecretValue" in as_list(s["Action"])
    ]
    assert [s["Resource"] for s in put_secret] == [env["LMS_SIGNING_KEY_SECRET_ARN"]]
