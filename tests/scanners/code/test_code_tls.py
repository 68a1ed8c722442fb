"""code/tls-verify-disabled."""

from __future__ import annotations

from tests.scanners.code.code_support import assert_matches_markers, scan_fixture


def test_verify_false_is_reported_for_requests_httpx_sessions_and_ssl() -> None:
    assert_matches_markers("tls_unsafe.py")


def test_ca_bundles_and_other_verify_options_are_not_reported() -> None:
    assert scan_fixture("tls_safe.py") == []


def test_verify_false_behind_an_explicit_opt_in_is_low_and_strict() -> None:
    findings = assert_matches_markers("tls_optin.py")
    opted = [f for f in findings if f.properties.get("opt_in")]
    assert {f.properties["opt_in"] for f in opted} == {"TLS_SKIP_VERIFY", "insecure"}
    assert all(f.profile == "strict" and "only when the user opts in" in f.message for f in opted)
    assert all(f.profile == "" for f in findings if f not in opted)
