"""The migration function, run by the deployment before any function that uses the schema.

It creates each service's schema and login role, applies the Alembic revisions, sets the
roles' passwords from the services' secrets, and puts an RSA key in the signing-key
secret the first time (``functions.migrate.handler`` -> ``lms_platform.deploy.run``). A
``Trigger`` runs it whenever its code or configuration changes: a new revision, a new
service, a new secret.

Order on a first deployment: the data stack (cluster, proxy, the Secrets Manager endpoint
the proxy and this function read secrets through) is deployed before this stack, and the
trigger runs only after the ingress rule that admits this function to the proxy exists;
the service stacks are deployed after this one, so the schema exists before the first
function that reads it. Only this function's layer carries SQLAlchemy, Alembic and Mako.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack, triggers
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import assets, network, shared
from infra.data import allow_to_proxy
from infra.lambdas import LmsFunction
from infra.stage import Stage
from lms_platform.service import Service

HANDLER = "functions.migrate.handler"
TIMEOUT = Duration.minutes(5)
# The optional-dependency group only this function ships (pyproject.toml).
DEPENDENCIES = ("migrations",)


class Migration(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: Stage, services: tuple[Service, ...]
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = network.imported_vpc(self, stage)
        security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, description=f"The {stage.prefix} migration function"
        )
        self.to_proxy = allow_to_proxy(
            self, shared.read(self, stage, shared.PROXY_SECURITY_GROUP_ID), security_group
        )
        admin_secret = self._secret("AdminSecret", stage, shared.ADMIN_SECRET_ARN)
        signing_key = self._secret("SigningKey", stage, shared.SIGNING_KEY_SECRET_ARN)
        service_secrets = {
            s.name: self._secret(
                f"{s.name.capitalize()}Secret", stage, shared.role_secret_arn(s.name)
            )
            for s in services
        }
        self.layers = assets.layers(self, DEPENDENCIES)
        built = LmsFunction(
            self,
            "Function",
            stage=stage,
            function_name=stage.resource_name("migrate"),
            description="Schemas, roles, migrations and the signing key of every service",
            handler=HANDLER,
            code=assets.all_services_code(),
            layers=self.layers.all,
            vpc=vpc,
            security_group=security_group,
            timeout=TIMEOUT,
            environment={
                "LMS_STAGE": stage.name,
                "LMS_ADMIN_SECRET_ARN": admin_secret.secret_arn,
                "LMS_SERVICE_SECRETS": Stack.of(self).to_json_string(
                    {name: secret.secret_arn for name, secret in service_secrets.items()}
                ),
                "LMS_SIGNING_KEY_SECRET_ARN": signing_key.secret_arn,
                # Through the proxy rather than to the writer endpoint: the proxy's
                # certificate chains to a public root the runtime trusts, so TLS is
                # verified without shipping the RDS certificate bundle. DDL, the
                # advisory lock and ALTER ROLE work through it (the session is pinned).
                "LMS_DB_HOST": shared.read(self, stage, shared.PROXY_ENDPOINT),
                "POWERTOOLS_SERVICE_NAME": "migration",
                "POWERTOOLS_METRICS_NAMESPACE": stage.metrics_namespace,
                "POWERTOOLS_LOG_LEVEL": stage.log_level,
            },
        )
        self.function = built.function
        admin_secret.grant_read(self.function)
        for secret in service_secrets.values():
            secret.grant_read(self.function)
        signing_key.grant_read(self.function)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="CreateSigningKey",
                actions=["secretsmanager:PutSecretValue"],
                resources=[signing_key.secret_arn],
            )
        )
        self.trigger = triggers.Trigger(
            self,
            "Run",
            handler=self.function,
            timeout=TIMEOUT,
            execute_on_handler_change=True,
            # The function cannot reach the proxy before its ingress rule exists.
            execute_after=[self.to_proxy],
        )

    def _secret(self, construct_id: str, stage: Stage, key: str) -> secretsmanager.ISecret:
        return secretsmanager.Secret.from_secret_complete_arn(
            self, construct_id, shared.read(self, stage, key)
        )
