"""workflows/missing-permissions, workflows/excessive-permissions, workflows/id-token-workflow-level."""

from __future__ import annotations

from tests.scanners.workflows.workflows_testlib import hits, scan

MISSING = "workflows/missing-permissions"
EXCESSIVE = "workflows/excessive-permissions"
ID_TOKEN = "workflows/id-token-workflow-level"


def test_missing_block_names_the_jobs_without_permissions() -> None:
    findings = scan("cases/permissions-missing-bad.yml")
    assert hits(findings, MISSING) == [(1, "medium")]
    f = next(f for f in findings if f.rule_id == MISSING)
    assert f.properties["jobs"] == ["test"]  # `docs` sets its own


def test_write_all_workflow_level_writes_and_id_token() -> None:
    findings = scan("cases/permissions-excessive-bad.yml")
    assert hits(findings, EXCESSIVE) == [(8, "medium"), (10, "medium"), (20, "high")]
    assert hits(findings, ID_TOKEN) == [(9, "medium")]


def test_id_token_in_a_job_of_a_pull_request_target_workflow() -> None:
    assert hits(scan("cases/permissions-pr-target-bad.yml"), ID_TOKEN) == [(13, "high")]


def test_scoped_permissions_and_reusable_workflows_pass() -> None:
    for name in ("cases/permissions-good.yml", "cases/permissions-reusable-good.yml"):
        findings = scan(name)
        assert hits(findings, MISSING) == [], name
        assert hits(findings, EXCESSIVE) == [], name
        assert hits(findings, ID_TOKEN) == [], name
