"""workflows/template-injection."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.workflows.workflows_testlib import hits, scan, scan_path

RULE = "workflows/template-injection"


def test_attacker_contexts_in_run_and_github_script_are_critical_under_privileged_triggers() -> None:
    findings = scan("cases/template-injection-bad.yml")
    assert hits(findings, RULE) == [
        (23, "critical"),  # pull_request.title in a block scalar, second line
        (25, "critical"),  # github.head_ref
        (30, "critical"),  # comment.body inside actions/github-script
        (33, "critical"),  # toJSON of the whole pull_request object
        (35, "critical"),  # env indirection to pull_request.body
        (39, "critical"),  # file names from tj-actions/changed-files
        (43, "critical"),  # azure/cli runs its inlineScript input
    ]
    by_line = {f.start_line: f for f in findings if f.rule_id == RULE}
    assert by_line[23].properties["context"] == "github.event.pull_request.title"
    assert by_line[23].start_column == 24  # points at the `${{`
    assert by_line[35].properties["via"] == "env.pr_body"
    assert by_line[35].properties["confidence"] == "medium"
    assert by_line[39].properties["context"] == "tj-actions/changed-files output"
    assert "secrets and a write token" in by_line[30].message
    assert "`inlineScript:` script input" in by_line[43].message
    assert by_line[23].snippet.startswith('echo "Title: ${{ github.event.pull_request.title }}"')


def test_env_passing_booleans_typed_inputs_and_non_script_inputs_are_safe() -> None:
    assert hits(scan("cases/template-injection-good.yml"), RULE) == []


def test_composite_action_inputs_are_medium() -> None:
    findings = scan("cases/composite/action.yml")
    assert hits(findings, RULE) == [(22, "medium")]
    assert hits(scan("cases/composite-good/action.yml"), RULE) == []


def test_attacker_text_under_plain_pull_request_is_high(tmp_path: Path) -> None:
    wf = tmp_path / "ci.yml"
    wf.write_text(
        "on: pull_request\npermissions: {}\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: >-\n          echo ${{ github.event.pull_request.head.ref }}\n"
        "      - run: echo '${{ github.event.issue.title == 'x' || github.event.pull_request.body }}'\n"
        "      - run: echo ${{ github.event['pull_request']['title'] }} ${{ github.ref_name }}\n"
    )
    findings = scan_path(wf)
    assert hits(findings, RULE) == [(8, "high"), (9, "high"), (10, "high"), (10, "low")]
    assert [f.properties["context"] for f in findings if f.rule_id == RULE] == [
        "github.event.pull_request.head.ref",
        "github.event.pull_request.body",
        "github.event.pull_request.title",
        "github.ref_name",
    ]


def test_ref_names_and_free_inputs_are_low_and_medium(tmp_path: Path) -> None:
    wf = tmp_path / "release.yml"
    wf.write_text(
        "on:\n  push:\n    tags: ['v*']\n  workflow_dispatch:\n    inputs:\n      notes:\n        type: string\n"
        "permissions: {}\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: ./release.sh ${{ github.ref_name }}\n"
        "      - run: echo ${{ inputs.notes }} ${{ github.event.inputs.notes }}\n"
    )
    findings = scan_path(wf)
    assert hits(findings, RULE) == [(13, "low"), (14, "medium"), (14, "medium")]


def test_edited_text_fork_workflow_names_labels_and_safe_identifiers(tmp_path: Path) -> None:
    wf = tmp_path / "edited.yml"
    wf.write_text(
        "on:\n  pull_request_target:\n    types: [edited, labeled]\n  workflow_run:\n    workflows: [CI]\n"
        "permissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.changes.body.from }} ${{ github.event.workflow_run.name }}\n"
        "      - run: echo ${{ github.event.label.name }}\n"
        "      - run: echo ${{ github.actor }} ${{ github.event.pull_request.head.repo.full_name }} "
        "${{ github.event.pull_request.user.login }} ${{ github.event.workflow_run.head_sha }}\n"
    )
    findings = scan_path(wf)
    assert hits(findings, RULE) == [(11, "critical"), (11, "critical"), (12, "low")]
