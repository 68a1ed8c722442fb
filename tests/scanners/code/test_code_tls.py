"""code/tls-verify-disabled."""

from __future__ import annotations

from tests.scanners.code.code_support import assert_matches_markers, scan_fixture


def test_verify_false_is_reported_for_requests_httpx_sessions_and_ssl() -> None:
    assert_matches_markers("tls_unsafe.py")


def test_ca_bundles_and_other_verify_options_are_not_reported() -> None:
    assert scan_fixture("tls_safe.py") == []
