"""Finding.evolve: the engine's cheap copy must be exactly what dataclasses.replace gives."""

from __future__ import annotations

import dataclasses

import pytest

from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.severity import Severity


def sample() -> Finding:
    return Finding(
        rule_id="deps/vulnerable-package",
        severity=Severity.HIGH,
        message="pyyaml 5.3 is affected",
        path="requirements.txt",
        start_line=3,
        key="pyyaml==5.3:PYSEC-2020-96",
        properties={"package": "pyyaml"},
    )


def test_evolve_equals_replace_and_leaves_the_original_alone() -> None:
    f = sample()
    changed = f.evolve(scanner="deps", line_hash="abc:1")
    assert changed == dataclasses.replace(f, scanner="deps", line_hash="abc:1")
    assert (f.scanner, f.line_hash) == ("", "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.scanner = "x"  # type: ignore[misc]
    with pytest.raises(TypeError, match="no field 'sevrity'"):
        f.evolve(sevrity=Severity.LOW)


def test_fingerprints_are_assigned_through_evolve_without_touching_other_fields() -> None:
    f = sample()
    [done] = assign_fingerprints([f], None)
    assert len(done.fingerprint) == 32
    assert dataclasses.replace(done, fingerprint="") == f
