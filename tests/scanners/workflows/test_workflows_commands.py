"""workflows/curl-pipe-shell and workflows/insecure-commands."""

from __future__ import annotations

from tests.scanners.workflows.workflows_testlib import hits, scan

CURL = "workflows/curl-pipe-shell"
INSECURE = "workflows/insecure-commands"


def test_remote_scripts_piped_into_shells() -> None:
    findings = scan("cases/commands-bad.yml")
    # The second one spans a backslash continuation and pipes into `sudo bash`.
    assert hits(findings, CURL) == [(15, "medium"), (19, "medium"), (22, "medium")]
    assert hits(findings, INSECURE) == [(25, "high")]


def test_verified_downloads_and_false_flag_pass() -> None:
    findings = scan("cases/commands-good.yml")
    assert hits(findings, CURL) == []
    assert hits(findings, INSECURE) == []


def test_composite_action_run_steps() -> None:
    assert hits(scan("cases/composite/action.yml"), CURL) == [(19, "medium")]


def test_attacker_text_written_to_github_env_in_privileged_workflow() -> None:
    findings = scan("cases/github-env-bad.yml")
    assert hits(findings, "workflows/github-env-injection") == [(21, "high")]  # ISSUE (a number) is fine
    f = next(f for f in findings if f.rule_id == "workflows/github-env-injection")
    assert f.properties == {"variable": "COMMENT", "context": "github.event.comment.body"}
    assert hits(scan("cases/github-env-good.yml"), "workflows/github-env-injection") == []
    # Without a privileged trigger the same write is not reported (no secrets to steal).
    assert hits(scan("cases/commands-bad.yml"), "workflows/github-env-injection") == []
