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


def test_composite_action_inputs_are_low() -> None:
    # Only people with write access (the workflows that use the action) set its inputs.
    findings = scan("cases/composite/action.yml")
    assert hits(findings, RULE) == [(22, "low")]
    assert "only people with write access set" in next(f for f in findings if f.rule_id == RULE).message
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


def test_ref_names_and_dispatch_inputs_are_low(tmp_path: Path) -> None:
    wf = tmp_path / "release.yml"
    wf.write_text(
        "on:\n  push:\n    tags: ['v*']\n  workflow_dispatch:\n    inputs:\n      notes:\n        type: string\n"
        "permissions: {}\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: ./release.sh ${{ github.ref_name }}\n"
        "      - run: echo ${{ inputs.notes }} ${{ github.event.inputs.notes }}\n"
    )
    findings = scan_path(wf)
    # Dispatching a workflow needs write access: its free-text inputs are the maintainers' own text.
    assert hits(findings, RULE) == [(13, "low"), (14, "low"), (14, "low")]
    assert all("only people with write access set" in f.message for f in findings if f.start_line == 14)


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


def test_reusable_workflow_inputs_are_low(tmp_path: Path) -> None:
    wf = tmp_path / "deploy.yml"
    wf.write_text(
        "on:\n  workflow_call:\n    inputs:\n      image_tag:\n        type: string\n        required: true\n"
        "      cluster_name:\n        type: string\n        default: kfp\n"
        "permissions: {}\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n"
        "      CLUSTER: ${{ inputs.cluster_name }}\n    steps:\n"
        "      - run: |\n"
        "          kind load docker-image ghcr.io/org/api:${{ inputs.image_tag }} --name ${{ env.CLUSTER }}\n"
    )
    findings = scan_path(wf)
    assert hits(findings, RULE) == [(18, "low"), (18, "low")]
    assert [f.properties["context"] for f in findings if f.rule_id == RULE] == [
        "inputs.image_tag",
        "inputs.cluster_name",
    ]


PATHS_FILTER = """\
name: E2E
on:
  pull_request:
    paths: ["charts/**", "pkg/**"]
permissions:
  contents: read
jobs:
  changes:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - id: filter
        uses: dorny/paths-filter@de90cc6fb38fc0963ad72b210f1f284cd68cea36 # v3.0.2
        with:
          list-files: shell
          filters: |
            charts:
              - 'charts/**'
            code:
              - 'pkg/**'
      - id: meta
        uses: docker/metadata-action@902fa8ec7d6ecbf8d84d538b9b233a880e428804 # v5.7.0
        with:
          images: ghcr.io/example/server
      - id: changed
        uses: tj-actions/changed-files@ed68ef82c095e0d48ec87eccea555d944a631a4c # v46.0.5
      - id: co
        uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - id: py
        uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0
        with:
          python-version: "3.11"
      - name: Decide what to test
        run: |
          echo "charts=${{ steps.filter.outputs.charts }} code=${{ steps.filter.outputs.code }}"
          echo "changed=${{ steps.filter.outputs.changes }}"
          [ ${{ steps.changed.outputs.any_changed }} = true ] && n=${{ steps.changed.outputs.all_changed_files_count }}
          docker build -t "${{ steps.meta.outputs.tags }}" --build-arg V=${{ steps.meta.outputs.version }} .
          echo "${{ steps.co.outputs.commit }} ${{ steps.py.outputs.python-version }} ${{ steps.py.outputs.cache-hit }}"
      - name: Lint what changed
        run: |
          ruff check ${{ steps.filter.outputs.code_files }}
          ruff check ${{ steps.changed.outputs.all_changed_files }}
          echo '${{ steps.meta.outputs.labels }}'
"""


def test_bounded_outputs_of_common_actions_are_not_attacker_text(tmp_path: Path) -> None:
    wf = tmp_path / "e2e.yml"
    wf.write_text(PATHS_FILTER)
    findings = [f for f in scan_path(wf) if f.rule_id == RULE]
    # paths-filter flags and `changes`, changed-files `any_*` and counts, metadata tags and version,
    # checkout and setup-python outputs: none reported. File lists and metadata labels are.
    assert hits(findings, RULE) == [(42, "high"), (43, "high"), (44, "low")]
    assert [f.properties["via"] for f in findings] == [
        "steps.filter.outputs.code_files",
        "steps.changed.outputs.all_changed_files",
        "steps.meta.outputs.labels",
    ]


def test_pull_request_text_passed_to_a_local_action_that_expands_it(tmp_path: Path) -> None:
    # The action's own `inputs.*` finding is low; the caller that feeds it a branch name is not.
    action = tmp_path / ".github" / "actions" / "fetch-model" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text(
        "name: Fetch model\ninputs:\n  model-id:\n    required: true\n  revision:\n    default: main\n"
        "runs:\n  using: composite\n  steps:\n"
        '    - shell: bash\n      run: hub download "${{ inputs.model-id }}"\n'
        '    - shell: bash\n      env:\n        REV: ${{ inputs.revision }}\n      run: hub checkout "$REV"\n'
    )
    wf = tmp_path / ".github" / "workflows" / "smoke.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(
        "on: pull_request\npermissions: {}\njobs:\n  smoke:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: ./.github/actions/fetch-model\n        with:\n"
        "          model-id: ${{ github.event.pull_request.head.ref }}\n"
        "          revision: ${{ github.event.pull_request.title }}\n"
    )
    findings = scan_path(wf, rel=".github/workflows/smoke.yml")
    # `revision` only reaches the action's script through an environment variable: safe.
    assert hits(findings, RULE) == [(9, "high")]
    assert "local action `./.github/actions/fetch-model`" in next(f for f in findings if f.rule_id == RULE).message
    assert hits(scan_path(action, rel=".github/actions/fetch-model/action.yml"), RULE) == [(11, "low")]
