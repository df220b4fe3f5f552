"""The HTTP API: its JWT authorizer, its routes (one per declared route, each in its
service's stack) and its ``$default`` stage with throttling and access logs.

The authorizer trusts tokens whose issuer is this API's own URL: the User service signs
them and publishes its keys under ``/.well-known/`` on this same API, where API Gateway
discovers them.

The stage lives in a stack of its own, deployed after every service stack: its per-route
throttling names routes, and API Gateway refuses route settings for a route that does not
exist yet ("Unable to find Route by key ... within the provided RouteSettings").

HTTP APIs have no X-Ray tracing (REST APIs do); the access log line of every request
carries API Gateway's request id and the Lambda invocation's request id
(``$context.awsEndpointRequestId``), which is in the function's own log lines and its
trace, so a request is followed from the edge into the function.
"""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import nag, shared
from infra.stage import Stage
from lms_platform import topology
from lms_platform.service import Route, Service
from lms_platform.settings import Settings

JWT_AUDIENCE: str = Settings.model_fields["jwt_audience"].default

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "lambdaRequestId": "$context.awsEndpointRequestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
        "sub": "$context.authorizer.claims.sub",
    }
)


def cors(origins: tuple[str, ...] | str | None) -> apigw.CorsPreflightOptions | None:
    """Browsers may call the API from these origins (``-c lms:cors-origins=https://a,https://b``).

    None by default: a browser app's origin is a deployment's choice, never a wildcard.
    """
    allowed = topology.cors_origins(origins) if isinstance(origins, str | None) else origins
    if not allowed:
        return None
    return apigw.CorsPreflightOptions(
        allow_origins=list(allowed),
        allow_methods=[apigw.CorsHttpMethod.ANY],
        allow_headers=list(topology.CORS_ALLOW_HEADERS),
        max_age=Duration.seconds(topology.CORS_MAX_AGE_SECONDS),
    )


class Api(Construct):
    """The HTTP API and its JWT authorizer (the API stack)."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: Stage) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigw.HttpApi(
            self,
            "Http",
            api_name=stage.prefix,
            description=f"lms {stage.name}",
            create_default_stage=False,
            cors_preflight=cors(stage.cors_origins),
        )
        # https://<id>.execute-api.<region>.amazonaws.com: the $default stage has no path.
        self.issuer = self.http_api.api_endpoint
        self.authorizer = apigw.HttpAuthorizer(
            self,
            "Jwt",
            http_api=self.http_api,
            authorizer_name=f"{stage.prefix}-jwt",
            type=apigw.HttpAuthorizerType.JWT,
            identity_source=["$request.header.Authorization"],
            jwt_audience=[JWT_AUDIENCE],
            jwt_issuer=self.issuer,
        )
        shared.publish(self, stage, shared.API_ID, self.http_api.api_id, "the HTTP API")
        shared.publish(
            self,
            stage,
            shared.API_ENDPOINT,
            self.http_api.api_endpoint,
            "the HTTP API's URL, also the tokens' issuer",
        )
        shared.publish(
            self,
            stage,
            shared.AUTHORIZER_ID,
            self.authorizer.authorizer_id,
            "the JWT authorizer of the HTTP API",
        )


class Routes:
    """What a service stack needs to put its routes on the shared API (ids from SSM)."""

    def __init__(self, scope: Construct, stage: Stage) -> None:
        self.http_api = apigw.HttpApi.from_http_api_attributes(
            scope,
            "Api",
            http_api_id=shared.read(scope, stage, shared.API_ID),
            api_endpoint=shared.read(scope, stage, shared.API_ENDPOINT),
        )
        self.issuer = shared.read(scope, stage, shared.API_ENDPOINT)
        self.audience = JWT_AUDIENCE
        self.authorizer_id = shared.read(scope, stage, shared.AUTHORIZER_ID)

    def add(self, scope: Construct, route: Route, handler: lambda_.IFunction) -> apigw.HttpRoute:
        """Wire ``route`` to ``handler``; the authorizer on every route not declared public."""
        http_route = apigw.HttpRoute(
            scope,
            "HttpRoute",
            http_api=self.http_api,
            route_key=apigw.HttpRouteKey.with_(route.path, apigw.HttpMethod[route.method]),
            integration=integrations.HttpLambdaIntegration("Integration", handler),
        )
        if not route.public:
            # The authorizer is the API stack's, known here by its id only.
            route_resource = http_route.node.default_child
            assert isinstance(route_resource, apigw.CfnRoute)
            route_resource.authorization_type = "JWT"
            route_resource.authorizer_id = self.authorizer_id
        else:
            nag.acknowledge(
                http_route,
                "AwsSolutions-APIG4",
                f"{route.key} is declared public in functions/{route.service}/service.py "
                f"({route.summary or route.name}): it serves callers without a token "
                "(signing up, logging in, the keys that verify tokens, the public catalog).",
            )
        return http_route


class Gateway(Construct):
    """The API's ``$default`` stage: throttling (stricter on ``throttle="strict"`` routes),
    access logs, optional per-route metrics. Auto-deployed: a route added later by its
    service's stack is served at once."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: Stage, services: tuple[Service, ...]
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/aws/apigateway/{stage.prefix}/access",
            retention=stage.log_retention,
            removal_policy=stage.removal_policy,
        )
        default = stage.throttle
        strict = stage.strict_throttle
        self.stage = apigw.CfnStage(
            self,
            "DefaultStage",
            api_id=shared.read(self, stage, shared.API_ID),
            stage_name="$default",
            auto_deploy=True,
            description=f"lms {stage.name}",
            default_route_settings=apigw.CfnStage.RouteSettingsProperty(
                throttling_rate_limit=default.rate,
                throttling_burst_limit=default.burst,
                detailed_metrics_enabled=stage.api_detailed_metrics,
            ),
            route_settings={
                route.key: {
                    "ThrottlingRateLimit": strict.rate,
                    "ThrottlingBurstLimit": strict.burst,
                    "DetailedMetricsEnabled": stage.api_detailed_metrics,
                }
                for service in services
                for route in service.routes
                if route.throttle == "strict"
            },
            access_log_settings=apigw.CfnStage.AccessLogSettingsProperty(
                destination_arn=self.access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
            ),
        )
