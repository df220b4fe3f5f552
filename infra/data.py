"""The database, its secrets, and the content bucket.

One Aurora PostgreSQL Serverless v2 cluster behind RDS Proxy (TLS required, SCRAM). Each
service logs in as its own role (``lms_<service>``) with its own secret; the proxy knows
every one of them. The migration function sets those roles' passwords from the secrets,
so the secrets are the only place a password is ever chosen.

Secrets get names CloudFormation generates: a destroyed stage's secrets are gone at once
(CloudFormation deletes them without a recovery window) and a re-created stage never asks
for a name that a pending deletion or a retained production secret still holds. Functions
find them by ARN (SSM parameters, ``infra/shared.py``).

The proxy's pool. Aurora PostgreSQL Serverless v2 sets ``max_connections`` from the memory
of the cluster's maximum capacity, ``LEAST({DBInstanceClassMemory/9531392}, 5000)`` at
about 2 GiB per ACU, capped at 2,000 while the minimum capacity is 0 or 0.5 ACU (AWS,
"Maximum connections for Aurora Serverless v2"). The proxy may use
``max_connections_percent`` of that (80 by default: the rest is left to the migration, an
operator's psql and RDS's own sessions); ``max_idle_connections_percent`` of it stays
open when idle; a request waits at most ``borrow_timeout`` for a database connection (3 s
by default, well inside the 10 s of a route function, so that the caller still gets an
answer); idle client connections close after ``idle_client_timeout``.
"""

from __future__ import annotations

from itertools import pairwise

from aws_cdk import CfnResource, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

from infra import nag, shared
from infra.network import ISOLATED
from infra.stage import Stage
from lms_platform import topology
from lms_platform.service import Service

DATABASE_NAME = "lms"
ADMIN_USER = "lms_admin"
# RDS Proxy listens on the engine family's port, whatever the cluster's.
PROXY_PORT = 5432
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_7
ROLE_ROTATION_REASON = (
    "Database role passwords are set from these secrets by the migration function on "
    "each deployment; a rotation Lambda would need the same per-role grants and search "
    "path (migrations.provision) and NAT-free access, so rotation is a planned change, "
    "not a default. Only functions of the owning service can read a role's secret."
)
# Characters that would need quoting in a URL or a shell; RDS refuses / @ " and space.
UNSAFE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\,=^"

# AWS's table of max_connections for Aurora PostgreSQL Serverless v2, by maximum ACU.
_MAX_CONNECTIONS_BY_MAX_ACU = ((1.0, 189), (4.0, 823), (8.0, 1669), (16.0, 3360), (32.0, 5000))
_MAX_CONNECTIONS_CAP_AT_HALF_ACU_MINIMUM = 2000


def aurora_max_connections(min_acu: float, max_acu: float) -> int:
    """``max_connections`` of an Aurora PostgreSQL Serverless v2 writer with this range.

    AWS's table, interpolated between its rows (the formula is linear in memory).
    """
    points = _MAX_CONNECTIONS_BY_MAX_ACU
    if max_acu >= points[-1][0]:
        value = points[-1][1]
    elif max_acu <= points[0][0]:
        value = points[0][1]
    else:
        for (low_acu, low), (high_acu, high) in pairwise(points):
            if low_acu <= max_acu <= high_acu:
                value = round(low + (high - low) * (max_acu - low_acu) / (high_acu - low_acu))
                break
    if min_acu <= 0.5:
        value = min(value, _MAX_CONNECTIONS_CAP_AT_HALF_ACU_MINIMUM)
    return value


def proxy_connection_budget(stage: Stage) -> int:
    """How many database connections the proxy may hold for the stage's functions."""
    total = aurora_max_connections(stage.aurora_min_acu, stage.aurora_max_acu)
    return total * stage.proxy.max_connections_percent // 100


