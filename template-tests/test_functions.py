"""One function per declared route, wired to its route, with the declared protection."""

from __future__ import annotations

from conftest import Synth
from helpers import as_list, function_by_handler, our_functions, policy_statements, ref

from functions.registry import SERVICES
from lms_platform import topology

DECLARED_ROUTES = [(service, route) for service in SERVICES for route in service.routes]


def test_one_function_per_declared_route_with_the_declared_handler(synth: Synth) -> None:
    route_handlers = sorted(
        r["Properties"]["Handler"]
        for r in our_functions(synth).values()
        if ".api." in r["Properties"]["Handler"]
    )
    assert route_handlers == sorted(s.handler_path(r) for s, r in DECLARED_ROUTES)
    assert len(route_handlers) == len(DECLARED_ROUTES) > 0


def test_every_route_is_wired_to_the_function_of_its_handler(synth: Synth) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert sorted(routes) == sorted(route.key for _, route in DECLARED_ROUTES)
    for service, route in DECLARED_ROUTES:
        target = routes[route.key]["Properties"]["Target"]["Fn::Join"][1]
        integration = synth.resource(ref(target[1]) or "")
        function_id, _ = function_by_handler(synth, service.handler_path(route))
        assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
        assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
        assert ref(integration["Properties"]["IntegrationUri"]) == function_id, route.key


def test_authorizer_on_every_route_but_the_public_ones(synth: Synth) -> None:
    (authorizer_id,) = synth.resources("AWS::ApiGatewayV2::Authorizer")
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    for _, route in DECLARED_ROUTES:
        props = routes[route.key]
        if route.public:
            assert props["AuthorizationType"] == "NONE", route.key
            assert "AuthorizerId" not in props, route.key
        else:
            assert props["AuthorizationType"] == "JWT", route.key
            assert ref(props["AuthorizerId"]) == authorizer_id, route.key


def test_the_user_service_public_routes_are_exactly_the_token_and_key_routes(
    synth: Synth,
) -> None:
    user = next(s for s in SERVICES if s.name == "user")
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    public = {r.name for r in user.routes if routes[r.key]["AuthorizationType"] == "NONE"}
    assert public == {
        "register",
        "login",
        "refresh",
        "logout",
        "jwks",
        "openid_configuration",
    }


def test_the_authorizer_trusts_the_api_itself_for_the_lms_audience(synth: Synth) -> None:
    (authorizer,) = synth.resources("AWS::ApiGatewayV2::Authorizer").values()
    (api_id,) = synth.resources("AWS::ApiGatewayV2::Api")
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "JWT"
    assert props["IdentitySource"] == ["$request.header.Authorization"]
    assert props["JwtConfiguration"]["Audience"] == ["lms-api"]
    assert props["JwtConfiguration"]["Issuer"] == {"Fn::GetAtt": [api_id, "ApiEndpoint"]}
    for function in our_functions(synth).values():
        env = function["Properties"]["Environment"]["Variables"]
        if "LMS_JWT_ISSUER" in env:
            assert env["LMS_JWT_ISSUER"] == {"Fn::GetAtt": [api_id, "ApiEndpoint"]}
            assert env["LMS_JWT_AUDIENCE"] == "lms-api"


