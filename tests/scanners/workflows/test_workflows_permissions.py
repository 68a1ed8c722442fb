"""workflows/missing-permissions, workflows/excessive-permissions, workflows/id-token-workflow-level."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.workflows.workflows_testlib import hits, scan, scan_path

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


UNUSED = "workflows/unused-write-permission"


def test_workflow_level_write_that_the_only_job_cannot_use() -> None:
    findings = scan("cases/permissions-unused-write-bad.yml")
    assert hits(findings, UNUSED) == [(10, "medium"), (11, "medium")]
    assert hits(findings, EXCESSIVE) == []
    assert "its only job `test` never uses the token" in next(f for f in findings if f.rule_id == UNUSED).message


def test_workflow_level_write_that_the_only_job_uses_passes() -> None:
    findings = scan("cases/permissions-unused-write-good.yml")
    assert hits(findings, UNUSED) == []
    assert hits(findings, EXCESSIVE) == []


def test_workflow_level_write_every_job_writes_with_is_not_excessive() -> None:
    # actions/stale writes issues and pull requests in both jobs; `gh issue edit` writes issues.
    findings = scan("cases/permissions-all-jobs-write-good.yml")
    assert hits(findings, EXCESSIVE) == [(10, "medium")]  # `relabel` never touches pull requests


def test_unknown_actions_and_explicit_tokens_get_the_benefit_of_the_doubt(tmp_path: Path) -> None:
    wf = tmp_path / "docs.yml"
    wf.write_text(
        "on: push\npermissions:\n  contents: write\njobs:\n  docs:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: acme/publish-docs@v1\n"
    )
    assert hits(scan_path(wf), UNUSED) == []
    wf.write_text(
        "on: push\npermissions:\n  contents: write\njobs:\n  docs:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: ./publish.sh\n        env:\n          TOKEN: ${{ secrets.GITHUB_TOKEN }}\n"
    )
    assert hits(scan_path(wf), UNUSED) == []


def test_reusable_workflow_also_dispatched_says_callers_permissions_apply(tmp_path: Path) -> None:
    wf = tmp_path / "e2e.yml"
    wf.write_text(
        "on:\n  workflow_call:\n    inputs:\n      k8s_version:\n        type: string\n  workflow_dispatch:\n"
        "jobs:\n  e2e:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make e2e\n"
    )
    f = next(f for f in scan_path(wf) if f.rule_id == MISSING)
    assert "inherit the caller's token permissions when called through `workflow_call`" in f.message
    assert "on workflow_dispatch they run with the repository's default token permissions" in f.message
