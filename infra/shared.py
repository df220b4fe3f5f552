"""How one stack reads what another stack made: SSM parameters and stable names, no exports.

A CloudFormation export cannot change, nor its resource be replaced, while another stack
imports it: every service stack importing the proxy's endpoint would freeze the data
stack. So a stack never refers to another stack's resource directly (a template test finds
no ``Fn::ImportValue`` and no export anywhere). Instead:

- a value AWS chooses (VPC and subnet ids, the proxy's endpoint and security group, secret
  ARNs with their random suffix, the API's id and its authorizer's) is written by the
  stack that owns the resource into an SSM parameter ``/lms/<stage>/...``, and read by the
  others as a CloudFormation parameter of type ``AWS::SSM::Parameter::Value<String>``,
  which CloudFormation resolves again on every deployment of the reading stack;
- a value we choose (the bus, the alarm topic, the content bucket, cluster and proxy
  names in metric dimensions) is rebuilt from the stage's names (``infra.stage``).

The owning stack may then replace or change the resource; the readers pick the new value
up on their next deployment (``cdk deploy --all`` deploys them after it). The order
between stacks is declared with explicit stack dependencies.
"""

from __future__ import annotations

from aws_cdk import Aws, Fn, Stack
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.stage import Stage

# Parameter keys: /lms/<stage>/<key>.
VPC_ID = "network/vpc-id"
ISOLATED_SUBNET_IDS = "network/isolated-subnet-ids"  # comma-separated, one per zone
PROXY_ENDPOINT = "database/proxy-endpoint"
PROXY_SECURITY_GROUP_ID = "database/proxy-security-group-id"
ADMIN_SECRET_ARN = "database/admin-secret-arn"  # noqa: S105 (a parameter key)
SIGNING_KEY_SECRET_ARN = "auth/signing-key-secret-arn"  # noqa: S105 (a parameter key)
API_ID = "api/id"
API_ENDPOINT = "api/endpoint"
AUTHORIZER_ID = "api/authorizer-id"


def role_secret_arn(service: str) -> str:
    """The key of the parameter holding the ARN of ``service``'s database-role secret."""
    return f"database/{service}/secret-arn"


def publish(scope: Construct, stage: Stage, key: str, value: str, description: str) -> None:
    ssm.StringParameter(
        scope,
        "Parameter" + "".join(part.title() for part in key.replace("-", "/").split("/")),
        parameter_name=stage.parameter_name(*key.split("/")),
        string_value=value,
        description=f"lms {stage.name}: {description}",
    )


def read(scope: Construct, stage: Stage, key: str) -> str:
    """The parameter's value, resolved when the reading stack deploys."""
    return ssm.StringParameter.value_for_string_parameter(
        scope, stage.parameter_name(*key.split("/"))
    )


def read_list(scope: Construct, stage: Stage, key: str, length: int) -> list[str]:
    return Fn.split(",", read(scope, stage, key), length)


# --- stable names ---------------------------------------------------------------------------


def bus_name(stage: Stage) -> str:
    from lms_platform import topology

    return topology.event_bus(stage.name)


def bus_arn(scope: Construct, stage: Stage) -> str:
    return Stack.of(scope).format_arn(
        service="events", resource="event-bus", resource_name=bus_name(stage)
    )


def alarm_topic_name(stage: Stage) -> str:
    return stage.resource_name("alarms")


def alarm_topic_arn(scope: Construct, stage: Stage) -> str:
    return Stack.of(scope).format_arn(service="sns", resource=alarm_topic_name(stage))


def content_bucket_name(stage: Stage) -> str:
    # Bucket names are global: the account and region make the stage's bucket unique.
    return f"{stage.resource_name('content')}-{Aws.ACCOUNT_ID}-{Aws.REGION}"


def cluster_identifier(stage: Stage) -> str:
    return stage.resource_name()


def proxy_name(stage: Stage) -> str:
    return stage.resource_name()
