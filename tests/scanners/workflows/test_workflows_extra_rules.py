"""workflows/spoofable-bot-check, workflows/overprovisioned-secrets, workflows/use-trusted-publishing."""

from __future__ import annotations

from tests.scanners.workflows.workflows_testlib import hits, scan

BOT = "workflows/spoofable-bot-check"
OVER = "workflows/overprovisioned-secrets"
PUBLISH = "workflows/use-trusted-publishing"


def test_bad_patterns() -> None:
    findings = scan("cases/extra-bad.yml")
    assert hits(findings, BOT) == [(13, "high"), (37, "high")]  # the workflow runs on pull_request_target
    assert hits(findings, OVER) == [(30, "medium"), (31, "medium")]
    assert hits(findings, PUBLISH) == [(33, "low"), (41, "low")]
    over = [f for f in findings if f.rule_id == OVER]
    assert "toJSON(secrets)" in over[0].message


def test_sound_patterns_pass() -> None:
    findings = scan("cases/extra-good.yml")
    assert hits(findings, BOT) == []
    assert hits(findings, OVER) == []
    assert hits(findings, PUBLISH) == []
