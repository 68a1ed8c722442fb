"""A baseline entry suppresses the finding with exactly that fingerprint: never one that
merely starts with it, nor one it starts with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import load_json, make_repo, run_cli


def scan(repo: Path, *extra: str) -> dict[str, Any]:
    out = repo.parent / "out.json"
    proc = run_cli("scan", repo, "--scanners", "testkit", "--format", "json", "--output", out, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    report: dict[str, Any] = load_json(out)
    return report


def test_prefixes_and_extensions_of_a_fingerprint_suppress_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    files = {name: f"v  # SECURITY-MARK[high] {name}\n" for name in ("a.py", "b.py", "c.py", "d.py")}
    make_repo(repo, files)
    fingerprints = {f["path"]: f["fingerprint"] for f in scan(repo)["findings"]}
    assert sorted(fingerprints) == ["a.py", "b.py", "c.py", "d.py"]
    assert all(len(fp) >= 8 for fp in fingerprints.values())
    entries = [
        fingerprints["a.py"],  # exact: the only one that may match
        fingerprints["b.py"][:-1],  # all but the last character
        fingerprints["c.py"][:8],  # a short prefix, as a hand-edited baseline might hold
        fingerprints["d.py"] + "0",  # the fingerprint is a prefix of the entry
    ]
    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        json.dumps({"version": 1, "tool": "aisec-ci", "findings": [{"fingerprint": e} for e in entries]}),
        encoding="utf-8",
    )
    report = scan(repo, "--baseline", str(baseline))
    assert [s["path"] for s in report["suppressed"]] == ["a.py"]
    assert report["summary"]["suppressed"]["baseline"] == 1
    assert sorted(f["path"] for f in report["findings"]) == ["b.py", "c.py", "d.py"]
