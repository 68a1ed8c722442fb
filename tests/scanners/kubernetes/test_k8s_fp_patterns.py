"""False-positive patterns seen on real ML repositories (KServe, Kubeflow Pipelines,
KubeRay), each rebuilt as a small realistic repository and scanned through the CLI."""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path
from typing import Any

from tests.conftest import run_cli, write_tree


def _scan(tmp_path: Path, files: dict[str, str]) -> list[dict[str, Any]]:
    repo = tmp_path / "repo"
    write_tree(repo, files)
    out = tmp_path / "report.json"
    proc = run_cli(
        "scan", repo, "--offline", "--scanners", "kubernetes", "--format", "json", "--output", out,
        "--fail-on", "none", plugin=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    findings: list[dict[str, Any]] = json.loads(out.read_text())["findings"]
    return findings


def _medium_plus(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["severity"] in ("medium", "high", "critical")]


ISVC = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: sklearn-iris
spec:
  predictor:
    model:
      modelFormat:
        name: sklearn
      storageUri: "gs://kfserving-examples/models/sklearn/1.0/model"
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: torchserve-debug
spec:
  predictor:
    model:
      modelFormat:
        name: pytorch
      storageUri: gs://kfserving-examples/models/torchserve/image_classifier
      securityContext:
        privileged: true
"""

# Fields the ServingRuntime supplies: a finding about their absence on the InferenceService is wrong.
_RUNTIME_FIELD_RULES = {
    "k8s/restricted-controls-missing",
    "k8s/privilege-escalation-allowed",
    "k8s/run-as-non-root-missing",
    "k8s/writable-root-filesystem",
    "k8s/capabilities-not-dropped",
    "k8s/seccomp-profile-missing",
    "k8s/missing-resource-limits",
    "k8s/image-latest-tag",
}


def test_kserve_model_container_fields_come_from_the_serving_runtime(tmp_path: Path) -> None:
    findings = _scan(tmp_path, {"docs/samples/sklearn.yaml": ISVC})
    assert not [f for f in findings if f["rule_id"] in _RUNTIME_FIELD_RULES], findings
    lines = ISVC.splitlines()
    # What the InferenceService itself writes is still judged, at the line it is written on,
    # and the message does not invent a container name (KServe's is kserve-container).
    privileged = [f for f in findings if f["rule_id"] == "k8s/privileged-container"]
    assert len(privileged) == 1
    assert lines[privileged[0]["start_line"] - 1].strip() == "privileged: true"
    for f in findings:
        assert "container model " not in f["message"]
        assert not lines[f["start_line"] - 1].strip().startswith("storageUri:")


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ml-pipeline
spec:
  template:
    spec:
      containers:
        - name: api-server
          image: ghcr.io/kubeflow/kfp-api-server:2.5.0
          securityContext:
            allowPrivilegeEscalation: false
            runAsNonRoot: true
"""

STRATEGIC_PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ml-pipeline
spec:
  template:
    spec:
      containers:
        - name: api-server
          env:
            - name: LOG_LEVEL
              value: debug
"""


def test_kustomize_patches_named_from_any_directory_are_fragments(tmp_path: Path) -> None:
    files = {
        "manifests/base/deployment.yaml": DEPLOYMENT,
        "manifests/base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
        # Named with `patches: - path:` from an overlay in another directory.
        "manifests/shared/log-level.yaml": STRATEGIC_PATCH,
        # Named with the older `patchesStrategicMerge` list.
        "manifests/overlays/dev/debug.yaml": STRATEGIC_PATCH.replace("debug", "trace"),
        # A directory named as a patch: every file below it is one.
        "manifests/overlays/dev/extra/more.yaml": STRATEGIC_PATCH.replace("LOG_LEVEL", "VERBOSE"),
        "manifests/overlays/dev/kustomization.yaml": (
            "resources:\n  - ../../base\n"
            "patches:\n  - path: ../../shared/log-level.yaml\n    target:\n      kind: Deployment\n"
            "  - path: extra\n"
            "patchesStrategicMerge:\n  - debug.yaml\n"
            "patchesJson6902:\n  - target: {group: apps, version: v1, kind: Deployment, name: ml-pipeline}\n"
            "    path: ../../shared/json-patch.yaml\n"
        ),
        "manifests/shared/json-patch.yaml": (
            "- op: add\n  path: /spec/template/spec/containers/0/image\n  value: kfp-api-server:dev\n"
        ),
    }
    findings = _scan(tmp_path, files)
    patch_paths = {
        "manifests/shared/log-level.yaml",
        "manifests/overlays/dev/debug.yaml",
        "manifests/overlays/dev/extra/more.yaml",
        "manifests/shared/json-patch.yaml",
    }
    assert not [f for f in _medium_plus(findings) if f["path"] in patch_paths]


def test_placeholder_images_are_not_unpinned(tmp_path: Path) -> None:
    workflow = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: pipeline-
spec:
  entrypoint: main
  templates:
    - name: system-container-impl
      container:
        image: gcr.io/ml-pipeline/should-be-overridden-during-runtime
        command: [should-be-overridden-during-runtime]
    - name: from-env
      container:
        image: ${IMAGE}
    - name: from-make
      container:
        image: $(IMG)
    - name: from-docs
      container:
        image: <image>
    - name: from-sed
      container:
        image: IMAGE_PLACEHOLDER
    - name: real
      container:
        image: python:latest
"""
    findings = _scan(tmp_path, {"test_data/compiled/pipeline.yaml": workflow})
    tags = [f for f in findings if f["rule_id"] == "k8s/image-latest-tag"]
    assert [f["properties"]["image"] for f in tags] == ["python:latest"]


def _token(seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(40))


CA_PEM = (
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2V4YW1wbGVDQTAeFw0yNDAxMDEwMDAwMDBa\n-----END CERTIFICATE-----\n"
)


def test_secret_values_get_the_secrets_scanners_judgement(tmp_path: Path) -> None:
    real = _token(13)
    files = {
        "config/overlays/test/s3/minio-secret.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s3-creds\nstringData:\n"
            "  AWS_ACCESS_KEY_ID: minioadmin\n  AWS_SECRET_ACCESS_KEY: minioadmin\n"
        ),
        "deploy/ca.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ca-tls\ndata:\n"
            f"  ca.crt: {base64.b64encode(CA_PEM.encode()).decode()}\n"
        ),
        "deploy/proxy.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: proxy\nspec:\n  template:\n    spec:\n"
            "      containers:\n        - name: security-proxy\n          image: kuberay/security-proxy:v1.1.0\n"
            '          env:\n            - name: SECURITY_TOKEN\n              value: "12345"\n'
            '            - name: ENABLE_GRPC\n              value: "true"\n'
        ),
        "deploy/real.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hf\nstringData:\n"
            f"  HF_TOKEN: hf_{real}\n"
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: tgi\nspec:\n  template:\n    spec:\n"
            "      containers:\n        - name: tgi\n"
            "          image: ghcr.io/huggingface/text-generation-inference:2.0\n"
            f"          env:\n            - name: HF_TOKEN\n              value: hf_{real}\n"
        ),
    }
    findings = _scan(tmp_path, files)
    loud = {(f["path"], f["rule_id"]) for f in _medium_plus(findings) if "secret" in f["rule_id"]}
    assert loud == {("deploy/real.yaml", "k8s/secret-committed"), ("deploy/real.yaml", "k8s/secret-in-env")}
    # A committed Secret of public or default values is still listed, at low, saying why.
    low = [f for f in findings if f["rule_id"] == "k8s/secret-committed" and f["severity"] == "low"]
    assert {f["path"] for f in low} == {"config/overlays/test/s3/minio-secret.yaml", "deploy/ca.yaml"}
    assert any("public certificate" in f["message"] for f in low)
    assert not any(f["rule_id"] == "k8s/secret-in-env" and f["path"] == "deploy/proxy.yaml" for f in findings)
    report = json.dumps(findings)
    assert real not in report and "minioadmin" not in report


