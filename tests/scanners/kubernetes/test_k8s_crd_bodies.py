"""CustomResourceDefinitions are not parsed: no check reads them, and an operator's install bundle
is megabytes of their OpenAPI schemas (kserve's 3.6 MB bundles took 1 GB and half a minute)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec_ci.scanners.kubernetes.manifests import without_crd_bodies
from tests.call_budget import count_calls
from tests.conftest import run_cli, write_tree

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: inferenceservices.serving.kserve.io
spec:
  group: serving.kserve.io
  names: {kind: InferenceService, plural: inferenceservices}
  versions:
  - name: v1beta1
    schema:
      openAPIV3Schema:
        description: 'Render with {{ .Values.image }} and mind the: colons'
        properties:
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: manager
spec:
  selector: {matchLabels: {app: m}}
  template:
    metadata: {labels: {app: m}}
    spec:
      containers:
      - name: manager
        image: kserve/kserve-controller:v0.14.0
        securityContext:
          privileged: true
"""


def _bundle(fields: int) -> str:
    body = "".join(
        f"          field{i}:\n            type: string\n            description: x\n" for i in range(fields)
    )
    return CRD + body + "---\n" + DEPLOYMENT


def test_a_bundle_keeps_its_workloads_lines_and_skips_the_schemas(tmp_path: Path) -> None:
    text = _bundle(2000)
    blanked = without_crd_bodies(text)
    assert blanked.count("\n") == text.count("\n") and "openAPIV3Schema" not in blanked
    write_tree(tmp_path / "repo", {"install/v0.14.0/kserve.yaml": text})
    out = tmp_path / "r.json"
    proc = run_cli(
        "scan", tmp_path / "repo", "--no-git", "--scanners", "kubernetes", "--profile", "audit",
        "--fail-on", "none", "-f", "json", "-o", out, plugin=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    # The schema's `{{ ... }}` text does not make the bundle a Helm template, and the privileged
    # container is reported on its own line.
    assert report["skipped"] == []
    privileged = [f for f in report["findings"] if f["rule_id"] == "k8s/privileged-container"]
    assert [f["start_line"] for f in privileged] == [text.splitlines().index("          privileged: true") + 1]


def test_crd_schemas_cost_no_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aisec_ci.scanners.base import ScanContext
    from aisec_ci.scanners.kubernetes import SCANNER
    from aisec_ci.workspace.files import SourceFile
    from aisec_ci.workspace.kinds import FileKind
    from aisec_ci.yamlfile import values

    path = tmp_path / "bundle.yaml"
    path.write_text(_bundle(3000), encoding="utf-8")
    sf = SourceFile(path="bundle.yaml", abspath=path, kind=FileKind.KUBERNETES, size=path.stat().st_size)
    scanner = SCANNER(ScanContext(root=tmp_path, options={}))
    calls = count_calls(monkeypatch, values.YMap, "__init__")
    list(scanner.scan_file(sf))
    # The Deployment's handful of mappings, not the 3,000-field schema's.
    assert 0 < calls.calls < 50
