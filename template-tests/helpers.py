"""Reading CloudFormation references in synthesized templates."""

from __future__ import annotations

from typing import Any

from conftest import Resource, Synth


def ref(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def render(value: Any) -> str:
    """A template value as text: ``Fn::Join`` joined, ``Ref``/``GetAtt`` as ``<id>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(render(v) for v in value)
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(render(p) for p in parts)
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<{'.'.join(map(str, value['Fn::GetAtt']))}>"
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return str(sub if isinstance(sub, str) else sub[0])
    return str(value)


def our_functions(synth: Synth) -> list[Resource]:
    """Functions whose code is the project's (not CDK's own custom-resource providers)."""
    return [
        r
        for r in synth.resources("AWS::Lambda::Function")
        if str(r.properties.get("Handler", "")).startswith(("functions.", "lms_platform."))
    ]


def function_by_handler(synth: Synth, handler: str) -> Resource:
    matches = [r for r in our_functions(synth) if r.properties["Handler"] == handler]
    assert len(matches) == 1, f"{len(matches)} functions with handler {handler}"
    return matches[0]


def function_by_name(synth: Synth, name: str) -> Resource:
    matches = [r for r in our_functions(synth) if r.properties.get("FunctionName") == name]
    assert len(matches) == 1, f"{len(matches)} functions named {name}"
    return matches[0]


def environment(function: Resource) -> dict[str, Any]:
    return dict(function.properties["Environment"]["Variables"])


def policy_statements(synth: Synth, function: Resource) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to ``function``'s role."""
    role = ref(function.properties["Role"])
    statements = []
    for policy in synth.resources("AWS::IAM::Policy", stack=function.stack):
        if role in {ref(r) for r in policy.properties["Roles"]}:
            statements += policy.properties["PolicyDocument"]["Statement"]
    return statements


def all_statements(synth: Synth) -> list[tuple[Resource, dict[str, Any]]]:
    """Every IAM statement of the assembly: identity policies (inline and role) and the
    resource policies (keys, buckets, queues, topics)."""
    found: list[tuple[Resource, dict[str, Any]]] = []
    for resource in synth.all_resources():
        props = resource.properties
        documents = []
        if resource.type == "AWS::IAM::Policy":
            documents.append(props["PolicyDocument"])
        elif resource.type == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif resource.type == "AWS::KMS::Key":
            documents.append(props["KeyPolicy"])
        elif resource.type in {
            "AWS::S3::BucketPolicy",
            "AWS::SQS::QueuePolicy",
            "AWS::SNS::TopicPolicy",
        }:
            documents.append(props["PolicyDocument"])
        for document in documents:
            found += [(resource, s) for s in document["Statement"]]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def stack_kind(synth: Synth, stack: str) -> str:
    return stack.removeprefix(f"lms-{synth.stage}-")