def test_unnamed_containers_are_not_given_invented_names(tmp_path: Path) -> None:
    pod = """\
apiVersion: v1
kind: Pod
metadata:
  name: compiled-step
spec:
  containers:
    - name: ""
      image: ghcr.io/kubeflow/kfp-launcher:2.5.0
      args: ["--copy", "/kfp-launcher/launch"]
    - image: ghcr.io/kubeflow/kfp-driver:2.5.0
      args: ["--type", "CONTAINER"]
"""
    findings = _scan(tmp_path, {"deploy/pod.yaml": pod})
    restricted = sorted(
        (f for f in findings if f["rule_id"] == "k8s/restricted-controls-missing"), key=lambda f: f["start_line"]
    )
    settings = (
        "allowPrivilegeEscalation: false, capabilities.drop: [ALL], readOnlyRootFilesystem: true, "
        "runAsNonRoot: true, seccompProfile: RuntimeDefault"
    )
    assert [f["message"] for f in restricted] == [
        f"Pod compiled-step: the unnamed container #1 of containers misses 5 restricted securityContext settings: "
        f"{settings}",
        f"Pod compiled-step: the unnamed container #2 of containers misses 5 restricted securityContext settings: "
        f"{settings}",
    ]
    lines = pod.splitlines()
    assert [lines[f["start_line"] - 1].strip() for f in restricted] == [
        '- name: ""',
        "- image: ghcr.io/kubeflow/kfp-driver:2.5.0",
    ]


LLM_ISVC = """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata:
  name: qwen
spec:
  model:
    uri: hf://Qwen/Qwen2.5-7B-Instruct
  template:
    containers:
      - name: main
        resources:
          limits:
            nvidia.com/gpu: "1"
"""


