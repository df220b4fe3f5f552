"""cdk-nag (AwsSolutions) findings that are accepted, each with its reason, and the list of
every IAM statement the app grants on a wildcard resource, each with its reason.

Acknowledgements are made on the narrowest construct that causes the finding, right
where it is created, so a new resource of the same kind is checked afresh. A template
test fails on any statement whose resource is, or ends in, ``*`` that ``WILDCARDS`` does
not list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

from lms_platform.service import BucketAction

PACK = "AwsSolutions"

VPC_ENI_REASON = (
    "Lambda attaches a VPC function through network interfaces it creates with ids unknown "
    "in advance, and the EC2 Describe actions accept no resource but *: the actions of "
    "AWSLambdaVPCAccessExecutionRole, without its logs:* on every log group."
)
XRAY_REASON = (
    "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level "
    "permission; granted only while -c lms:tracing=true."
)
BUCKET_PREFIX_REASON = "Objects under the service's own prefix of the content bucket only."


@dataclass(frozen=True)
class Wildcard:
    """Statements of ``policy`` (a CloudFormation type) allowing some of ``actions`` on a
    resource matching ``resource`` (a regular expression over the rendered ARN)."""

    policy: str
    actions: frozenset[str]
    resource: str
    reason: str


VPC_ACCESS_ACTIONS = frozenset(
    {
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
)

WILDCARDS: tuple[Wildcard, ...] = (
    Wildcard("AWS::IAM::Policy", VPC_ACCESS_ACTIONS, r"\*", VPC_ENI_REASON),
    Wildcard(
        "AWS::IAM::Policy",
        frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"}),
        r"\*",
        XRAY_REASON,
    ),
    Wildcard(
        "AWS::IAM::Policy",
        # Every object action a service may declare (ListBucket is on the bucket itself).
        frozenset(f"s3:{a}" for a in get_args(BucketAction) if a != "ListBucket"),
        r"arn:<AWS::Partition>:s3:::lms-[a-z0-9-]+-content-<AWS::AccountId>-<AWS::Region>/[^*]+\*",
        BUCKET_PREFIX_REASON,
    ),
    Wildcard(
        "AWS::IAM::Role",
        frozenset({"lambda:InvokeFunction"}),
        r"<Migration\w+\.Arn>:\*",
        "CDK's trigger provider invokes the versions of the migration function (<arn>:*).",
    ),
    Wildcard(
        "AWS::IAM::Role",
        frozenset({"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}),
        r".*:log-group:/aws/lambda/lms-[a-z0-9-]+-\*",
        "A CDK provider's own log group, which CloudFormation names after the stack "
        "(infra/providers.py): in place of AWSLambdaBasicExecutionRole's every log group.",
    ),
    Wildcard(
        "AWS::KMS::Key",
        frozenset({"kms:*"}),
        r"\*",
        "CDK's default key policy: the account's IAM administers the key; in a key policy, "
        "* is this key.",
    ),
    Wildcard(
        "AWS::KMS::Key",
        frozenset({"kms:Decrypt", "kms:GenerateDataKey*"}),
        r"\*",
        "CloudWatch encrypts the alarm notifications it publishes to the stage's topic; in a "
        "key policy, * is this key.",
    ),
    Wildcard(
        "AWS::S3::BucketPolicy",
        frozenset({"s3:DeleteObject*", "s3:GetBucket*", "s3:List*", "s3:PutBucketPolicy"}),
        r"<\w+\.Arn>/\*",
        "CDK's provider empties a dev stage's own buckets on teardown (this bucket's objects), "
        "so that the stage can be deployed again at once under the same names.",
    ),
    Wildcard(
        "AWS::S3::BucketPolicy",
        frozenset({"s3:PutObject"}),
        r"<\w+\.Arn>/content/\*",
        "S3 server access logging writes the content bucket's access log under its prefix.",
    ),
)


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept finding ``rule`` (e.g. ``AwsSolutions-L1``) on ``scope`` and below."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{rule}", reason=reason))


def lambda_function(scope: IConstruct) -> None:
    """What every function of the app shares: the runtime pin and the VPC attachment."""
    acknowledge(
        scope,
        "AwsSolutions-L1",
        "Python 3.12 on purpose: the dependency layer's wheels and the bytecode in every "
        "asset are built for exactly this version (infra/assets.py RUNTIME); moving on is "
        "one constant once the build machines have the newer interpreter.",
    )
    acknowledge(scope, "AwsSolutions-IAM5[Resource::*]", f"{VPC_ENI_REASON} {XRAY_REASON}")
