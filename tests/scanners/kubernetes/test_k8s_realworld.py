"""Every real-world manifest parses (or is skipped with a reason), and our
findings on them match a snapshot that was reviewed by hand once.

Regenerate after a deliberate change with AISEC_UPDATE_SNAPSHOTS=1 and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aisec_ci.scanners.base import SkipFile
from tests.scanners.kubernetes.k8s_support import FIXTURES, SHARED, scan

REALWORLD = SHARED / "data" / "realworld" / "k8s"
SNAPSHOT = FIXTURES / "realworld-snapshot.json"
# Files that are templates, not manifests: skipped with a reason, never an error.
EXPECTED_SKIPS = {"ray-project__kuberay/benchmark/perf-tests/common/image-preload-daemonset.yaml"}


def _files() -> list[Path]:
    return sorted(p for p in REALWORLD.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="shared real-world data not present")
def test_realworld_manifests_match_reviewed_snapshot() -> None:
    triples: list[list[object]] = []
    skipped: list[str] = []
    for path in _files():
        rel = path.relative_to(REALWORLD).as_posix()
        try:
            findings = scan(path)
        except SkipFile as exc:
            assert "template" in exc.reason, (rel, exc.reason)
            skipped.append(rel)
            continue
        triples.extend([rel, f.rule_id, f.start_line] for f in findings)
    assert set(skipped) == EXPECTED_SKIPS
    triples.sort(key=lambda t: (str(t[0]), int(str(t[2])), str(t[1])))
    if os.environ.get("AISEC_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text("[\n" + ",\n".join(json.dumps(t) for t in triples) + "\n]\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert triples == expected


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="shared real-world data not present")
def test_realworld_ml_files_are_reached() -> None:
    """The KubeRay samples are custom resources: their pod templates must be seen."""
    sample = REALWORLD / "ray-project__kuberay" / "ray-operator" / "config" / "samples" / "ray-cluster.complete.yaml"
    fs = scan(sample)
    assert any(f.rule_id == "k8s/run-as-non-root-missing" and "ray-head" in f.message for f in fs)
    assert any(f.rule_id == "k8s/run-as-non-root-missing" and "ray-worker" in f.message for f in fs)
