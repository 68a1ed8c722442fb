"""Asking for some scanners imports only those: start-up is most of a small scan's time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aisec_ci.errors import UsageError
from aisec_ci.pipeline import select_scanners
from aisec_ci.scanners import registry

PROBE = """
import json, sys
from aisec_ci.pipeline import run_scan, ScanOptions
from pathlib import Path
opts = ScanOptions(root=Path(sys.argv[1]), scanners=["docker", "workflows"], jobs=1, use_git=False, profile="audit")
result = run_scan(opts)
loaded = sorted({m.split(".")[2] for m in sys.modules if m.startswith("aisec_ci.scanners.") and m.count(".") >= 2})
print(json.dumps({"loaded": loaded, "rules": sorted({f.rule_id for f in result.findings})}))
"""


def test_a_named_scan_imports_only_the_named_scanner_packages(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11\nRUN pip install torch\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    assert "docker/pip-unpinned" in out["rules"]
    # The secrets package comes along with any finding: its provider detectors are the
    # redaction stage's last line of defence over every outgoing string.
    assert set(out["loaded"]) <= {"base", "registry", "docker", "workflows", "secrets"}, out["loaded"]
    assert not {"deps", "kubernetes", "models", "code", "cloud"} & set(out["loaded"]), out["loaded"]


def test_named_selection_matches_full_discovery() -> None:
    everything = registry.all_scanners()
    assert select_scanners(["workflows", "docker", "docker"]) == [everything["docker"], everything["workflows"]]
    assert select_scanners([]) == []
    assert select_scanners(None) == list(everything.values())


def test_unknown_names_still_list_what_is_available() -> None:
    with pytest.raises(UsageError, match=r"unknown scanner\(s\): nope \(available: .*docker.*workflows"):
        select_scanners(["docker", "nope"])


def test_known_rule_ids_are_the_whole_catalog() -> None:
    ids = registry.KnownRuleIds()
    expected = {r.id for r in registry.catalog()}
    assert set(ids) == expected
    assert len(ids) == len(expected)
    assert "docker/package-unpinned" in ids and "core/scan-error" in ids
    assert "docker/no-such-rule" not in ids


def test_catalog_of_holds_core_and_the_given_scanners_only() -> None:
    docker = registry.all_scanners()["docker"]
    ids = {r.id for r in registry.catalog_of([docker])}
    assert "docker/curl-pipe-shell" in ids and "core/scan-error" in ids
    assert not any(i.startswith("workflows/") for i in ids)
