"""`last_affected` without a `versions` list: the range alone decides, and its bound is inclusive.

Real advisories with `last_affected` usually list their versions too, and a listed version
matches before the range is walked, so they cannot tell `>` from `>=` in the range logic."""

from __future__ import annotations

from typing import Any

import pytest

from aisec_ci.scanners.deps.matching import is_affected


def only_range(*events: dict[str, str]) -> dict[str, Any]:
    entry = {
        "package": {"ecosystem": "PyPI", "name": "demo-pkg"},
        "ranges": [{"type": "ECOSYSTEM", "events": list(events)}],
    }
    return {"id": "TEST-LAST-AFFECTED", "affected": [entry]}


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("0.1", True),
        ("1.4.2", True),
        ("1.4.3rc1", True),  # a pre-release of the last affected version precedes it
        ("1.4.3", True),
        ("1.4.3.0", True),  # the same version spelled with a trailing zero
        ("1.4.3.post1", False),
        ("1.4.4", False),
        ("2.0", False),
    ],
)
def test_last_affected_bound_is_inclusive_without_versions(version: str, affected: bool) -> None:
    rec = only_range({"introduced": "0"}, {"last_affected": "1.4.3"})
    assert "versions" not in rec["affected"][0]
    assert is_affected(rec, "demo-pkg", version) is affected


def test_last_affected_after_a_later_introduction() -> None:
    rec = only_range({"introduced": "2.0"}, {"last_affected": "2.1"})
    assert [is_affected(rec, "Demo_Pkg", v) for v in ("1.9", "2.0", "2.1", "2.1.1")] == [False, True, True, False]
