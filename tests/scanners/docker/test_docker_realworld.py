"""Real Dockerfiles from public repositories: all parse, and our findings on them stay as reviewed.

The snapshot (tests/fixtures/docker/realworld-snapshot.json) was generated once and reviewed by hand;
regenerate with AISEC_UPDATE_SNAPSHOTS=1 and review the diff before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.scanners.docker.docker_support import FIXTURES, REALWORLD, scan

SNAPSHOT = FIXTURES / "realworld-snapshot.json"
CORPUS = REALWORLD / "dockerfiles"


def _files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file()) if CORPUS.is_dir() else []


pytestmark = pytest.mark.skipif(not _files(), reason="shared real-world corpus not present")


def _current() -> list[list[object]]:
    rows: list[list[object]] = []
    for path in _files():
        rel = path.relative_to(CORPUS).as_posix()
        for f in scan(path, root=CORPUS):
            assert f.path == rel
            rows.append([rel, f.rule_id, f.start_line])
    return sorted(rows, key=lambda r: (str(r[0]), int(str(r[2])), str(r[1])))


def test_realworld_snapshot() -> None:
    rows = _current()
    if os.environ.get("AISEC_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert rows == expected


def test_every_realworld_dockerfile_is_scanned_without_skips_or_errors() -> None:
    for path in _files():
        scan(path, root=CORPUS)
