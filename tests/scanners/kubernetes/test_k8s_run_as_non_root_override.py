"""A container's own `runAsNonRoot: false` overrides the pod's `runAsNonRoot: true`."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.kubernetes.k8s_support import by_rule, scan

RULE = "k8s/run-as-non-root-missing"

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: inference
spec:
  selector:
    matchLabels: {app: inference}
  template:
    metadata:
      labels: {app: inference}
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      initContainers:
      - name: fetch-weights
        image: busybox:1.36
        securityContext:
          runAsNonRoot: false
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
      containers:
      - name: server
        image: vllm/vllm-openai:v0.6.0
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
      - name: sidecar
        image: envoyproxy/envoy:v1.30.1
        securityContext:
          runAsNonRoot: false
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
"""


def _line(text: str, needle: str, occurrence: int = 1) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def test_container_false_overrides_pod_true(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(MANIFEST, encoding="utf-8")
    findings = by_rule(scan(path), RULE)
    got = sorted((f.start_line, f.message) for f in findings)
    # Only the two containers that opt out; `server` inherits the pod's true.
    assert [line for line, _ in got] == [
        _line(MANIFEST, "runAsNonRoot: false", 1),
        _line(MANIFEST, "runAsNonRoot: false", 2),
    ]
    assert "fetch-weights" in got[0][1] and "sidecar" in got[1][1]
    assert all("server" not in message for _, message in got)


def test_pod_true_alone_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(MANIFEST.replace("runAsNonRoot: false", "runAsNonRoot: true"), encoding="utf-8")
    assert by_rule(scan(path), RULE) == []
