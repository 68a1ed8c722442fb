"""Inline review comments end to end: entrypoint.py in a runner-like environment, a real
git checkout, and the fake GitHub checking every review request against the diff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aisec_ci.action.publish_summary import parse_outputs
from tests.action.conftest import (
    Checkout,
    Runner,
    build_checkout,
    git,
    own_as_runner,
    planted_token,
    pull_patches,
)
from tests.action.fake_github import FakeGitHub
from tests.action.test_action_e2e import everything_written, pr_payload

MARKER = "<!-- aisec-ci:finding category=aisec-ci fingerprint="
WORKFLOW = """name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - name: Check out
        uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: make test
"""
DOCKERFILE = """FROM python:3.12-slim
RUN apt-get update && apt-get install -y ffmpeg=7:5.1.6-0+deb12u1 && rm -rf /var/lib/apt/lists/*
RUN pip install torch==2.3.1
USER 1000
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    co = build_checkout(tmp_path)
    own_as_runner(co.workspace)
    return co


def open_pull(fake: FakeGitHub, co: Checkout, head: str | None = None, fork: bool = False) -> None:
    head = head or co.head_sha
    repo = "mallory/ml-service" if fork else "octo-org/ml-service"
    fake.add_pull(42, head, co.base_sha, head_repo=repo, patches=pull_patches(co.origin, co.base_sha, head))


def ours(fake: FakeGitHub) -> list[dict[str, Any]]:
    return [c for c in fake.pull_review_comments(42) if c["body"].startswith(MARKER)]


def push_head(co: Checkout, files: dict[str, str]) -> str:
    """A new commit on the pull request's branch, pushed to origin and checked out."""
    for rel, text in files.items():
        (co.workspace / rel).write_text(text, encoding="utf-8")
    git(co.workspace, "add", "-A")
    git(co.workspace, "commit", "-q", "-m", "Address review")
    sha = git(co.workspace, "rev-parse", "HEAD")
    git(co.workspace, "push", "-q", "origin", f"{sha}:refs/heads/feature")
    own_as_runner(co.workspace)
    return sha


def test_pull_request_review_comments_new_lines_once_and_marks_fixes(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    open_pull(fake_github, checkout)
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    proc = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    assert proc.returncode == 1, proc.stdout + proc.stderr

    [review] = fake_github.pull_reviews(42)
    assert review["state"] == "COMMENTED" and review["commit_id"] == checkout.head_sha
    [create] = fake_github.calls("pulls/create-review")
    sent = create.body["comments"]
    # One review for every new finding on an added line, most severe first.
    placed = [(c["path"], c["line"]) for c in sent]
    assert placed[0] in {("app/settings.py", 3), ("k8s/embeddings.yaml", 17)}
    assert set(placed) == {("app/settings.py", 3), ("k8s/embeddings.yaml", 17), ("k8s/embeddings.yaml", 14)}
    secret = next(c for c in sent if c["path"] == "app/settings.py")
    assert secret["side"] == "RIGHT"
    assert "**high**" in secret["body"] and "secrets/huggingface-token" in secret["body"]
    assert "docs/rules.md#secretshuggingface-token" in secret["body"]
    # The Dockerfile's findings were already in the base: no comment, though they are reported.
    assert not any(c["path"] == "Dockerfile" for c in sent)
    first_ids = {c["id"] for c in ours(fake_github)}
    assert len(first_ids) == 3

    summary = fake_github.issue_comments(42)[0]["body"]
    assert "### Inline review" in summary and "3 findings on lines this pull request changes" in summary
    assert checkout.secret not in everything_written(runner, proc, fake_github)

    # A re-run on the same head: nothing new is posted, nothing is edited.
    again = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    assert again.returncode == 1
    assert len(fake_github.calls("pulls/create-review")) == 1
    assert fake_github.calls("pulls/update-review-comment") == []
    assert {c["id"] for c in ours(fake_github)} == first_ids

    # A later head removes the token: its comment says so; the other two stay as they were.
    fixed_head = push_head(checkout, {"app/settings.py": '"""Embedding settings."""\n\nimport os\n\nBATCH = 32\n'})
    open_pull(fake_github, checkout, head=fixed_head)
    payload = json.loads(json.dumps(pr_payload(checkout)).replace(checkout.head_sha, fixed_head))
    later = runner.run("pull_request", payload, fixed_head, "refs/pull/42/merge")
    assert later.returncode == 1, later.stdout + later.stderr
    assert len(fake_github.calls("pulls/create-review")) == 1
    [patch] = fake_github.calls("pulls/update-review-comment")
    comments = {c["id"]: c for c in ours(fake_github)}
    assert set(comments) == first_ids
    fixed = comments[int(patch.path.rsplit("/", 1)[1])]
    assert fixed["path"] == "app/settings.py"
    assert "state=fixed" in fixed["body"] and "**Fixed**" in fixed["body"]
    assert "secrets/huggingface-token" in fixed["body"]
    assert checkout.secret not in everything_written(runner, later, fake_github)


def test_many_comments_are_paged_and_a_human_quoting_the_marker_is_left_alone(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    open_pull(fake_github, checkout)
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    ids = {c["id"] for c in ours(fake_github)}
    # 150 comments by people after ours: the next run must page (100 per page) to see them all,
    # and one of them quotes a marker of a finding that does not exist.
    for i in range(150):
        fake_github.add_review_comment(42, "app/settings.py", 1, f"nit {i}")
    quoted = fake_github.add_review_comment(42, "app/settings.py", 3, MARKER + "0" * 32 + " state=open -->\nquoted")
    again = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    assert again.returncode == 1
    lists = fake_github.calls("pulls/list-review-comments")
    assert any(r.query.get("page") == ["2"] for r in lists)
    assert len(fake_github.calls("pulls/create-review")) == 1
    # The person's comment was not taken for ours and marked fixed.
    assert fake_github.calls("pulls/update-review-comment") == []
    assert next(c for c in fake_github.pull_review_comments(42) if c["id"] == quoted)["body"].endswith("quoted")
    assert ids <= {c["id"] for c in fake_github.pull_review_comments(42)}


def test_fork_pull_request_writes_nothing_and_gates(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    fake_github.state.tokens["read-token"] = "read"
    open_pull(fake_github, checkout, fork=True)
    runner = Runner(tmp_path, checkout.workspace, fake_github.url, token="read-token")
    proc = runner.run("pull_request", pr_payload(checkout, fork=True), checkout.head_sha, "refs/pull/42/merge")
    assert proc.returncode == 1
    assert fake_github.calls() == []
    assert "review comments are skipped" in proc.stdout
    assert parse_outputs(runner.output_file.read_text())["gate"] == "failed"


def test_read_only_token_is_403_on_the_review_and_a_warning(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    # Dependabot: same repository, read-only token. The fake answers every write 403.
    fake_github.state.tokens["read-token"] = "read"
    open_pull(fake_github, checkout)
    runner = Runner(tmp_path, checkout.workspace, fake_github.url, token="read-token")
    proc = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    assert proc.returncode == 1
    assert [c.status for c in fake_github.calls("pulls/create-review")] == [403]
    assert fake_github.pull_reviews(42) == [] and fake_github.pull_review_comments(42) == []
    warnings = [line for line in proc.stdout.splitlines() if line.startswith("::warning::")]
    assert any("review comments: review not posted" in w and "pull-requests: write" in w for w in warnings)


def test_limit_lists_the_rest_in_the_summary_comment(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    open_pull(fake_github, checkout)
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    inputs = {"review-comments-limit": "1", "upload-sarif": "false"}
    proc = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge", inputs)
    assert proc.returncode == 1
    [create] = fake_github.calls("pulls/create-review")
    [only] = create.body["comments"]
    assert "**high**" in only["body"]
    assert "2 more listed in the summary comment" in create.body["body"]
    summary = fake_github.issue_comments(42)[0]["body"]
    assert "2 more on changed lines without a comment (at most 1 per run" in summary
    assert "k8s/restricted-controls-missing" in summary.split("### Inline review", 1)[1]

    off = runner.run(
        "pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge", {"review-comments": "false"}
    )
    assert off.returncode == 1
    assert len(fake_github.calls("pulls/list-review-comments")) == 1


def test_mechanical_fixes_come_as_suggestions(tmp_path: Path, fake_github: FakeGitHub) -> None:
    token = planted_token()
    co = build_checkout(
        tmp_path,
        head_files={
            ".github/workflows/ci.yml": WORKFLOW,
            "docker/Dockerfile": DOCKERFILE,
            # A fixable line that also holds a token: the suggestion would have to repeat it.
            "docker/gpu.Dockerfile": f"FROM python:3.12-slim\nRUN HF_TOKEN={token} pip install torch==2.3.1\n",
            "k8s/job.yaml": (
                "apiVersion: batch/v1\nkind: Job\nmetadata: {name: train}\nspec:\n  template:\n    spec:\n"
                "      containers:\n        - name: train\n          image: ghcr.io/octo-org/train:1.0\n"
                "          securityContext:\n            allowPrivilegeEscalation: true\n"
            ),
        },
    )
    own_as_runner(co.workspace)
    open_pull(fake_github, co)
    runner = Runner(tmp_path, co.workspace, fake_github.url)
    inputs = {"profile": "strict", "fail-on": "none", "upload-sarif": "false"}
    proc = runner.run("pull_request", pr_payload(co), co.head_sha, "refs/pull/42/merge", inputs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [create] = fake_github.calls("pulls/create-review")
    by_rule = {}
    for c in create.body["comments"]:
        if c["path"] == "docker/gpu.Dockerfile":
            continue
        rule = c["body"].split("`", 2)[1]
        by_rule[rule] = c
    assert by_rule["workflows/persist-credentials"]["body"].endswith(
        "```suggestion\n"
        "        uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n"
        "        with:\n"
        "          persist-credentials: false\n```\n"
    )
    assert "```suggestion\nRUN pip install --no-cache-dir torch==2.3.1\n```" in by_rule["docker/pip-cache"]["body"]
    apt = by_rule["docker/apt-install-recommends"]["body"]
    assert "apt-get install --no-install-recommends -y ffmpeg=7:5.1.6-0+deb12u1 &&" in apt
    assert "allowPrivilegeEscalation: false\n```" in by_rule["k8s/privilege-escalation-allowed"]["body"]
    gpu = [c for c in create.body["comments"] if c["path"] == "docker/gpu.Dockerfile" and c["line"] == 2]
    assert {c["body"].split("`", 2)[1] for c in gpu} >= {"docker/pip-cache", "secrets/huggingface-token"}
    assert all("```suggestion" not in c["body"] for c in gpu)
    assert token not in everything_written(runner, proc, fake_github)


def test_git_diff_stands_in_for_the_files_api_and_a_422_is_a_warning(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    # The files listing fails for good (422 is final), so the action takes the diff from git; the
    # fake's pull request knows only the Kubernetes file, so the review is rejected whole.
    patches = pull_patches(checkout.origin, checkout.base_sha, checkout.head_sha)
    fake_github.add_pull(
        42, checkout.head_sha, checkout.base_sha, patches={"k8s/embeddings.yaml": patches["k8s/embeddings.yaml"]}
    )
    fake_github.state.fail_once["pulls/list-files"] = 422
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    proc = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    assert proc.returncode == 1
    assert "using the diff from git" in proc.stderr
    [create] = fake_github.calls("pulls/create-review")
    assert create.status == 422
    assert ("app/settings.py", 3) in [(c["path"], c["line"]) for c in create.body["comments"]]
    assert fake_github.pull_reviews(42) == [] and fake_github.pull_review_comments(42) == []
    warnings = [line for line in proc.stdout.splitlines() if line.startswith("::warning::")]
    assert any("review not posted" in w and "Path could not be resolved" in w for w in warnings)
    # The summary comment is still written, without a word about a review that did not happen.
    [summary] = fake_github.issue_comments(42)
    assert "### Inline review" not in summary["body"]


def test_a_newer_head_leaves_the_review_to_its_own_run(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    fake_github.add_pull(42, "f" * 40, checkout.base_sha, patches={})
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    proc = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    assert proc.returncode == 1
    assert "the pull request moved on to ffffffffffff" in proc.stderr
    assert fake_github.calls("pulls/create-review") == []
    assert fake_github.calls("pulls/list-files") == []
