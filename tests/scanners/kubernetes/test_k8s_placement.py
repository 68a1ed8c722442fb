"""K21 default namespace, K23 probes, K30 GPU placement."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.severity import Severity
from tests.scanners.kubernetes.k8s_support import by_rule, line_of, lines, scan


def test_default_namespace_points_at_the_namespace_key() -> None:
    fs = scan("placement-unsafe.yaml")
    assert lines(fs, "k8s/default-namespace") == [line_of("placement-unsafe.yaml", "namespace: default")]


def test_missing_namespace_is_not_default(tmp_path: Path) -> None:
    p = tmp_path / "cm.yaml"
    p.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: info\n")
    assert by_rule(scan(p), "k8s/default-namespace") == []


def test_probes_missing_on_deployment_not_on_job() -> None:
    fs = by_rule(scan("placement-unsafe.yaml"), "k8s/probes-missing")
    assert [f.start_line for f in fs] == [line_of("placement-unsafe.yaml", "- name: server")]
    assert "no readinessProbe and no livenessProbe" in fs[0].message


def test_probe_half_set_reports_the_other(tmp_path: Path) -> None:
    p = tmp_path / "d.yaml"
    p.write_text(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - name: db\n        image: postgres:16.3\n"
        "        readinessProbe:\n          tcpSocket: {port: 5432}\n"
    )
    (f,) = by_rule(scan(p), "k8s/probes-missing")
    assert f.message.endswith("has no livenessProbe")


def test_gpu_without_placement_and_whole_node_with_host_ipc() -> None:
    path = "placement-unsafe.yaml"
    fs = by_rule(scan(path), "k8s/gpu-pod-placement")
    got = sorted((f.start_line, f.severity) for f in fs)
    assert got == [
        (line_of(path, 'nvidia.com/gpu: "1"'), Severity.LOW),
        (line_of(path, "hostIPC: true"), Severity.MEDIUM),
    ]
    assert "8 GPUs" in next(f.message for f in fs if f.severity is Severity.MEDIUM)


def test_placement_safe_fixture_is_clean() -> None:
    assert scan("placement-safe.yaml") == []


def test_kustomize_patch_is_not_blamed_for_absent_probes(tmp_path: Path) -> None:
    (tmp_path / "patches").mkdir()
    p = tmp_path / "patches" / "gpu.yaml"
    p.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: llm\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - name: server\n        resources:\n          limits:\n"
        "            nvidia.com/gpu: 2\n"
    )
    from aisec_ci.scanners.base import ScanContext
    from aisec_ci.scanners.kubernetes import SCANNER
    from tests.scanners.kubernetes.k8s_support import source

    fs = list(SCANNER(ScanContext(root=tmp_path)).scan_file(source(p, root=tmp_path)))
    assert by_rule(fs, "k8s/probes-missing") == []
    assert by_rule(fs, "k8s/gpu-pod-placement") == []