class Data(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: Stage,
        vpc: ec2.IVpc,
        secrets_endpoint: ec2.IInterfaceVpcEndpoint,
        services: tuple[Service, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        cluster_id = shared.cluster_identifier(stage)
        # Created before the cluster so that it carries a retention (RDS would make it
        # without one on first export).
        postgres_logs = logs.LogGroup(
            self,
            "PostgresLogs",
            log_group_name=f"/aws/rds/cluster/{cluster_id}/postgresql",
            retention=stage.log_retention,
            removal_policy=stage.removal_policy,
        )
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            cluster_identifier=cluster_id,
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION),
            credentials=rds.Credentials.from_generated_secret(
                ADMIN_USER, exclude_characters=UNSAFE_CHARACTERS
            ),
            default_database_name=DATABASE_NAME,
            writer=rds.ClusterInstance.serverless_v2("Writer"),
            serverless_v2_min_capacity=stage.aurora_min_acu,
            serverless_v2_max_capacity=stage.aurora_max_acu,
            vpc=vpc,
            vpc_subnets=ISOLATED,
            storage_encrypted=True,
            backup=rds.BackupProps(retention=Duration.days(stage.backup_retention_days)),
            deletion_protection=stage.production,
            # Production keeps a final snapshot; a dev stage goes entirely.
            removal_policy=RemovalPolicy.SNAPSHOT if stage.production else RemovalPolicy.DESTROY,
            iam_authentication=True,
            cloudwatch_logs_exports=["postgresql"],
            copy_tags_to_snapshot=True,
        )
        cluster_resource = self.cluster.node.default_child
        assert isinstance(cluster_resource, rds.CfnDBCluster)
        cluster_resource.add_resource_dependency(_cfn(postgres_logs))
        if not stage.production:
            nag.acknowledge(
                self.cluster,
                "AwsSolutions-RDS10",
                "A dev stage is torn down and deployed again at will; deletion protection "
                "is on for every stage marked production (-c lms:production=true).",
            )
        admin_secret = self.cluster.node.find_child("Secret")
        assert isinstance(admin_secret, secretsmanager.Secret)
        # The admin password of a production snapshot stays readable after a teardown.
        admin_secret.apply_removal_policy(stage.removal_policy)
        self.admin_secret: secretsmanager.ISecret = admin_secret
        nag.acknowledge(admin_secret, "AwsSolutions-SMG4", ROLE_ROTATION_REASON)

        self.service_secrets: dict[str, secretsmanager.ISecret] = {}
        for service in services:
            secret = rds.DatabaseSecret(
                self,
                f"{service.name.capitalize()}Secret",
                username=service.role,
                dbname=DATABASE_NAME,
                exclude_characters=UNSAFE_CHARACTERS,
            )
            secret.apply_removal_policy(stage.removal_policy)
            nag.acknowledge(secret, "AwsSolutions-SMG4", ROLE_ROTATION_REASON)
            # Adds host, port and engine of the cluster to the secret's JSON.
            self.service_secrets[service.name] = secret.attach(self.cluster)

        self.proxy_security_group = ec2.SecurityGroup(
            self,
            "ProxySecurityGroup",
            vpc=vpc,
            description=f"RDS Proxy of the {stage.prefix} database",
        )
        self.proxy = self.cluster.add_proxy(
            "Proxy",
            security_groups=[self.proxy_security_group],
            db_proxy_name=shared.proxy_name(stage),
            vpc=vpc,
            vpc_subnets=ISOLATED,
            secrets=[self.admin_secret, *self.service_secrets.values()],
            require_tls=True,
            client_password_auth_type=rds.ClientPasswordAuthType.POSTGRES_SCRAM_SHA_256,
            max_connections_percent=stage.proxy.max_connections_percent,
            max_idle_connections_percent=stage.proxy.max_idle_connections_percent,
            borrow_timeout=Duration.seconds(stage.proxy.borrow_timeout_seconds),
            idle_client_timeout=Duration.minutes(stage.proxy.idle_client_timeout_minutes),
        )
        # The proxy reads the role secrets through the Secrets Manager endpoint (no NAT):
        # it comes up after the endpoint, and so does everything that connects through it.
        self.proxy.node.add_dependency(secrets_endpoint)
        # The target group needs the writer; CDK also lists the cluster, which its Ref
        # already orders (cfn-lint W3005).
        target_group = self.proxy.node.find_child("ProxyTargetGroup")
        assert isinstance(target_group, rds.CfnDBProxyTargetGroup)
        writer = _cfn(self.cluster.node.find_child("Writer"))
        target_group.add_override("DependsOn", [writer.logical_id])
        self.cluster.connections.allow_default_port_from(self.proxy, "RDS Proxy to the cluster")

        # A placeholder until the migration function replaces it with an RSA private key
        # (CloudFormation cannot generate one); generated once, so the key survives updates.
        self.signing_key = secretsmanager.Secret(
            self,
            "SigningKey",
            description=(
                f"lms {stage.name}: PEM of the RSA key that signs access tokens "
                "(set by the migration)"
            ),
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=32
            ),
            removal_policy=stage.removal_policy,
        )
        nag.acknowledge(
            self.signing_key,
            "AwsSolutions-SMG4",
            "Not a password: rotating the token-signing key means publishing the new key in "
            "the JWKS before signing with it, which Secrets Manager rotation cannot "
            "sequence; the key is replaced by a deliberate, staged change.",
        )

        shared.publish(self, stage, shared.PROXY_ENDPOINT, self.proxy.endpoint, "RDS Proxy")
        shared.publish(
            self,
            stage,
            shared.PROXY_SECURITY_GROUP_ID,
            self.proxy_security_group.security_group_id,
            "the security group clients are admitted to RDS Proxy by",
        )
        shared.publish(
            self,
            stage,
            shared.ADMIN_SECRET_ARN,
            self.admin_secret.secret_arn,
            "the cluster's admin login (the migration function only)",
        )
        for name, role_secret in self.service_secrets.items():
            shared.publish(
                self,
                stage,
                shared.role_secret_arn(name),
                role_secret.secret_arn,
                f"the {name} service's database login",
            )
        shared.publish(
            self,
            stage,
            shared.SIGNING_KEY_SECRET_ARN,
            self.signing_key.secret_arn,
            "the key that signs access tokens",
        )


