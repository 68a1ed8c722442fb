"""Identical findings in one file get distinct fingerprints, and the same ones on every run."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.severity import Severity
from tests.conftest import load_json, make_repo, run_cli

SAME_LINE = "token = load()  # SECURITY-MARK[high]\n"


def scan(repo: Path, hash_seed: str) -> list[dict[str, Any]]:
    out = repo.parent / f"out-{hash_seed}.json"
    proc = run_cli(
        "scan", repo, "--scanners", "testkit", "--format", "json", "--output", out, env={"PYTHONHASHSEED": hash_seed}
    )
    assert proc.returncode in (0, 1), proc.stderr
    findings: list[dict[str, Any]] = load_json(out)["findings"]
    return findings


def test_identical_findings_get_distinct_stable_fingerprints(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"app.py": SAME_LINE + "\n" + SAME_LINE + SAME_LINE, "other.py": SAME_LINE})
    first = scan(repo, "1")
    app = [f["fingerprint"] for f in first if f["path"] == "app.py"]
    assert len(app) == 3 and len(set(app)) == 3
    # Same file content elsewhere is another finding too.
    assert not {f["fingerprint"] for f in first if f["path"] == "other.py"} & set(app)
    # Another process with another hash seed: the same fingerprints, line for line.
    second = scan(repo, "2")
    assert [(f["path"], f["start_line"], f["fingerprint"]) for f in second] == [
        (f["path"], f["start_line"], f["fingerprint"]) for f in first
    ]
    # Lines inserted above move the findings but not their fingerprints.
    (repo / "app.py").write_text("import os\n\n" + SAME_LINE + "\n" + SAME_LINE + SAME_LINE)
    moved = [f["fingerprint"] for f in scan(repo, "3") if f["path"] == "app.py"]
    assert moved == app


def _finding(line: int, key: str = "") -> Finding:
    return Finding(
        rule_id="demo/dup", severity=Severity.HIGH, message="same", path="src/x.py", start_line=line, key=key
    )


def test_fingerprints_do_not_depend_on_input_order() -> None:
    lines = ["dup()"] * 6
    found = [_finding(n) for n in range(1, 7)] + [_finding(n, key="k") for n in (2, 4)]
    reference = {(f.start_line, f.key): f.fingerprint for f in assign_fingerprints(found, lines)}
    assert len(set(reference.values())) == len(found)
    rng = random.Random(5)
    for _ in range(5):
        shuffled = found[:]
        rng.shuffle(shuffled)
        again = {(f.start_line, f.key): f.fingerprint for f in assign_fingerprints(shuffled, lines)}
        assert again == reference
