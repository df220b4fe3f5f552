"""The HTTP API: JWT authorizer, throttling, access logs.

The authorizer trusts tokens whose issuer is this API's own URL: the User service signs
them and publishes its keys under ``/.well-known/`` on this same API, where API Gateway
discovers them.
"""

from __future__ import annotations

import json

import jsii
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import nag
from lms_platform import topology
from lms_platform.service import Route
from lms_platform.settings import Settings

JWT_AUDIENCE: str = Settings.model_fields["jwt_audience"].default
RATE_LIMIT = 200  # requests per second, steady
BURST_LIMIT = 400

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
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


def cors(origins: str | None) -> apigw.CorsPreflightOptions | None:
    """Browsers may call the API from these origins (``-c lms:cors-origins=https://a,https://b``).

    None by default: a browser app's origin is a deployment's choice, never a wildcard.
    """
    allowed = topology.cors_origins(origins)
    if not allowed:
        return None
    return apigw.CorsPreflightOptions(
        allow_origins=list(allowed),
        allow_methods=[apigw.CorsHttpMethod.ANY],
        allow_headers=list(topology.CORS_ALLOW_HEADERS),
        max_age=Duration.seconds(topology.CORS_MAX_AGE_SECONDS),
    )


@jsii.implements(apigw.IAccessLogSettings)
class _AccessLogs:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigw.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw_v1.AccessLogFormat:
        # The format class is shared with REST APIs; HTTP APIs use it as is.
        return apigw_v1.AccessLogFormat.custom(ACCESS_LOG_FORMAT)


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigw.HttpApi(
            self,
            "Http",
            api_name="lms",
            create_default_stage=False,
            cors_preflight=cors(self.node.try_get_context("lms:cors-origins")),
        )
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH)
        self.stage = apigw.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(rate_limit=RATE_LIMIT, burst_limit=BURST_LIMIT),
            access_log_settings=_AccessLogs(access_logs),
        )
        # https://<id>.execute-api.<region>.amazonaws.com: the $default stage has no path.
        self.issuer = self.http_api.api_endpoint
        self.audience = JWT_AUDIENCE
        self.authorizer = authorizers.HttpJwtAuthorizer(
            "Jwt",
            self.issuer,
            jwt_audience=[self.audience],
            identity_source=["$request.header.Authorization"],
        )

    def add_route(self, scope: Construct, route: Route, handler: lambda_.IFunction) -> None:
        """Wire ``route`` to ``handler``; the authorizer on every route not declared public."""
        http_route = apigw.HttpRoute(
            scope,
            f"Route{route.name.title().replace('_', '')}",
            http_api=self.http_api,
            route_key=apigw.HttpRouteKey.with_(route.path, apigw.HttpMethod[route.method]),
            integration=integrations.HttpLambdaIntegration(
                f"Integration{route.name.title().replace('_', '')}", handler
            ),
            authorizer=None if route.public else self.authorizer,
        )
        if route.public:
            nag.acknowledge(
                http_route,
                "AwsSolutions-APIG4",
                f"{route.key} is declared public in functions/{route.service}/service.py "
                f"({route.summary or route.name}): it serves callers without a token "
                "(signing up, logging in, the keys that verify tokens, the public catalog).",
            )
