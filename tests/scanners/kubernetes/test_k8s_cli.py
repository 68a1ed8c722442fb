"""End to end through the CLI: discovery, the Helm skip entry, and findings in JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import run_cli
from tests.scanners.kubernetes.k8s_support import FIXTURES


def test_cli_scans_manifests_and_reports_helm_skip(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "charts" / "app" / "templates").mkdir(parents=True)
    shutil.copy(FIXTURES / "exposure-unsafe.yaml", repo / "deploy" / "serving.yaml")
    shutil.copy(FIXTURES / "pod-restricted-safe.yaml", repo / "deploy" / "safe-pod.yaml")
    shutil.copy(FIXTURES / "ml-crds.yaml", repo / "deploy" / "training.yaml")
    shutil.copy(FIXTURES / "helm-chart" / "templates" / "deployment.yaml", repo / "charts" / "app" / "templates")
    (repo / "charts" / "app" / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    out = tmp_path / "report.json"
    proc = run_cli(
        "scan", repo, "--scanners", "kubernetes", "--format", "json", "--output", out, "--fail-on", "none", plugin=False
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    findings = report["findings"]
    assert {f["scanner"] for f in findings} == {"kubernetes"}
    paths = {f["path"] for f in findings}
    assert "deploy/safe-pod.yaml" not in paths
    assert {"deploy/serving.yaml", "deploy/training.yaml"} <= paths
    privileged = [f for f in findings if f["rule_id"] == "k8s/privileged-container"]
    assert len(privileged) == 21 and all(f["path"] == "deploy/training.yaml" for f in privileged)
    assert len({f["fingerprint"] for f in findings}) == len(findings)
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert "helm template" in skipped["charts/app/templates/deployment.yaml"].lower()


def test_cli_cross_file_findings_reported_once(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "crossfile", repo / "deploy")
    shutil.copy(FIXTURES / "placement-unsafe.yaml", repo / "deploy" / "placement.yaml")
    out = tmp_path / "report.json"
    proc = run_cli(
        "scan", repo, "--scanners", "kubernetes", "--format", "json", "--output", out, "--fail-on", "none",
        "--profile", "strict", plugin=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(out.read_text())["findings"]
    pairs = [(f["rule_id"], f["path"]) for f in findings]
    assert pairs.count(("exposure/model-server-without-api-key", "deploy/vllm-deployment.yaml")) == 1
    assert pairs.count(("exposure/ml-service-exposed", "deploy/services.yaml")) == 3
    assert ("k8s/ml-server-without-network-policy", "deploy/vllm-deployment.yaml") in pairs
    assert ("k8s/ml-server-without-network-policy", "deploy/triton-deployment.yaml") not in pairs
    # placement.yaml's vLLM Deployment sits in `default`, where no policy applies either.
    assert ("k8s/ml-server-without-network-policy", "deploy/placement.yaml") in pairs
    assert ("k8s/default-namespace", "deploy/placement.yaml") in pairs
    # Hygiene: the strict profile reports missing probes (the default one leaves them out).
    assert any(rule == "k8s/probes-missing" for rule, _ in pairs)
    assert len({f["fingerprint"] for f in findings}) == len(findings)
