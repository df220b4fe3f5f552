"""cdk-nag (AwsSolutions) findings that are accepted, each with its reason.

Acknowledgements are made on the narrowest construct that causes the finding, right
where it is created, so a new resource of the same kind is checked afresh.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept finding ``rule`` (e.g. ``AwsSolutions-L1``) on ``scope`` and below."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{rule}", reason=reason))


def lambda_function(function: lambda_.Function) -> None:
    """What every function of the app shares: the runtime pin and the execution role."""
    acknowledge(
        function,
        "AwsSolutions-L1",
        "Python 3.12 on purpose: the dependency layer's wheels and the bytecode in every "
        "asset are built for exactly this version (infra/assets.py RUNTIME); moving on is "
        "one constant once the build machines have the newer interpreter.",
    )
    acknowledge(
        function,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        "Only logs:CreateLogGroup/CreateLogStream/PutLogEvents, which every function needs "
        "for its own log group; AWS keeps the managed policy current.",
    )
    acknowledge(
        function,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaVPCAccessExecutionRole]",
        "The ENI permissions Lambda needs to attach a function to the VPC (they accept no "
        "resource narrower than *); required because every function reaches RDS Proxy.",
    )
