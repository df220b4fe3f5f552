"""One Lambda function of the app, as every stack makes it.

Python 3.12 on arm64 in the isolated subnets, its own log group (named after the function,
the stage's retention), and its own role whose policy names that log group instead of
the ``AWSLambdaBasicExecutionRole`` managed policy (which may write to any log group).
The only statements with a wildcard resource are the ones AWS offers no narrower
resource for (``nag.WILDCARDS``): the network-interface actions Lambda needs to
attach a function to the VPC, and X-Ray's when tracing is on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import assets, nag
from infra.network import ISOLATED
from infra.stage import Stage

# argon2id hashing (register, login) wants >= 512 MB; more memory is also more CPU, which
# shortens every cold start.
MEMORY_MB = 512


class LmsFunction(Construct):
    """A function, its log group and its role (``.function``, ``.log_group``, ``.role``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: Stage,
        function_name: str,
        description: str,
        handler: str,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        timeout: Duration,
        environment: Mapping[str, str],
        params_and_secrets: lambda_.ParamsAndSecretsLayerVersion | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=stage.log_retention,
            removal_policy=stage.removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"The function {function_name}",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="OwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="VpcNetworkInterfaces",
                actions=sorted(nag.VPC_ACCESS_ACTIONS),
                resources=["*"],
            )
        )
        environment = dict(environment)
        if stage.tracing:
            environment["LMS_TRACING"] = "true"
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=assets.RUNTIME,
            architecture=assets.ARCHITECTURE,
            handler=handler,
            code=code,
            layers=list(layers),
            memory_size=MEMORY_MB,
            timeout=timeout,
            vpc=vpc,
            vpc_subnets=ISOLATED,
            security_groups=[security_group],
            environment=environment,
            params_and_secrets=params_and_secrets,
            log_group=self.log_group,
            role=self.role,
            tracing=lambda_.Tracing.ACTIVE if stage.tracing else lambda_.Tracing.DISABLED,
        )
        # The function waits for its policy (Lambda checks the network-interface actions
        # when it creates a VPC function); CDK also lists the role, which the function's
        # GetAtt already orders: a redundant DependsOn (cfn-lint W3005).
        function_resource = self.function.node.default_child
        policy = self.role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(function_resource, lambda_.CfnFunction)
        assert isinstance(policy, iam.CfnPolicy)
        function_resource.add_override("DependsOn", [policy.logical_id])
        nag.lambda_function(self)
