"""The migration function, run by the deployment before any function that uses the schema.

It creates each service's schema and login role, applies the Alembic revisions, sets the
roles' passwords from the services' secrets, and puts an RSA key in the signing-key
secret the first time (``lms_platform.deploy``). A ``Trigger`` runs it whenever its code
or configuration changes: a new revision, a new service, a new secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Stack, triggers
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import assets, nag
from infra.data import allow_to_proxy
from infra.network import ISOLATED

HANDLER = "lms_platform.deploy.handler"
TIMEOUT = Duration.minutes(5)


class Migration(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        proxy: rds.IDatabaseProxy,
        proxy_security_group: ec2.ISecurityGroup,
        admin_secret: secretsmanager.ISecret,
        service_secrets: Mapping[str, secretsmanager.ISecret],
        signing_key: secretsmanager.ISecret,
        layers: assets.Layers,
        execute_after: Sequence[Construct] = (),
        execute_before: Sequence[Construct] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, description="The migration function"
        )
        allow_to_proxy(self, proxy_security_group, security_group)
        self.function = lambda_.Function(
            self,
            "Function",
            description="Schemas, roles, migrations and the signing key of every service",
            runtime=assets.RUNTIME,
            architecture=assets.ARCHITECTURE,
            handler=HANDLER,
            code=assets.all_services_code(),
            layers=layers.all,
            memory_size=512,
            timeout=TIMEOUT,
            vpc=vpc,
            vpc_subnets=ISOLATED,
            security_groups=[security_group],
            environment={
                "LMS_ADMIN_SECRET_ARN": admin_secret.secret_arn,
                "LMS_SERVICE_SECRETS": Stack.of(self).to_json_string(
                    {name: secret.secret_arn for name, secret in service_secrets.items()}
                ),
                "LMS_SIGNING_KEY_SECRET_ARN": signing_key.secret_arn,
                # Through the proxy rather than to the writer endpoint: the proxy's
                # certificate chains to a public root the runtime trusts, so TLS is
                # verified without shipping the RDS certificate bundle. DDL, the
                # advisory lock and ALTER ROLE work through it (the session is pinned).
                "LMS_DB_HOST": proxy.endpoint,
                "POWERTOOLS_SERVICE_NAME": "migration",
            },
            log_group=logs.LogGroup(self, "FunctionLogs", retention=logs.RetentionDays.ONE_MONTH),
        )
        nag.lambda_function(self.function)
        admin_secret.grant_read(self.function)
        for secret in service_secrets.values():
            secret.grant_read(self.function)
        signing_key.grant_read(self.function)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
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
            execute_after=list(execute_after),
            execute_before=list(execute_before),
        )
