"""workflows/dangerous-trigger and workflows/untrusted-checkout."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.workflows.workflows_testlib import hits, scan, scan_path

TRIGGER = "workflows/dangerous-trigger"
CHECKOUT = "workflows/untrusted-checkout"


def test_checkout_of_pr_head_followed_by_code_is_critical() -> None:
    findings = scan("cases/untrusted-checkout-bad.yml")
    assert hits(findings, TRIGGER) == [(4, "low")]
    assert hits(findings, CHECKOUT) == [(15, "critical")]
    f = next(f for f in findings if f.rule_id == CHECKOUT)
    assert f.properties == {"triggers": ["pull_request_target"], "runs_code": True, "same_repo_guard": False}
    assert "github.event.pull_request.head.sha" in f.message


def test_gh_pr_checkout_under_issue_comment() -> None:
    findings = scan("cases/untrusted-checkout-comment-bad.yml")
    assert hits(findings, CHECKOUT) == [(24, "high")]
    assert hits(findings, TRIGGER) == []  # issue_comment alone is not flagged as a trigger


def test_workflow_run_artifact_download_read_as_data_is_low_and_strict() -> None:
    # Downloading the untrusted run's artifact and running nothing from the workspace is how
    # results of fork pull requests are published safely: the artifact is data.
    findings = scan("cases/untrusted-artifact-bad.yml")
    assert hits(findings, TRIGGER) == [(4, "low")]
    assert hits(findings, CHECKOUT) == [(17, "low")]
    (f,) = [f for f in findings if f.rule_id == CHECKOUT]
    assert f.profile == "strict" and "read as data" in f.message


def test_workflow_run_artifact_then_workspace_code_or_job_env_stays_severe() -> None:
    findings = scan("cases/untrusted-artifact-exec-bad.yml")
    # `npm ci && npm run ...` runs the package.json the artifact may have replaced; `>> $GITHUB_ENV`
    # lets its content set LD_PRELOAD or PATH for later steps.
    assert hits(findings, CHECKOUT) == [(20, "critical"), (29, "high")]


def test_base_checkout_and_unprivileged_pull_request_are_fine() -> None:
    findings = scan("cases/untrusted-checkout-good.yml")
    assert hits(findings, CHECKOUT) == []
    assert hits(findings, TRIGGER) == [(5, "low")]


def test_head_checkout_under_plain_pull_request_is_not_a_pwn_request(tmp_path: Path) -> None:
    # kuberay's test-job.yaml checks out the PR head under `pull_request`: no secrets there, so no finding;
    # the same job under pull_request_target is one.
    body = (
        "permissions: {}\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n"
        "        with:\n          ref: ${{github.event.pull_request.head.sha}}\n"
        "          persist-credentials: false\n      - run: make test\n"
    )
    plain = tmp_path / "plain.yml"
    plain.write_text("on: pull_request\n" + body)
    target = tmp_path / "target.yml"
    target.write_text("on: [pull_request_target]\n" + body)
    assert hits(scan_path(plain), CHECKOUT) == []
    assert hits(scan_path(target), CHECKOUT) == [(7, "critical")]


def test_git_fetch_of_pull_ref_in_run(tmp_path: Path) -> None:
    wf = tmp_path / "comment.yml"
    wf.write_text(
        "on:\n  issue_comment:\n    types: [created]\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: git pull origin ${{ github.event.repository.default_branch }}\n"
        "      - run: |\n          git fetch origin pull/${{ github.event.issue.number }}/head:pr\n"
        "          git checkout pr\n"
        "      - run: make lint\n"
    )
    assert hits(scan_path(wf), CHECKOUT) == [(10, "critical")]


def test_same_repository_guard_lowers_the_finding(tmp_path: Path) -> None:
    template = (
        "on: pull_request_target\npermissions: {{}}\njobs:\n  e2e:\n    if: {cond}\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n"
        "        with:\n          ref: ${{{{ github.event.pull_request.head.sha }}}}\n"
        "          persist-credentials: false\n      - run: make e2e\n"
    )
    guarded = tmp_path / "guarded.yml"
    guarded.write_text(template.format(cond="github.event.pull_request.head.repo.full_name == github.repository"))
    either = tmp_path / "either.yml"
    either.write_text(
        template.format(
            cond="github.event.pull_request.head.repo.full_name == github.repository || github.actor == 'me'"
        )
    )
    findings = scan_path(guarded)
    assert hits(findings, CHECKOUT) == [(8, "medium")]
    assert next(f for f in findings if f.rule_id == CHECKOUT).properties["same_repo_guard"] is True
    assert hits(scan_path(either), CHECKOUT) == [(8, "critical")]


MERGED_BACKPORT = """\
name: Backport merged pull requests
on:
  pull_request_target:
    types: [closed, labeled]
permissions:
  contents: write
  pull-requests: write
jobs:
  backport:
    if: github.event.pull_request.merged == true && contains(github.event.pull_request.labels.*.name, 'backport')
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          ref: ${{ github.event.pull_request.head.sha }}
          fetch-depth: 0
      - run: ./hack/backport.sh "${{ github.event.pull_request.number }}"
  docs-preview:
    if: github.event.pull_request.merged == true || github.event.action == 'labeled'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: make docs
"""

COMMENT_CHERRY_PICK = """\
name: Cherry-pick on comment
on:
  issue_comment:
    types: [created]
permissions:
  contents: write
jobs:
  check:
    if: github.event.issue.pull_request && startsWith(github.event.comment.body, '/cherry-pick')
    runs-on: ubuntu-latest
    steps:
      - name: Require a merged pull request
        env:
          GH_TOKEN: ${{ github.token }}
        run: |
          merged_at=$(gh pr view "${{ github.event.issue.number }}" --json mergedAt -q .mergedAt)
          if [ -z "$merged_at" ] || [ "$merged_at" = null ]; then
            echo "pull request is not merged"; exit 1
          fi
  pick:
    needs: check
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          fetch-depth: 0
      - run: git fetch origin "pull/${{ github.event.issue.number }}/head:pr"
      - run: git cherry-pick pr
  report:
    needs: check
    if: always()
    runs-on: ubuntu-latest
    steps:
      - run: gh pr checkout ${{ github.event.issue.number }} && make report
"""


def test_checkout_after_the_pull_request_is_merged_is_not_untrusted(tmp_path: Path) -> None:
    wf = tmp_path / "backport.yml"
    wf.write_text(MERGED_BACKPORT)
    # `backport` only runs on merged pull requests; `docs-preview` also runs on `labeled` (the `||`).
    assert hits(scan_path(wf), CHECKOUT) == [(22, "critical")]


def test_fetch_after_a_job_that_requires_the_merge_is_not_untrusted(tmp_path: Path) -> None:
    wf = tmp_path / "cherry-pick.yml"
    wf.write_text(COMMENT_CHERRY_PICK)
    # `pick` needs the job that fails unless merged; `report` runs `always()`, merged or not.
    assert hits(scan_path(wf), CHECKOUT) == [(34, "high")]
