"""Every hostile case through the CLI under an address-space limit and a timeout: bounded
memory, no traceback, no raw secret anywhere, every file scanned or skipped with a reason.
(Wall time is bounded by the timeout here; bench/hostile.py prints each case's figures.)"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env
from tests.hostile.corpus import CASES, SECRETS, Case, run_case

ADDRESS_SPACE = 3 * 1024**3
"""The limit each scan runs under: a run that needs more fails here instead of swapping."""
PEAK_MEMORY = 500 * 1024**2
TIMEOUT = 120.0


def _entries(root: Path) -> set[str]:
    """Every non-directory entry under the case's root (symlinks and FIFOs included)."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_case_is_bounded_and_accounted_for(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    case.build(root)
    work = tmp_path / "work"
    work.mkdir()
    outcome = run_case(
        case, root, work, python=sys.executable, env=cli_env(False), limit=ADDRESS_SPACE, timeout=TIMEOUT
    )
    assert outcome.exit_code is not None, f"{case.name}: still running after {TIMEOUT:g} s"
    assert outcome.exit_code in case.exit_codes, outcome.stderr
    assert "Traceback" not in outcome.stderr + outcome.stdout, outcome.stderr
    everything = outcome.stdout + outcome.stderr + outcome.report
    assert not [s for s in SECRETS if s in everything]
    assert outcome.peak_bytes < PEAK_MEMORY, f"{case.name}: peak {outcome.peak_bytes / 2**20:.0f} MiB"
    if outcome.exit_code == 2:
        # A broken configuration: one line that names the problem.
        assert outcome.stderr.startswith("aisec-ci: error: ") and outcome.stderr.count("\n") <= 20
        assert all(e in outcome.stderr for e in case.expect), outcome.stderr
        return
    report = json.loads(outcome.report)
    text = json.dumps(report)
    assert all(e in text for e in case.expect), (case.expect, report["skipped"], report["notes"])
    # Every file is accounted for: scanned (counted) or skipped with a reason.
    skipped = {s["path"] for s in report["skipped"]}
    entries = _entries(root)
    scanned = report["summary"]["files_scanned"]
    assert all(s["reason"] for s in report["skipped"])
    unlisted = entries - {p.rstrip("/") for p in skipped}
    assert scanned >= len(unlisted), (scanned, sorted(unlisted)[:20], report["skipped"][:20])
