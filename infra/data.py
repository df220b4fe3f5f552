"""The database, its secrets, and the content bucket.

One Aurora PostgreSQL Serverless v2 cluster behind RDS Proxy (TLS required, SCRAM). Each
service logs in as its own role (``lms_<service>``) with its own secret; the proxy knows
every one of them. The migration function sets those roles' passwords from the secrets,
so the secrets are the only place a password is ever chosen.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import nag
from infra.network import ISOLATED
from lms_platform import topology
from lms_platform.service import Service

DATABASE_NAME = "lms"
ADMIN_USER = "lms_admin"
CLUSTER_ID = "lms"
# RDS Proxy listens on the engine family's port, whatever the cluster's.
PROXY_PORT = 5432
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_7
# Characters that would need quoting in a URL or a shell; RDS refuses / @ " and space.
ROLE_ROTATION_REASON = (
    "Database role passwords are set from these secrets by the migration function on "
    "each deployment; a rotation Lambda would need the same per-role grants and search "
    "path (migrations.provision) and NAT-free access, so rotation is a planned change, "
    "not a default. Only functions of the owning service can read a role's secret."
)
UNSAFE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\,=^"


class Data(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc, services: tuple[Service, ...]
    ) -> None:
        super().__init__(scope, construct_id)
        # Created before the cluster so that it carries a retention (RDS would make it
        # without one on first export).
        postgres_logs = logs.LogGroup(
            self,
            "PostgresLogs",
            log_group_name=f"/aws/rds/cluster/{CLUSTER_ID}/postgresql",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            cluster_identifier=CLUSTER_ID,
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION),
            credentials=rds.Credentials.from_generated_secret(
                ADMIN_USER,
                secret_name="lms/db/admin",  # noqa: S106 (a name, not a password)
                exclude_characters=UNSAFE_CHARACTERS,
            ),
            default_database_name=DATABASE_NAME,
            writer=rds.ClusterInstance.serverless_v2("Writer"),
            serverless_v2_min_capacity=0.5,
            serverless_v2_max_capacity=8,
            vpc=vpc,
            vpc_subnets=ISOLATED,
            storage_encrypted=True,
            backup=rds.BackupProps(retention=Duration.days(7)),
            deletion_protection=True,
            removal_policy=RemovalPolicy.SNAPSHOT,
            iam_authentication=True,
            cloudwatch_logs_exports=["postgresql"],
            copy_tags_to_snapshot=True,
        )
        self.cluster.node.add_dependency(postgres_logs)
        assert self.cluster.secret is not None
        self.admin_secret = self.cluster.secret
        nag.acknowledge(
            self.cluster.node.find_child("Secret"), "AwsSolutions-SMG4", ROLE_ROTATION_REASON
        )

        self.service_secrets: dict[str, secretsmanager.ISecret] = {}
        for service in services:
            secret = rds.DatabaseSecret(
                self,
                f"{service.name.capitalize()}Secret",
                username=service.role,
                dbname=DATABASE_NAME,
                secret_name=f"lms/db/{service.name}",
                exclude_characters=UNSAFE_CHARACTERS,
            )
            nag.acknowledge(secret, "AwsSolutions-SMG4", ROLE_ROTATION_REASON)
            # Adds host, port and engine of the cluster to the secret's JSON.
            self.service_secrets[service.name] = secret.attach(self.cluster)

        self.proxy_security_group = ec2.SecurityGroup(
            self, "ProxySecurityGroup", vpc=vpc, description="RDS Proxy of the lms database"
        )
        self.proxy = self.cluster.add_proxy(
            "Proxy",
            security_groups=[self.proxy_security_group],
            db_proxy_name="lms",
            vpc=vpc,
            vpc_subnets=ISOLATED,
            secrets=[self.admin_secret, *self.service_secrets.values()],
            require_tls=True,
            client_password_auth_type=rds.ClientPasswordAuthType.POSTGRES_SCRAM_SHA_256,
            # The platform keeps one connection per execution environment; the proxy
            # multiplexes them onto few database connections.
            idle_client_timeout=Duration.minutes(30),
        )
        self.cluster.connections.allow_default_port_from(self.proxy, "RDS Proxy to the cluster")

        # A placeholder until the migration function replaces it with an RSA private key
        # (CloudFormation cannot generate one); generated once, so the key survives updates.
        self.signing_key = secretsmanager.Secret(
            self,
            "SigningKey",
            secret_name="lms/jwt/signing-key",  # noqa: S106 (a name, not a password)
            description="PEM of the RSA key that signs access tokens (set by the migration)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=32
            ),
        )
        nag.acknowledge(
            self.signing_key,
            "AwsSolutions-SMG4",
            "Not a password: rotating the token-signing key means publishing the new key in "
            "the JWKS before signing with it, which Secrets Manager rotation cannot "
            "sequence; the key is replaced by a deliberate, staged change.",
        )


def allow_to_proxy(
    scope: Construct, proxy_security_group: ec2.ISecurityGroup, client: ec2.ISecurityGroup
) -> None:
    """Admit ``client`` to the proxy, the rule living in the client's (stateless) stack.

    Made explicitly so that the stateful stack never refers to the stateless one.
    """
    ec2.CfnSecurityGroupIngress(
        scope,
        "ToProxy",
        group_id=proxy_security_group.security_group_id,
        source_security_group_id=client.security_group_id,
        ip_protocol="tcp",
        from_port=PROXY_PORT,
        to_port=PROXY_PORT,
        description=f"{client.node.path} to RDS Proxy",
    )


class ContentStorage(Construct):
    """The bucket of course content (uploads through presigned URLs), and its access log."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            # Bucket names are global: the account and region make this one unique.
            bucket_name=f"{topology.CONTENT_BUCKET}-{Aws.ACCOUNT_ID}-{Aws.REGION}",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="content/",
            lifecycle_rules=[
                s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30)),
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
        )
