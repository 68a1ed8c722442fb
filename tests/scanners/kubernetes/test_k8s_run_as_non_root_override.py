"""A container's own `runAsNonRoot: false` overrides the pod's `runAsNonRoot: true`:
the setting counts as missing in that container's restricted finding, and only there."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.kubernetes.k8s_support import by_rule, scan

RULE = "k8s/restricted-controls-missing"
OLD_RULE = "k8s/run-as-non-root-missing"

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
    findings = {f.message.split(": container ")[1].split(" ")[0]: f for f in by_rule(scan(path), RULE)}
    # Only the two containers that opt out miss runAsNonRoot; `server` inherits the pod's true.
    assert "runAsNonRoot: true" in findings["fetch-weights"].properties["missing_controls"]
    assert "runAsNonRoot: true" in findings["sidecar"].properties["missing_controls"]
    assert "runAsNonRoot: true" not in findings["server"].properties["missing_controls"]
    # The override is named as what the manifest writes, and the finding sits on the container.
    for name in ("fetch-weights", "sidecar"):
        f = findings[name]
        assert "runAsNonRoot: true (container sets runAsNonRoot: false)" in f.message
        assert f.properties["overridden_controls"] == ["runAsNonRoot: true"]
        assert f.start_line == _line(MANIFEST, f"- name: {name}")
        # The pod's seccomp profile covers every container.
        assert "seccompProfile: RuntimeDefault" not in f.properties["missing_controls"]


def test_pod_true_alone_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(MANIFEST.replace("runAsNonRoot: false", "runAsNonRoot: true"), encoding="utf-8")
    assert all("runAsNonRoot: true" not in f.properties["missing_controls"] for f in by_rule(scan(path), RULE))


def test_enabled_old_rule_reports_the_override_on_its_own_again(tmp_path: Path) -> None:
    """`rules: {k8s/run-as-non-root-missing: {enabled: true}}` brings the per-setting finding
    back, at the line of the override, and takes the setting out of the consolidated list."""
    path = tmp_path / "deploy.yaml"
    path.write_text(MANIFEST, encoding="utf-8")
    findings = scan(path, switches={OLD_RULE: True})
    old = sorted(f.start_line for f in by_rule(findings, OLD_RULE))
    assert old == [_line(MANIFEST, "runAsNonRoot: false", 1), _line(MANIFEST, "runAsNonRoot: false", 2)]
    assert all("runAsNonRoot: true" not in f.properties["missing_controls"] for f in by_rule(findings, RULE))
