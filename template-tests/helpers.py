"""Reading CloudFormation references in synthesized templates."""

from __future__ import annotations

from typing import Any

from conftest import Synth


def ref(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def our_functions(synth: Synth) -> dict[str, dict[str, Any]]:
    """Functions whose code is the project's (not CDK's own custom-resource provider)."""
    return {
        logical_id: resource
        for logical_id, resource in synth.resources("AWS::Lambda::Function").items()
        if str(resource["Properties"].get("Handler", "")).startswith(
            ("functions.", "lms_platform.")
        )
    }


def function_by_handler(synth: Synth, handler: str) -> tuple[str, dict[str, Any]]:
    matches = [
        (logical_id, resource)
        for logical_id, resource in our_functions(synth).items()
        if resource["Properties"]["Handler"] == handler
    ]
    assert len(matches) == 1, f"{len(matches)} functions with handler {handler}"
    return matches[0]


def policy_statements(synth: Synth, function: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to ``function``'s role."""
    role = ref(function["Properties"]["Role"])
    statements = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if role in {ref(r) for r in policy["Properties"]["Roles"]}:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
