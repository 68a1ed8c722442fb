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
    rule = "k8s/restricted-controls-missing"
    assert any(f.rule_id == rule and "ray-head" in f.message and "runAsNonRoot: true" in f.message for f in fs)
    assert any(f.rule_id == rule and "ray-worker" in f.message and "runAsNonRoot: true" in f.message for f in fs)


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="shared real-world data not present")
def test_realworld_tree_repository_pass() -> None:
    """The whole-tree pass over the real-world manifests as one repository (reviewed by hand:
    none of these projects ships a NetworkPolicy, and no external Service selects pods of
    another file)."""
    from aisec_ci.scanners.base import ScanContext
    from aisec_ci.scanners.kubernetes import SCANNER
    from aisec_ci.workspace.classify import classify
    from aisec_ci.workspace.files import SourceFile

    files = []
    for path in _files():
        rel = path.relative_to(REALWORLD).as_posix()
        files.append(SourceFile(rel, path, classify(rel, path.read_bytes()[:4096]), path.stat().st_size))
    got = sorted((f.path, f.rule_id, f.start_line) for f in SCANNER(ScanContext(root=REALWORLD)).scan_repository(files))
    rule = "k8s/ml-server-without-network-policy"
    samples = "ray-project__kuberay/ray-operator/config/samples/"
    assert got == [
        ("kubernetes__examples/AI/model-serving-tensorflow/deployment.yaml", rule, 2),
        ("kubernetes__examples/AI/vllm-deployment/vllm-deployment.yaml", rule, 2),
        (samples + "ray-cluster.auth.yaml", rule, 2),
        (samples + "ray-cluster.autoscaler.yaml", rule, 2),
        (samples + "ray-cluster.complete.yaml", rule, 6),
        (samples + "ray-service.high-throughput-gemma4.yaml", rule, 12),
    ]
