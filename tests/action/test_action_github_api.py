"""The REST client and the publishers against the fake GitHub server."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest

from aisec_ci.action.github_api import GitHubClient, GitHubError, RetryPolicy
from aisec_ci.action.publish_comment import marker, publish_comment
from aisec_ci.action.publish_sarif import PollSchedule, upload_sarif
from tests.action.fake_github import FakeGitHub

REPO = "octo-org/ml-service"
SHA = "a" * 40


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(fake: FakeGitHub, token: str = "write-token", **kw: float) -> tuple[GitHubClient, Sleeps]:
    sleeps = Sleeps()
    policy = RetryPolicy(**kw) if kw else RetryPolicy()  # type: ignore[arg-type]
    return GitHubClient(fake.url, token, policy=policy, sleep=sleeps), sleeps


def test_retries_a_500_once_and_honours_retry_after(fake_github: FakeGitHub) -> None:
    fake_github.state.fail_once["issues/list-comments"] = 500
    c, sleeps = client(fake_github)
    assert list(c.paginate(f"repos/{REPO}/issues/1/comments")) == []
    assert sleeps.calls == [1.0]
    fake_github.state.secondary_limit_once["issues/create-comment"] = 7
    c.post_json(f"repos/{REPO}/issues/1/comments", {"body": "hi"})
    assert sleeps.calls == [1.0, 7.0]


def test_primary_rate_limit_waits_for_the_reset(fake_github: FakeGitHub) -> None:
    fake_github.state.primary_limit_once["issues/list-comments"] = 30
    c, sleeps = client(fake_github)
    list(c.paginate(f"repos/{REPO}/issues/1/comments"))
    assert len(sleeps.calls) == 1 and 25 <= sleeps.calls[0] <= 33


def test_a_rate_limit_beyond_the_budget_gives_up(fake_github: FakeGitHub) -> None:
    fake_github.state.primary_limit_once["issues/list-comments"] = 3600
    c, sleeps = client(fake_github, max_wait=60.0)
    with pytest.raises(GitHubError, match="gave up") as info:
        list(c.paginate(f"repos/{REPO}/issues/1/comments"))
    assert info.value.status == 403 and sleeps.calls == []


def test_permission_403_and_422_are_not_retried(fake_github: FakeGitHub) -> None:
    fake_github.state.tokens["read-token"] = "read"
    c, sleeps = client(fake_github, token="read-token")
    with pytest.raises(GitHubError) as info:
        c.post_json(f"repos/{REPO}/issues/1/comments", {"body": "hi"})
    assert info.value.is_permission and "Resource not accessible by integration" in str(info.value)
    w, _ = client(fake_github)
    with pytest.raises(GitHubError) as bad:
        w.post_json(f"repos/{REPO}/issues/1/comments", {"text": "missing body"})
    assert bad.value.status == 422 and "'body' is a required property" in str(bad.value)
    assert sleeps.calls == []
    assert len(fake_github.calls("issues/create-comment")) == 2


def test_token_never_appears_in_errors(fake_github: FakeGitHub) -> None:
    secret = "ghs_" + "Q" * 36
    c = GitHubClient("http://127.0.0.1:9/" + secret, secret, policy=RetryPolicy(attempts=1), sleep=lambda s: None)
    with pytest.raises(GitHubError) as info:
        c.get_json("repos/x/y")
    assert secret not in str(info.value) and "***" in str(info.value)
    assert secret not in repr(c)
    unknown, _ = client(fake_github, token=secret)
    with pytest.raises(GitHubError) as bad:
        unknown.get_json(f"repos/{REPO}/issues/1/comments")
    assert bad.value.status == 401 and secret not in str(bad.value)
    assert fake_github.calls()[-1].headers["authorization"] == f"Bearer {secret}"


def test_pagination_follows_link_next(fake_github: FakeGitHub) -> None:
    for i in range(250):
        fake_github.add_comment(7, f"note {i}")
    c, _ = client(fake_github)
    bodies = [x["body"] for x in c.paginate(f"repos/{REPO}/issues/7/comments", {"per_page": 100})]
    assert bodies == [f"note {i}" for i in range(250)]
    pages = [r.query.get("page", ["1"])[0] for r in fake_github.calls("issues/list-comments")]
    assert pages == ["1", "2", "3"]


def test_comment_over_the_limit_is_rendered_smaller(fake_github: FakeGitHub) -> None:
    c, _ = client(fake_github)
    mark = marker("aisec-ci")
    budgets: list[int] = []

    def render(max_bytes: int) -> str:
        budgets.append(max_bytes)
        # Multi-byte text: 65,000 bytes is well under 65,536 characters, so pad with ASCII past the limit.
        return mark + "x" * (max_bytes + 1000 if len(budgets) == 1 else max_bytes - len(mark))

    outcome = publish_comment(c, REPO, 9, mark, render)
    assert outcome.action == "created", outcome.warnings
    assert budgets == [65_000, 32_500]
    assert [r.status for r in fake_github.calls("issues/create-comment")] == [422, 201]
    assert fake_github.issue_comments(9)[0]["body"].startswith(mark)


def sarif_file(tmp_path: Path) -> Path:
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "aisec-ci", "rules": []}}, "results": []}],
    }
    path = tmp_path / "a.sarif"
    path.write_text(json.dumps(log), encoding="utf-8")
    return path


def test_upload_polls_until_complete(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.state.pending_polls = 2
    c, _ = client(fake_github)
    sleeps = Sleeps()
    path = sarif_file(tmp_path)
    outcome = upload_sarif(
        c,
        REPO,
        path,
        ref="refs/heads/main",
        commit_sha=SHA,
        workspace=tmp_path,
        started_at="2026-11-25T21:00:00Z",
        schedule=PollSchedule(first=5, factor=2, tries=5, max_total=120),
        sleep=sleeps,
    )
    assert outcome.uploaded and outcome.status == "complete" and not outcome.warnings
    assert sleeps.calls == [5, 10, 20]
    body = fake_github.calls("code-scanning/upload-sarif")[0].body
    assert gzip.decompress(base64.b64decode(body["sarif"])) == path.read_bytes()


def test_upload_wait_is_bounded(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.state.pending_polls = 100
    c, _ = client(fake_github)
    sleeps = Sleeps()
    outcome = upload_sarif(
        c,
        REPO,
        sarif_file(tmp_path),
        ref="refs/heads/main",
        commit_sha=SHA,
        workspace=tmp_path,
        started_at="2026-11-25T21:00:00Z",
        schedule=PollSchedule(first=5, factor=2, tries=5, max_total=40),
        sleep=sleeps,
    )
    assert sum(sleeps.calls) <= 40 and outcome.status == "pending"
    assert any("still pending" in w for w in outcome.warnings)


@pytest.mark.parametrize(
    ("ref", "sha", "status"),
    [("main", SHA, 422), ("refs/heads/main", "abc", 422), ("refs/heads/main", SHA, 202)],
)
def test_fake_validates_upload_bodies(tmp_path: Path, fake_github: FakeGitHub, ref: str, sha: str, status: int) -> None:
    c, _ = client(fake_github)
    outcome = upload_sarif(
        c,
        REPO,
        sarif_file(tmp_path),
        ref=ref,
        commit_sha=sha,
        workspace=tmp_path,
        started_at="2026-11-25T21:00:00Z",
        schedule=PollSchedule(first=0, tries=1),
        sleep=lambda s: None,
    )
    assert fake_github.calls("code-scanning/upload-sarif")[0].status == status
    assert outcome.uploaded is (status == 202)
    if status == 422:
        assert any("Invalid request." in w for w in outcome.warnings)


def test_upload_warning_says_refused_only_when_github_answered() -> None:
    from aisec_ci.action.github_api import GitHubError
    from aisec_ci.action.publish_sarif import _upload_hint

    unreachable = _upload_hint(GitHubError("POST https://api.github.com/...: ConnectionError: refused"))
    assert "could not connect" in unreachable and "refused the upload" not in unreachable
    answered = _upload_hint(GitHubError("POST ... -> 422 Invalid SARIF", 422, {"message": "Invalid SARIF"}))
    assert "GitHub refused the upload (HTTP 422)" in answered