def _cfn(construct: IConstruct) -> CfnResource:
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource)
    return resource


def allow_to_proxy(
    scope: Construct, proxy_security_group_id: str, client: ec2.ISecurityGroup
) -> ec2.CfnSecurityGroupIngress:
    """Admit ``client`` to the proxy, the rule living in the client's own stack.

    Made explicitly so that the data stack never refers to a stack deployed after it.
    """
    return ec2.CfnSecurityGroupIngress(
        scope,
        "ToProxy",
        group_id=proxy_security_group_id,
        source_security_group_id=client.security_group_id,
        ip_protocol="tcp",
        from_port=PROXY_PORT,
        to_port=PROXY_PORT,
        description=f"{client.node.path} to RDS Proxy",
    )


class ContentStorage(Construct):
    """The bucket of course content (uploads through presigned URLs), and its access log.

    Per service that keeps files (``Service.bucket_prefix``), the lifecycle of its prefix
    lets nothing half-uploaded stay (``topology.content_lifecycle_rules``, the rules the
    local runtime sets too): uploads never completed expire with their older versions,
    multipart uploads never completed are aborted. Browsers may upload and download
    directly only from the origins a deployment names (``lms:cors-origins``).

    A production stage keeps both when torn down; a dev stage empties and deletes them, so
    that it can be deployed again at once under the same names.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: Stage,
        services: tuple[Service, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=stage.removal_policy,
            auto_delete_objects=not stage.production,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=shared.content_bucket_name(stage),
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="content/",
            lifecycle_rules=[
                s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30)),
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7)),
                *(
                    rule
                    for service in services
                    if service.bucket_prefix
                    for rule in _lifecycle(service.bucket_prefix)
                ),
            ],
            cors=[
                s3.CorsRule(
                    allowed_origins=list(stage.cors_origins),
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.PUT],
                    allowed_headers=list(topology.CONTENT_CORS_HEADERS),
                    exposed_headers=["ETag"],
                    max_age=topology.CORS_MAX_AGE_SECONDS,
                )
            ]
            if stage.cors_origins
            else None,
            removal_policy=stage.removal_policy,
            auto_delete_objects=not stage.production,
        )


def _lifecycle(prefix: str) -> list[s3.LifecycleRule]:
    """``topology.content_lifecycle_rules`` as CDK's lifecycle rules."""
    found = []
    for rule in topology.content_lifecycle_rules(prefix):
        condition = rule["Filter"].get("And") or rule["Filter"]
        tags = {t["Key"]: t["Value"] for t in condition.get("Tags", [])}
        found.append(
            s3.LifecycleRule(
                id=rule["ID"],
                prefix=condition["Prefix"],
                tag_filters=tags or None,
                expiration=Duration.days(rule["Expiration"]["Days"])
                if "Days" in rule.get("Expiration", {})
                else None,
                expired_object_delete_marker=rule.get("Expiration", {}).get(
                    "ExpiredObjectDeleteMarker"
                ),
                noncurrent_version_expiration=Duration.days(
                    rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
                )
                if "NoncurrentVersionExpiration" in rule
                else None,
                abort_incomplete_multipart_upload_after=Duration.days(
                    rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
                )
                if "AbortIncompleteMultipartUpload" in rule
                else None,
            )
        )
    return found