def test_the_default_stage_is_throttled_and_logged(synth: Synth) -> None:
    (stage,) = synth.resources("AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default"
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert "$context.requestId" in props["AccessLogSettings"]["Format"]
    assert ref(props["AccessLogSettings"]["DestinationArn"]) is not None


def test_every_function_is_python_312_on_arm64_in_the_vpc(synth: Synth) -> None:
    functions = our_functions(synth)
    others = set(synth.resources("AWS::Lambda::Function")) - set(functions)
    # The only other function is CDK's own provider behind the migration trigger.
    assert all(o.startswith("AWSCDKTriggerCustomResourceProvider") for o in others), others
    for logical_id, function in functions.items():
        props = function["Properties"]
        assert props["Runtime"] == "python3.12", logical_id
        assert props["Architectures"] == ["arm64"], logical_id
        assert props["VpcConfig"]["SubnetIds"], logical_id
        layers = [ref(layer) or str(layer) for layer in props["Layers"]]
        assert any(layer.startswith("DependenciesLayer") for layer in layers), logical_id
        assert any(layer.startswith("PlatformLayer") for layer in layers), logical_id
        if props["Handler"] != "lms_platform.deploy.handler":
            # The Parameters and Secrets extension, a regional AWS layer (by ARN).
            assert len(layers) == 3, logical_id
        assert ref(props["LoggingConfig"]["LogGroup"]) is not None, logical_id


def test_functions_read_their_own_service_secret_and_the_signing_key_only_where_needed(
    synth: Synth,
) -> None:
    for service, route in DECLARED_ROUTES:
        _, function = function_by_handler(synth, service.handler_path(route))
        env = function["Properties"]["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == service.name
        assert env["LMS_EVENT_BUS_NAME"] == {"Ref": _bus_id(synth)}
        own_secret = env["LMS_DB_SECRET_ARN"]
        assert f"Data{service.name.capitalize()}Secret" in own_secret["Fn::ImportValue"]
        assert "Proxy" in env["LMS_DB_HOST"]["Fn::ImportValue"]
        signs = route.reads_signing_key
        assert ("LMS_SIGNING_KEY_SECRET_ARN" in env) == signs, route.key
        readable = [
            resource
            for statement in policy_statements(synth, function)
            if any(str(a).startswith("secretsmanager:") for a in as_list(statement["Action"]))
            for resource in as_list(statement["Resource"])
        ]
        expected = [own_secret] + ([env["LMS_SIGNING_KEY_SECRET_ARN"]] if signs else [])
        assert sorted(map(str, readable)) == sorted(map(str, expected)), route.key


def test_a_relay_per_publishing_service_on_its_schedule(synth: Synth) -> None:
    relays = [
        f
        for f in our_functions(synth).values()
        if f["Properties"]["Handler"] == topology.RELAY_HANDLER
    ]
    publishing = sorted(s.name for s in SERVICES if s.publishes)
    assert (
        sorted(f["Properties"]["Environment"]["Variables"]["LMS_SERVICE"] for f in relays)
        == publishing
    )
    schedules = [
        r["Properties"]
        for r in synth.resources("AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    minutes = topology.RELAY_SCHEDULE_MINUTES
    expected = f"rate({minutes} minute{'s' if minutes != 1 else ''})"
    assert [s["ScheduleExpression"] for s in schedules] == [expected] * len(publishing)


def test_the_migration_runs_on_deployment_before_the_service_functions(synth: Synth) -> None:
    function_id, function = function_by_handler(synth, "lms_platform.deploy.handler")
    env = function["Properties"]["Environment"]["Variables"]
    assert {"LMS_ADMIN_SECRET_ARN", "LMS_SERVICE_SECRETS", "LMS_SIGNING_KEY_SECRET_ARN"} <= set(env)
    (trigger_id, trigger) = next((k, v) for k, v in synth.resources("Custom::Trigger").items())
    # A new version of the function (new code or configuration) runs the trigger again.
    version = synth.resource(ref(trigger["Properties"]["HandlerArn"]) or "")
    assert version["Type"] == "AWS::Lambda::Version"
    assert ref(version["Properties"]["FunctionName"]) == function_id
    for service, route in DECLARED_ROUTES:
        _, route_function = function_by_handler(synth, service.handler_path(route))
        assert trigger_id in route_function.get("DependsOn", []), route.key
    put_secret = [
        s
        for s in policy_statements(synth, function)
        if "secretsmanager:PutSecretValue" in as_list(s["Action"])
    ]
    assert [s["Resource"] for s in put_secret] == [env["LMS_SIGNING_KEY_SECRET_ARN"]]


def _bus_id(synth: Synth) -> str:
    (bus_id,) = synth.resources("AWS::Events::EventBus")
    return bus_id


def test_only_the_routes_that_sign_tokens_and_jwks_may_read_the_signing_key(
    synth: Synth,
) -> None:
    # login, refresh and a password change sign tokens, jwks publishes the public key;
    # openid_configuration only names the issuer and the JWKS URL, so it is not given the
    # key, nor is logout, which only ends a session.
    readers = {
        f"{service.name}.{route.name}"
        for service, route in DECLARED_ROUTES
        if "LMS_SIGNING_KEY_SECRET_ARN"
        in function_by_handler(synth, service.handler_path(route))[1]["Properties"]["Environment"][
            "Variables"
        ]
    }
    assert readers == {"user.login", "user.refresh", "user.change_password", "user.jwks"}
