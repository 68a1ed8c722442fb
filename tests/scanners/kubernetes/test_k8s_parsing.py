"""Discovery and bad input: multi-document YAML, Lists, Helm templates, invalid
YAML, alias bombs, 10,000-document files, deep nesting, wrong types."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.kubernetes import manifests
from aisec_ci.workspace.kinds import FileKind
from aisec_ci.yamlfile import values
from aisec_ci.yamlfile.values import YamlError, YMap, load_documents
from tests.call_budget import count_calls
from tests.scanners.kubernetes.k8s_support import FIXTURES, by_rule, scan

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec:\n  containers:\n  - name: c\n    image: x/y:1\n"
    "    securityContext: {privileged: true}\n"
)


def test_key_lines_in_multi_document_stream() -> None:
    docs = load_documents("a: 1\n---\n# c\nb:\n  c: 2\n  d: [1, 2]\n")
    assert [d.line for d in docs] == [1, 4]
    second = docs[1].value
    assert isinstance(second, YMap)
    assert second.line_of("b") == 4 and second["b"].line_of("d") == 6


def test_helm_template_is_skipped_with_reason() -> None:
    path = FIXTURES / "helm-chart" / "templates" / "deployment.yaml"
    for kind in (FileKind.KUBERNETES, FileKind.HELM_TEMPLATE):
        with pytest.raises(SkipFile) as exc:
            scan(path, kind=kind)
        assert "helm template" in exc.value.reason.lower()


def test_argo_placeholders_are_not_taken_for_helm() -> None:
    assert scan("argo-parameters.yaml") == []


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n    - name: x\n")
    with pytest.raises(SkipFile) as exc:
        scan(p)
    assert exc.value.reason.startswith("invalid YAML at line")


def test_alias_bomb_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    lines += ["apiVersion: v1", "kind: ConfigMap", "data: *a9"]
    p = tmp_path / "bomb.yaml"
    p.write_text("\n".join(lines) + "\n")
    # 10^10 nodes if expanded: the shared reader measures the document before anything
    # converts it, so not one node is converted.
    converted = count_calls(monkeypatch, values._Converter, "convert", limit=1000)
    with pytest.raises(SkipFile) as exc:
        scan(p)
    assert "alias" in exc.value.reason
    assert converted.calls == 0


def test_small_aliases_still_work() -> None:
    docs = load_documents("base: &b {cpu: 1}\nlimits: *b\nmerged:\n  <<: *b\n  memory: 2\n")
    value = docs[0].value
    assert value["limits"] == {"cpu": 1} and value["merged"] == {"cpu": 1, "memory": 2}


def test_ten_thousand_documents_are_scanned_linearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = tmp_path / "one.yaml"
    one.write_text(POD % 0)
    per_pod = count_calls(monkeypatch, values._Converter, "convert")
    scan(one)
    one_pod = per_pod.calls
    p = tmp_path / "many.yaml"
    p.write_text("---\n".join(POD % i for i in range(10_000)))
    # Each document is converted once, whatever its position: exactly 10,000 times the work of one.
    converted = count_calls(monkeypatch, values._Converter, "convert", limit=10_000 * one_pod)
    fs = by_rule(scan(p), "k8s/privileged-container")
    assert len(fs) == 10_000
    assert fs[-1].start_line == 9 * 9_999 + 8  # 8 lines a pod plus one separator line between pods
    assert one_pod > 0 and converted.calls == 10_000 * one_pod


def test_too_many_documents_is_a_skip() -> None:
    with pytest.raises(YamlError):
        load_documents("a: 1\n---\n" * 30, max_documents=10)


def test_deep_nesting_is_bounded(tmp_path: Path) -> None:
    p = tmp_path / "deep.yaml"
    p.write_text("apiVersion: v1\nkind: ConfigMap\ndata: " + "[" * 900 + "]" * 900 + "\n")
    with pytest.raises(SkipFile) as exc:
        scan(p)
    assert "nesting" in exc.value.reason


def test_wrong_types_do_not_crash(tmp_path: Path) -> None:
    p = tmp_path / "odd.yaml"
    p.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: 5\nspec:\n  containers: {name: x}\n  volumes: oops\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n"
        "      securityContext: [1, 2]\n      containers:\n      - 42\n      - name: c\n        image: 7\n"
        "        securityContext: {capabilities: {add: 3, drop: ALL}, runAsUser: true}\n"
        "        ports: [1, {hostPort: x}]\n"
        "        env: [{name: 1}, {name: HF_TOKEN, value: 12}]\n---\njust a string\n---\n- a list\n---\n"
        "apiVersion: v1\nkind: List\nitems: 3\n"
    )
    fs = scan(p)
    assert all(f.path == "odd.yaml" for f in fs)
    assert by_rule(fs, "k8s/host-port")


def test_documents_without_kind_are_ignored(tmp_path: Path) -> None:
    p = tmp_path / "values.yaml"
    p.write_text("replicaCount: 1\nimage:\n  repository: nginx\n")
    assert scan(p) == []


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.yaml"
    p.write_text("")
    assert scan(p) == []


def test_template_detection_is_linear_on_blank_lines(tmp_path: Path) -> None:
    """The Go-template search is one regex search, whose cost no call count sees; its wall
    time on 500,000 blank lines is measured by bench/pathological.py (k8s-blank-lines).

    What keeps it linear is structural: the prefix before `{{` never crosses a newline, so
    each attempt scans at most one line. A prefix that did (`^\\s*`) would rescan every
    following blank line from each line start, and would also start its match on an
    earlier line, which is what is asserted here."""
    for before in ("\n\n\n", "a:\n\n", "a: \n \n", "\n \t\n- \n"):
        text = before + "{{ .Values.x }}\n"
        match = manifests._GO_TEMPLATE_RE.search(text)
        assert match is not None and "\n" not in match.group(), (before, match)
    assert manifests.looks_like_go_template("\n" * 1000 + "  {{- if .Values.x }}\n")
    p = tmp_path / "blank.yaml"
    p.write_text(
        "\n" * 500_000 + "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: restricted\n"
    )
    assert scan(p) == []


def test_kustomize_patches_report_only_what_they_set() -> None:
    overlay = FIXTURES / "kustomize" / "overlays" / "prod"
    assert scan(overlay / "gpu-patch.yaml") == []
    fs = scan(overlay / "debug-patch.yaml")
    assert {f.rule_id for f in fs} == {"k8s/host-namespaces", "k8s/privileged-container"}
    # The kustomization itself is not a workload, and the base is a full manifest.
    assert scan(overlay / "kustomization.yaml") == []
    assert any(
        f.rule_id == "k8s/restricted-controls-missing" and "runAsNonRoot: true" in f.properties["missing_controls"]
        for f in scan(FIXTURES / "kustomize" / "base" / "deployment.yaml")
    )
