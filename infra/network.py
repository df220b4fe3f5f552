"""The VPC: isolated subnets only (no NAT, no internet route).

Functions in the VPC reach AWS APIs through endpoints: EventBridge (PutEvents) and
Secrets Manager (the Parameters and Secrets extension) as interface endpoints, S3 as a
gateway endpoint. Everything else they need is inside the VPC (RDS Proxy).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import nag

ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                )
            },
        )
        for name, service in (
            ("Events", ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE),
            ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
        ):
            # open=True admits HTTPS from the VPC's own CIDR, nothing wider.
            endpoint = self.vpc.add_interface_endpoint(
                name, service=service, subnets=ISOLATED, private_dns_enabled=True, open=True
            )
            nag.acknowledge(
                endpoint,
                "AwsSolutions-EC23",
                "The rule cannot read the CIDR token: the endpoint admits HTTPS from this "
                "VPC's own CIDR only (open=True), never 0.0.0.0/0.",
            )
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
