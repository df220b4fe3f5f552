"""CDK's own custom-resource providers (the migration trigger, the dev bucket's emptying),
without the ``AWSLambdaBasicExecutionRole`` managed policy (nor a redundant DependsOn).

CDK gives their roles that policy, which may write to every log group of the account.
Their functions are named by CloudFormation after the stack (``<stack>-<id>-<random>``), so
a statement on ``/aws/lambda/<stack>-*`` is what they need and all they get.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, CfnResource, CustomResourceProviderBase, Stack


def narrow_log_permissions(stack: Stack) -> list[str]:
    """Replace the managed policy of every CDK provider in ``stack``; their paths."""
    narrowed = []
    for child in stack.node.children:
        if not isinstance(child, CustomResourceProviderBase):
            continue
        role = child.node.find_child("Role")
        assert isinstance(role, CfnResource) and role.cfn_resource_type == "AWS::IAM::Role"
        role.add_property_deletion_override("ManagedPolicyArns")
        handler = child.node.find_child("Handler")
        assert isinstance(handler, CfnResource)
        # The handler's GetAtt of the role already orders them (cfn-lint W3005).
        handler.add_deletion_override("DependsOn")
        child.add_to_role_policy(
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=f"/aws/lambda/{stack.stack_name}-*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
            }
        )
        narrowed.append(child.node.path)
    return narrowed
