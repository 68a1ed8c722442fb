"""Baselines are read through the one bounded reader: a device, FIFO or oversized file
is a clear error when configured, and a note (the scan goes on) when it is only the
detect-secrets `.secrets.baseline` lying at the root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_tree

APP = {"app.py": 'password = "Zq8vLr2mWx"\n'}


def _scan(repo: Path, *extra: str | Path) -> tuple[int, dict | None, str]:
    proc = run_cli("scan", repo, "--no-git", "--offline", "--quiet", "--format", "json", *extra, timeout=60)
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout else None), proc.stderr


@pytest.mark.parametrize("kind", ["device", "fifo", "directory", "stdin"])
def test_a_configured_baseline_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    repo = tmp_path / "repo"
    write_tree(repo, APP)
    target = {"device": Path("/dev/zero"), "stdin": Path("/dev/stdin")}.get(kind, tmp_path / "b")
    if kind == "fifo":
        os.mkfifo(target)  # nobody ever writes: reading it would block forever
    elif kind == "directory":
        target.mkdir()
    code, report, err = _scan(repo, "--baseline", target)
    assert code == 2 and report is None
    assert err.startswith(f"aisec-ci: error: baseline {target}: cannot read: it ") and "regular file" in err


def test_a_configured_baseline_past_the_cap_is_refused_without_reading_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_tree(repo, APP)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as fh:
        fh.truncate(3 * 1024**3)  # sparse: 3 GiB on paper, nothing on disk
    code, _, err = _scan(repo, "--baseline", huge)
    assert code == 2 and "larger than the 64 MiB cap (3 GiB)" in err


def test_a_legacy_baseline_linking_out_of_the_repository_is_ignored_with_a_note(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps({"plugins_used": [], "results": {}}), encoding="utf-8")
    repo = tmp_path / "repo"
    write_tree(repo, APP)
    (repo / ".secrets.baseline").symlink_to(outside)
    code, report, err = _scan(repo)
    assert code == 0 and report is not None, err
    assert ".secrets.baseline was not used: it is a symlink to a file outside the repository" in report["notes"]
    assert [f["rule_id"] for f in report["findings"]] == ["secrets/generic-secret"]


@pytest.mark.parametrize("kind", ["fifo", "sparse"])
def test_a_legacy_baseline_that_cannot_be_read_safely_is_ignored_with_a_note(tmp_path: Path, kind: str) -> None:
    repo = tmp_path / "repo"
    write_tree(repo, APP)
    legacy = repo / ".secrets.baseline"
    if kind == "fifo":
        os.mkfifo(legacy)
    else:
        with legacy.open("wb") as fh:
            fh.truncate(3 * 1024**3)
    code, report, err = _scan(repo)
    assert code == 0 and report is not None, err
    expected = "not a regular file" if kind == "fifo" else "larger than the 64 MiB cap"
    assert any(n.startswith(".secrets.baseline was not used: it is") and expected in n for n in report["notes"])
