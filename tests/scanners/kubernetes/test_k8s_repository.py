"""Whole-tree checks: Services publishing pods of another file (E6) and ML
servers no NetworkPolicy isolates (K22), without repeating per-file findings."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.kubernetes import SCANNER
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.kubernetes.k8s_support import FIXTURES, source

CROSS = FIXTURES / "crossfile"


def _repo(root: Path, kinds: dict[str, FileKind] | None = None) -> list[SourceFile]:
    kinds = kinds or {}
    return [source(p, kinds.get(p.name, FileKind.KUBERNETES), root) for p in sorted(root.rglob("*.yaml"))]


def _scan_repository(root: Path, files: list[SourceFile] | None = None) -> list[Finding]:
    scanner = SCANNER(ScanContext(root=root))
    return list(scanner.scan_repository(files if files is not None else _repo(root)))


def _line(path: Path, needle: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if needle in t)


def test_cross_file_findings() -> None:
    got = {(f.rule_id, f.path, f.start_line) for f in _scan_repository(CROSS)}
    assert got == {
        (
            "exposure/model-server-without-api-key",
            "vllm-deployment.yaml",
            _line(CROSS / "vllm-deployment.yaml", "- name: vllm"),
        ),
        ("exposure/ml-service-exposed", "services.yaml", _line(CROSS / "services.yaml", "port: 8000")),
        ("exposure/ml-service-exposed", "services.yaml", _line(CROSS / "services.yaml", "port: 8001")),
        ("exposure/ml-service-exposed", "services.yaml", _line(CROSS / "services.yaml", "port: 8002")),
        (
            "k8s/ml-server-without-network-policy",
            "vllm-deployment.yaml",
            _line(CROSS / "vllm-deployment.yaml", "kind:"),
        ),
    }


def test_cross_file_message_names_the_service_file() -> None:
    (f,) = [f for f in _scan_repository(CROSS) if f.rule_id == "exposure/model-server-without-api-key"]
    assert "chat-api in services.yaml" in f.message
    assert f.properties["image"] == "vllm/vllm-openai:v0.6.3"


def test_same_file_pairs_are_left_to_the_per_file_pass(tmp_path: Path) -> None:
    text = (CROSS / "services.yaml").read_text() + "---\n" + (CROSS / "vllm-deployment.yaml").read_text()
    (tmp_path / "all.yaml").write_text(text)
    repo = _scan_repository(tmp_path)
    assert [f for f in repo if f.rule_id == "exposure/model-server-without-api-key"] == []
    per_file = list(SCANNER(ScanContext(root=tmp_path)).scan_file(source(tmp_path / "all.yaml")))
    assert [f.rule_id for f in per_file].count("exposure/model-server-without-api-key") == 1
    # Ports the Service's names identify are reported per file; the repository pass adds none.
    named = tmp_path / "named.yaml"
    named.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: triton\nspec:\n  type: LoadBalancer\n"
        "  selector: {app: image-models}\n  ports:\n  - port: 8000\n"
    )
    (tmp_path / "triton.yaml").write_text((CROSS / "triton-deployment.yaml").read_text())
    repo = _scan_repository(tmp_path)
    assert [f for f in repo if f.path == "named.yaml"] == []


def test_api_key_and_namespace_mismatch_are_respected(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text((CROSS / "services.yaml").read_text())
    keyed = (CROSS / "vllm-deployment.yaml").read_text().replace('"8000"]', '"8000", "--api-key", "$(KEY)"]')
    assert keyed != (CROSS / "vllm-deployment.yaml").read_text()
    (tmp_path / "vllm.yaml").write_text(keyed)
    assert [f.rule_id for f in _scan_repository(tmp_path) if f.rule_id.startswith("exposure/model")] == []
    other_ns = (CROSS / "vllm-deployment.yaml").read_text().replace("namespace: ml-serving", "namespace: lab")
    (tmp_path / "vllm.yaml").write_text(other_ns)
    assert [f.rule_id for f in _scan_repository(tmp_path) if f.rule_id.startswith("exposure/model")] == []


def test_namespace_wide_policy_covers_everything(tmp_path: Path) -> None:
    (tmp_path / "vllm.yaml").write_text((CROSS / "vllm-deployment.yaml").read_text())
    assert [f.rule_id for f in _scan_repository(tmp_path)] == ["k8s/ml-server-without-network-policy"]
    (tmp_path / "deny.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n"
        "  namespace: ml-serving\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
    )
    assert _scan_repository(tmp_path) == []


def test_policy_of_another_namespace_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "vllm.yaml").write_text((CROSS / "vllm-deployment.yaml").read_text())
    (tmp_path / "deny.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n"
        "  namespace: other\nspec:\n  podSelector: {}\n"
    )
    assert [f.rule_id for f in _scan_repository(tmp_path)] == ["k8s/ml-server-without-network-policy"]


def test_ray_cluster_and_batch_jobs(tmp_path: Path) -> None:
    (tmp_path / "ray.yaml").write_text(
        "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata:\n  name: rc\nspec:\n  headGroupSpec:\n"
        "    rayStartParams: {}\n    template:\n      spec:\n        containers:\n"
        "        - name: head\n          image: rayproject/ray:2.9.0\n"
    )
    (tmp_path / "job.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: eval\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - name: eval\n        image: vllm/vllm-openai:v0.6.3\n"
    )
    got = [(f.rule_id, f.path) for f in _scan_repository(tmp_path)]
    assert got == [("k8s/ml-server-without-network-policy", "ray.yaml")]


def test_helm_chart_with_network_policy_template_suppresses_k22(tmp_path: Path) -> None:
    (tmp_path / "vllm.yaml").write_text((CROSS / "vllm-deployment.yaml").read_text())
    (tmp_path / "np.yaml").write_text(
        "{{- if .Values.networkPolicy.enabled }}\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n{{- end }}\n"
    )
    assert _scan_repository(tmp_path, _repo(tmp_path, {"np.yaml": FileKind.HELM_TEMPLATE})) == []


def test_broken_and_patch_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: Deployment\napiVersion: apps/v1\nspec: [unclosed\n")
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "vllm.yaml").write_text((CROSS / "vllm-deployment.yaml").read_text())
    assert _scan_repository(tmp_path) == []


def test_many_documents_and_alias_bomb_stay_bounded(tmp_path: Path) -> None:
    svc = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s{n}\n  namespace: ml-serving\nspec:\n"
        "  type: LoadBalancer\n  selector: {{app: llm}}\n  ports:\n  - port: 80\n"
    )
    (tmp_path / "services.yaml").write_text("---\n".join(svc.format(n=n) for n in range(10_000)))
    (tmp_path / "vllm.yaml").write_text((CROSS / "vllm-deployment.yaml").read_text())
    bomb = ["apiVersion: v1", "kind: Service", "a0: &a0 [LoadBalancer, LoadBalancer]"]
    bomb += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    (tmp_path / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    fs = _scan_repository(tmp_path)
    # 10,000 Services publish the same pods: one finding, not 10,000; the bomb is skipped.
    assert sorted(f.rule_id for f in fs) == [
        "exposure/model-server-without-api-key",
        "k8s/ml-server-without-network-policy",
    ]
