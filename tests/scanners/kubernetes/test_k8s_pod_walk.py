"""The pod spec walk reaches every pod template, ML custom resources included (K29)."""

from __future__ import annotations

import re

from tests.scanners.kubernetes.k8s_support import FIXTURES, by_rule, scan

CRDS = "ml-crds.yaml"


def _markers() -> dict[int, str]:
    """line -> marker for every `privileged: true  # marker` line of the fixture."""
    out = {}
    for number, text in enumerate((FIXTURES / CRDS).read_text().splitlines(), start=1):
        m = re.search(r"privileged: true\s+# (\S+)", text)
        if m:
            out[number] = m.group(1)
    return out


def test_every_embedded_pod_template_is_reached() -> None:
    markers = _markers()
    assert len(markers) == 21
    found = {f.start_line for f in by_rule(scan(CRDS), "k8s/privileged-container")}
    missing = sorted(markers[ln] for ln in set(markers) - found)
    assert not missing, f"pod templates not reached: {missing}"
    assert found == set(markers)


def test_findings_name_the_owning_object() -> None:
    fs = by_rule(scan(CRDS), "k8s/privileged-container")
    by_line = {f.start_line: f for f in fs}
    markers = {v: k for k, v in _markers().items()}
    assert by_line[markers["kserve-predictor-model"]].message.startswith(
        "InferenceService llm: the unnamed `model` container "
    )
    assert by_line[markers["rayjob-submitter"]].properties["kind"] == "RayJob"
    assert by_line[markers["lws-worker"]].properties["name"] == "lws"
    assert by_line[markers["list-daemonset"]].properties["kind"] == "DaemonSet"


def test_keys_are_distinct_and_line_independent() -> None:
    fs = scan(CRDS)
    keys = [(f.rule_id, f.key) for f in fs]
    assert len(keys) == len(set(keys))
    assert all(str(f.start_line) not in f.key.split(":")[-1] for f in by_rule(fs, "k8s/privileged-container"))


def test_argo_workflow_pod_level_fields_reported_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "wf.yaml"
    p.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  hostNetwork: true\n"
        "  templates:\n  - name: a\n    container: {image: 'x/a:1'}\n  - name: b\n    container: {image: 'x/b:1'}\n"
    )
    assert [f.start_line for f in by_rule(scan(p), "k8s/host-namespaces")] == [5]
