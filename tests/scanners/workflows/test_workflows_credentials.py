"""workflows/persist-credentials, secrets-inherit, secrets-outside-env, hardcoded-container-credentials."""

from __future__ import annotations

from tests.scanners.workflows.workflows_testlib import hits, scan

PERSIST = "workflows/persist-credentials"
INHERIT = "workflows/secrets-inherit"
OUTSIDE = "workflows/secrets-outside-env"
HARDCODED = "workflows/hardcoded-container-credentials"


def test_bad_credentials_handling() -> None:
    findings = scan("cases/credentials-bad.yml")
    assert hits(findings, PERSIST) == [(19, "medium")]  # the workspace is uploaded as an artifact
    assert hits(findings, INHERIT) == [(27, "medium"), (30, "low")]  # remote, then local workflow
    assert hits(findings, HARDCODED) == [(17, "high")]
    assert hits(findings, OUTSIDE) == [(36, "low")]
    hardcoded = next(f for f in findings if f.rule_id == HARDCODED)
    assert "s3cr3t" not in hardcoded.snippet and "s3cr3t" not in hardcoded.message
    outside = next(f for f in findings if f.rule_id == OUTSIDE)
    assert outside.properties == {"secret": "HF_TOKEN"}


def test_plain_checkout_is_low() -> None:
    assert hits(scan("cases/unpinned-bad.yml"), PERSIST) == []  # sets persist-credentials: false
    assert hits(scan("cases/permissions-good.yml"), PERSIST) == []
    assert hits(scan("cases/template-injection-good.yml"), PERSIST) == []
    assert (15, "low") not in hits(scan("cases/cache-poisoning-bad.yml"), PERSIST)


def test_hardened_credentials_pass() -> None:
    findings = scan("cases/credentials-good.yml")
    assert hits(findings, PERSIST) == []
    assert hits(findings, INHERIT) == []
    assert hits(findings, HARDCODED) == []
    # `upload` names an environment; `build` reads a registry secret without one.
    assert hits(findings, OUTSIDE) == [(17, "low")]


def test_secrets_outside_env_is_strict_profile() -> None:
    from aisec_ci.scanners.workflows.credentials import SECRETS_OUTSIDE_ENV

    assert SECRETS_OUTSIDE_ENV.profile == "strict"
