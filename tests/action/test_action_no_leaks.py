"""The action writes no raw secret anywhere: log, workflow commands, step outputs and
summary, the SARIF it uploads, the pull-request comment, whichever scanner quoted it."""

from __future__ import annotations

from pathlib import Path

from tests.action.conftest import Runner, build_checkout, own_as_runner
from tests.action.fake_github import FakeGitHub
from tests.action.test_action_e2e import everything_written, pr_payload
from tests.core.test_no_secret_leaks import SECRETS, leaky_text_files


def test_pull_request_run_quotes_every_scanner_yet_leaks_nothing(tmp_path: Path, fake_github: FakeGitHub) -> None:
    checkout = build_checkout(tmp_path, head_files=leaky_text_files())
    own_as_runner(checkout.workspace)
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    proc = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    written = everything_written(runner, proc, fake_github)
    # The run did report the planted files (in redacted form) ...
    assert "src/fetch.py" in written and "code/shell-injection" in written and "ghp_…[40 chars]" in written
    assert fake_github.issue_comments(42) and fake_github.calls("code-scanning/upload-sarif")
    # ... and no raw value reached any of it.
    assert sorted(name for name, value in SECRETS.items() if value in written) == []
