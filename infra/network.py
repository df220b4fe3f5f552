"""The VPC: isolated subnets only (no NAT, no internet route).

Functions in the VPC reach AWS APIs through endpoints: EventBridge (PutEvents) and
Secrets Manager (the Parameters and Secrets extension, and RDS Proxy reading the role
secrets) as interface endpoints, S3 as a gateway endpoint, and SQS as an interface
endpoint once a declared service sends itself tasks. Everything else they need is inside
the VPC (RDS Proxy).
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import nag, shared
from infra.stage import Stage

ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
AVAILABILITY_ZONES = 2


class Network(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: Stage, sends_tasks: bool
    ) -> None:
        super().__init__(scope, construct_id)
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            log_group_name=f"/aws/vpc/flow-logs/{stage.prefix}",
            retention=stage.log_retention,
            removal_policy=stage.removal_policy,
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=stage.prefix,
            max_azs=AVAILABILITY_ZONES,
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
        interfaces = [
            ("Events", ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE),
            ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
        ]
        if sends_tasks:
            interfaces.append(("Sqs", ec2.InterfaceVpcEndpointAwsService.SQS))
        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for name, service in interfaces:
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
            self.endpoints[name] = endpoint
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)

        subnet_ids = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        shared.publish(self, stage, shared.VPC_ID, self.vpc.vpc_id, "the VPC")
        shared.publish(
            self,
            stage,
            shared.ISOLATED_SUBNET_IDS,
            ",".join(subnet_ids.subnet_ids),
            "the isolated subnets, one per availability zone",
        )

    @property
    def secrets_endpoint(self) -> ec2.InterfaceVpcEndpoint:
        return self.endpoints["SecretsManager"]


def imported_vpc(scope: Construct, stage: Stage) -> ec2.IVpc:
    """The stage's VPC as another stack sees it (ids from SSM, zones from the context)."""
    from aws_cdk import Stack

    zones = Stack.of(scope).availability_zones[:AVAILABILITY_ZONES]
    return ec2.Vpc.from_vpc_attributes(
        scope,
        "Vpc",
        vpc_id=shared.read(scope, stage, shared.VPC_ID),
        availability_zones=zones,
        isolated_subnet_ids=shared.read_list(scope, stage, shared.ISOLATED_SUBNET_IDS, len(zones)),
    )
