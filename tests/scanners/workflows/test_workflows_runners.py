"""workflows/self-hosted-runner."""

from __future__ import annotations

from tests.scanners.workflows.workflows_testlib import hits, scan

RULE = "workflows/self-hosted-runner"


def test_self_hosted_on_pull_request() -> None:
    # The third job reaches `[self-hosted, gpu]` through `${{ matrix.runner }}`.
    assert hits(scan("cases/runners-bad.yml"), RULE) == [(12, "high"), (25, "high")]


def test_extra_labels_from_options() -> None:
    findings = scan("cases/runners-bad.yml", {"self_hosted_labels": ["A100"]})
    assert hits(findings, RULE) == [(12, "high"), (16, "high"), (25, "high")]


def test_trusted_triggers_and_disabled_jobs_pass() -> None:
    assert hits(scan("cases/runners-good.yml"), RULE) == []
    assert hits(scan("cases/runners-push-good.yml"), RULE) == []
