"""Exposed ML services (K25/E3/E6/E7), Ingress hygiene (K26), and ML servers
started without auth in container args (E1/E3/E4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.severity import Severity
from tests.scanners.kubernetes.k8s_support import SHARED, by_rule, line_of, lines, scan

UNSAFE = "exposure-unsafe.yaml"


def test_services_exposing_ml_ports() -> None:
    fs = by_rule(scan(UNSAFE), "exposure/ml-service-exposed")
    got = {(f.start_line, f.severity) for f in fs}
    assert got == {
        (line_of(UNSAFE, "port: 8265"), Severity.HIGH),
        (line_of(UNSAFE, "port: 6379"), Severity.HIGH),
        (line_of(UNSAFE, "port: 8081"), Severity.MEDIUM),
        (line_of(UNSAFE, "serviceType: LoadBalancer"), Severity.HIGH),
    }
    # Port 8000 on a Ray head is Ray Serve's API, not Triton: not reported.
    assert all("8000" not in f.message for f in fs)


def test_ingress_rules() -> None:
    fs = scan(UNSAFE)
    assert lines(fs, "k8s/ingress-snippet-annotation") == [line_of(UNSAFE, "configuration-snippet")]
    assert lines(fs, "k8s/ingress-without-tls") == [line_of(UNSAFE, "    - host: mlflow.example.com") - 2]
    assert lines(fs, "exposure/ml-ingress-without-auth") == [line_of(UNSAFE, "                name: mlflow")]


def test_commands_in_container_args() -> None:
    fs = scan(UNSAFE)
    assert lines(fs, "exposure/mlflow-without-auth") == [line_of(UNSAFE, "- 0.0.0.0")]
    (jup,) = by_rule(fs, "exposure/jupyter-without-auth")
    assert jup.start_line == line_of(UNSAFE, "ServerApp.token=''") and jup.severity is Severity.HIGH
    assert lines(fs, "exposure/tensorboard-public") == [line_of(UNSAFE, "--bind_all")]
    assert lines(fs, "exposure/ray-dashboard-public") == [line_of(UNSAFE, 'dashboard-host: "0.0.0.0"')]


def test_safe_counterparts() -> None:
    fs = scan("exposure-safe.yaml")
    exposure = [f for f in fs if f.rule_id.startswith("exposure/") or f.rule_id.startswith("k8s/ingress")]
    assert exposure == []


def test_realworld_ray_auth_sample_is_not_reported() -> None:
    path = SHARED / "data" / "realworld" / "k8s" / "ray-project__kuberay" / "ray-operator" / "config" / "samples"
    if not path.is_dir():
        pytest.skip("shared real-world data not present")
    assert not by_rule(scan(path / "ray-cluster.auth.yaml"), "exposure/ray-dashboard-public")
    assert by_rule(scan(path / "ray-cluster.complete.yaml"), "exposure/ray-dashboard-public")


def test_llm_server_without_api_key_behind_external_service() -> None:
    path = "vllm-exposed.yaml"
    fs = by_rule(scan(path), "exposure/model-server-without-api-key")
    # Only the unkeyed vLLM pod selected by the LoadBalancer; the keyed one and the
    # TGI pod that no external Service selects are fine.
    assert [(f.start_line, f.properties["name"]) for f in fs] == [(line_of(path, "- name: vllm"), "llm")]


def test_oauth2_proxy_sidecar_covers_the_ui(tmp_path: Path) -> None:
    p = tmp_path / "mlflow.yaml"
    p.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: mlflow}\nspec:\n  containers:\n  - name: mlflow\n"
        "    image: ghcr.io/mlflow/mlflow:v2.14.1\n    args: [mlflow, server, --host, 0.0.0.0]\n"
        "  - name: auth\n    image: quay.io/oauth2-proxy/oauth2-proxy:v7.6.0\n"
    )
    assert not by_rule(scan(p), "exposure/mlflow-without-auth")
