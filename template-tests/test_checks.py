"""cfn-lint and cdk-nag over the synthesized templates of both stages."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Synth


def test_cfn_lint_finds_no_error_and_no_w3005(any_synth: Synth) -> None:
    from cfnlint.api import ManualArgs, lint_file

    templates = sorted(any_synth.outdir.glob("*.template.json"))
    assert len(templates) == len(any_synth.templates)
    findings = []
    for template in templates:
        for match in lint_file(template, config=ManualArgs(regions=["us-east-1"])):
            # W3005: a DependsOn that a reference already implies (redundant ordering).
            if match.rule.id.startswith("E") or match.rule.id == "W3005":
                findings.append(f"{template.name}: {match}")
    assert findings == []


def test_cdk_nag_passed_and_every_acknowledgement_has_a_reason(any_synth: Synth) -> None:
    reports = {r["pluginName"]: r for r in any_synth.validation_report()["pluginReports"]}
    assert "AwsSolutions" in reports
    for name, report in reports.items():
        assert report["conclusion"] == "success", name
        assert report["violations"] == [], name
    acknowledged = reports["AwsSolutions"]["suppressedViolations"]
    assert acknowledged
    for finding in acknowledged:
        assert finding["acknowledgedId"].startswith("AwsSolutions::AwsSolutions-")
        assert len(finding["reason"]) > 40, finding["acknowledgedId"]


def test_an_unacknowledged_finding_fails_synthesis(tmp_path: Path) -> None:
    import aws_cdk as cdk
    from aws_cdk import Validations
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe")
    sqs.Queue(stack, "PlainQueue")  # no DLQ, no TLS-only policy: AwsSolutions findings
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        app.synth()
    assert "AwsSolutions-SQS4" in str(failure.value)
