"""Real files from /work/shared/data/realworld: every one scans without error, and
the findings match a hand-reviewed snapshot (so FP behaviour stays stable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec_ci.workspace.kinds import FileKind
from tests.scanners.secrets.secret_tokens import scan_path

REALWORLD = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "realworld"
SNAPSHOT = Path(__file__).resolve().parents[2] / "fixtures" / "secrets" / "realworld-snapshot.json"


def _kind(path: Path) -> FileKind:
    if path.suffix in (".yaml", ".yml"):
        return FileKind.YAML
    if path.suffix == ".json":
        return FileKind.JSON
    return FileKind.TEXT


def scan_realworld() -> list[list[object]]:
    out: list[list[object]] = []
    for p in sorted(REALWORLD.rglob("*")):
        if p.is_file():
            rel = p.relative_to(REALWORLD).as_posix()
            out.extend([rel, f.rule_id, f.start_line] for f in scan_path(p, _kind(p), rel=rel))
    return out


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="shared realworld data not present")
def test_realworld_snapshot() -> None:
    # Reviewed by hand: the one finding is a default MinIO root password committed in a Secret manifest.
    assert scan_realworld() == json.loads(SNAPSHOT.read_text())