def test_llm_inference_service_fields_come_from_its_config_presets(tmp_path: Path) -> None:
    findings = _scan(tmp_path, {"docs/samples/llmisvc/qwen.yaml": LLM_ISVC})
    assert not [f for f in findings if f["rule_id"] in _RUNTIME_FIELD_RULES], findings


def test_test_data_findings_are_one_step_lower(tmp_path: Path) -> None:
    pod = DEPLOYMENT.replace("ghcr.io/kubeflow/kfp-api-server:2.5.0", "ghcr.io/kubeflow/kfp-driver:latest")
    findings = _scan(tmp_path, {"test_data/compiled-workflows/hello.yaml": pod, "deploy/hello.yaml": pod})
    tags = {f["path"]: f["severity"] for f in findings if f["rule_id"] == "k8s/image-latest-tag"}
    assert tags == {"test_data/compiled-workflows/hello.yaml": "low", "deploy/hello.yaml": "medium"}


OPERATOR_ROLE = """\
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: manager-role
rules:
- apiGroups:
  - ""
  resources:
  - secrets
  verbs:
  - get
  - list
  - watch
"""

RECONCILER_GO = """\
package controllers

// +kubebuilder:rbac:groups=serving.example.io,resources=predictors,verbs=get;list;watch;update
// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get;list;watch

func (r *PredictorReconciler) Reconcile() {}
"""


def _scan_profile(tmp_path: Path, files: dict[str, str], profile: str) -> list[dict[str, Any]]:
    repo = tmp_path / "repo"
    write_tree(repo, files)
    out = tmp_path / f"report-{profile}.json"
    proc = run_cli(
        "scan", repo, "--offline", "--scanners", "kubernetes", "--format", "json", "--output", out,
        "--fail-on", "none", "--profile", profile, plugin=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    findings: list[dict[str, Any]] = json.loads(out.read_text())["findings"]
    return findings


def test_operator_secret_reads_declared_by_kubebuilder_markers_are_strict(tmp_path: Path) -> None:
    files = {"config/rbac/role.yaml": OPERATOR_ROLE, "controllers/predictor_controller.go": RECONCILER_GO}
    assert [f for f in _scan(tmp_path / "a", files) if f["rule_id"] == "k8s/rbac-sensitive-access"] == []
    (strict,) = [
        f for f in _scan_profile(tmp_path / "b", files, "strict") if f["rule_id"] == "k8s/rbac-sensitive-access"
    ]
    assert strict["severity"] == "medium" and strict["profile"] == "strict"
    assert "controllers/predictor_controller.go:4" in strict["message"]
    assert strict["properties"]["declared_by"] == "controllers/predictor_controller.go:4"


def test_undeclared_or_other_resource_markers_keep_the_cluster_wide_secret_read(tmp_path: Path) -> None:
    # No marker at all, a marker for another resource, and one for secrets with write verbs only.
    for n, go in enumerate(
        (
            None,
            "// +kubebuilder:rbac:groups=core,resources=configmaps,verbs=get;list\n",
            "// +kubebuilder:rbac:groups=core,resources=secrets,verbs=create;delete\n",
        )
    ):
        files = {"config/rbac/role.yaml": OPERATOR_ROLE}
        if go is not None:
            files["controllers/c.go"] = "package controllers\n" + go
        (finding,) = [f for f in _scan(tmp_path / str(n), files) if f["rule_id"] == "k8s/rbac-sensitive-access"]
        assert (finding["severity"], finding["profile"]) == ("medium", "default"), go


MODEL_CACHE = """\
apiVersion: apps/v1
kind: {kind}
metadata:
  name: model-cache
spec:
  selector:
    matchLabels: {{app: model-cache}}
  template:
    metadata:
      labels: {{app: model-cache}}
    spec:
      containers:
        - name: agent
          image: ghcr.io/example/model-agent:v1.2.0
          volumeMounts:
            - mountPath: /mnt/models
              name: models
              readOnly: false
      volumes:
        - name: models
          hostPath:
            path: /models
            type: DirectoryOrCreate
"""


def test_a_node_agent_writing_the_node_model_cache_is_strict_a_server_is_not(tmp_path: Path) -> None:
    def host_path(kind: str, profile: str) -> list[tuple[str, str]]:
        found = _scan_profile(tmp_path / f"{kind}-{profile}", {"deploy.yaml": MODEL_CACHE.format(kind=kind)}, profile)
        return [(f["severity"], f["profile"]) for f in found if f["rule_id"] == "k8s/writable-model-host-path"]

    assert host_path("DaemonSet", "default") == []
    assert host_path("DaemonSet", "strict") == [("medium", "strict")]
    assert host_path("Deployment", "default") == [("high", "default")]
