"""One finding per container for the restricted Pod Security settings it lacks
(k8s/restricted-controls-missing), end to end through the CLI: what it lists, where it
points, its suggested securityContext, and what still happens to the per-setting rule
ids it replaced (suppressions, config) and to the baseline rules beside it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from aisec_ci.scanners.kubernetes import SCANNER
from aisec_ci.severity import Severity
from tests.conftest import run_cli, write_tree
from tests.scanners.kubernetes.k8s_support import FIXTURES, by_rule, scan

RULE = "k8s/restricted-controls-missing"
ALL_FIVE = [
    "allowPrivilegeEscalation: false",
    "capabilities.drop: [ALL]",
    "readOnlyRootFilesystem: true",
    "runAsNonRoot: true",
    "seccompProfile: RuntimeDefault",
]
OLD_IDS = {
    "allowPrivilegeEscalation: false": "k8s/privilege-escalation-allowed",
    "capabilities.drop: [ALL]": "k8s/capabilities-not-dropped",
    "readOnlyRootFilesystem: true": "k8s/writable-root-filesystem",
    "runAsNonRoot: true": "k8s/run-as-non-root-missing",
    "seccompProfile: RuntimeDefault": "k8s/seccomp-profile-missing",
}
NAMES = ("two-containers", "pod-level-partial", "gpu-node-agent")


def _text(name: str) -> str:
    return (FIXTURES / "restricted" / f"{name}.yaml").read_text(encoding="utf-8")


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def _scan_repo(tmp_path: Path, files: dict[str, str], config: str | None = None) -> dict[str, Any]:
    repo = tmp_path / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    write_tree(repo, files | ({".aisec.yml": config} if config is not None else {}))
    out = tmp_path / "report.json"
    proc = run_cli(
        "scan", repo, "--offline", "--scanners", "kubernetes", "--format", "json", "--output", out,
        "--fail-on", "none", plugin=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report


def _of(report: dict[str, Any], rule: str, path: str | None = None) -> list[dict[str, Any]]:
    return sorted(
        (f for f in report["findings"] if f["rule_id"] == rule and (path is None or f["path"] == path)),
        key=lambda f: f["start_line"],
    )


def test_two_containers_without_security_context_give_one_finding_each(tmp_path: Path) -> None:
    text = _text("two-containers")
    report = _scan_repo(tmp_path, {"deploy/two-containers.yaml": text})
    found = _of(report, RULE)
    assert [(f["start_line"], f["properties"]["container"]) for f in found] == [
        (_line(text, "- name: server"), "server"),
        (_line(text, "- name: metrics"), "metrics"),
    ]
    for f in found:
        assert f["properties"]["missing_controls"] == ALL_FIVE
        assert f["severity"] == "medium"
        assert f["message"] == (
            f"Deployment llm-server: container {f['properties']['container']} misses 5 restricted securityContext "
            "settings: " + ", ".join(ALL_FIVE)
        )
    # Nothing else is said about those settings: the per-setting rules are folded in.
    assert not [f for f in report["findings"] if f["rule_id"] in OLD_IDS.values()]
    assert {f["rule_id"] for f in report["findings"]} <= {RULE, "k8s/ml-server-without-network-policy"}


def test_pod_level_settings_count_and_container_overrides_do_not(tmp_path: Path) -> None:
    text = _text("pod-level-partial")
    report = _scan_repo(tmp_path, {"deploy/pod-level-partial.yaml": text})
    found = {f["properties"]["container"]: f for f in _of(report, RULE)}
    # fetch-model has every setting (runAsNonRoot and seccomp from the pod): no finding.
    assert sorted(found) == ["exporter", "triton"]
    # triton inherits runAsNonRoot and seccomp; only the low-weight settings are missing.
    assert found["triton"]["properties"]["missing_controls"] == [
        "capabilities.drop: [ALL]",
        "readOnlyRootFilesystem: true",
    ]
    assert found["triton"]["severity"] == "low"
    # exporter switches runAsNonRoot off again and writes readOnlyRootFilesystem: false.
    exporter = found["exporter"]
    assert exporter["properties"]["missing_controls"] == [
        "allowPrivilegeEscalation: false",
        "capabilities.drop: [ALL]",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
    ]
    assert exporter["properties"]["overridden_controls"] == ["readOnlyRootFilesystem: true", "runAsNonRoot: true"]
    assert "runAsNonRoot: true (container sets runAsNonRoot: false)" in exporter["message"]
    assert "readOnlyRootFilesystem: true (container sets readOnlyRootFilesystem: false)" in exporter["message"]
    assert exporter["severity"] == "medium"
    assert exporter["start_line"] == _line(text, "- name: exporter")


# Fingerprints of the baseline-breaking findings as the scanner produced them before the
# restricted settings were consolidated (same paths): baselines written then must still match.
BASELINE_FINGERPRINTS = {
    ("k8s/host-namespaces", "hostPID: true"): "2f7bd06a5658f941811a4f28bb8d22b1",
    ("k8s/privileged-container", "privileged: true"): "21f968a5d5e8ac94326aa9149e2e8c86",
    ("k8s/run-as-root-user", "runAsUser: 0"): "31ddd16e97598ad809d8c67eb16d5f78",
    ("k8s/privilege-escalation-allowed", "allowPrivilegeEscalation: true"): "01f4967e4602ee288891859093945ef8",
    ("k8s/added-capabilities", "add: [SYS_ADMIN]"): "beb3c4737a44fdc92348965446f3d827",
}


def test_baseline_breaks_stay_separate_findings_with_unchanged_fingerprints(tmp_path: Path) -> None:
    text = _text("gpu-node-agent")
    report = _scan_repo(tmp_path, {"deploy/gpu-node-agent.yaml": text})
    lines = text.splitlines()
    got = {
        (f["rule_id"], lines[f["start_line"] - 1].strip().lstrip("- ")): (f["fingerprint"], f["severity"])
        for f in report["findings"]
        if f["rule_id"] != RULE
    }
    assert {k: fp for k, (fp, _) in got.items()} == BASELINE_FINGERPRINTS
    assert got[("k8s/privileged-container", "privileged: true")][1] == "high"
    assert got[("k8s/privilege-escalation-allowed", "allowPrivilegeEscalation: true")][1] == "medium"
    found = {f["properties"]["container"]: f for f in _of(report, RULE)}
    # Neither escalation (privileged implies it; `true` has its finding) nor runAsNonRoot
    # (runAsUser: 0 has its finding) is repeated in the list.
    assert found["agent"]["properties"]["missing_controls"] == [
        "capabilities.drop: [ALL]",
        "readOnlyRootFilesystem: true",
        "seccompProfile: RuntimeDefault",
    ]
    assert found["agent"]["severity"] == "low"
    assert found["profiler"]["properties"]["missing_controls"] == [
        "capabilities.drop: [ALL]",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
        "seccompProfile: RuntimeDefault",
    ]
    # The suggested block keeps what the manifest writes and says where it is reported.
    suggestion = found["profiler"]["properties"]["suggested_security_context"]
    assert "allowPrivilegeEscalation: true  # reported by k8s/privilege-escalation-allowed" in suggestion


def _apply_suggestions(text: str, findings: list[dict[str, Any]]) -> str:
    """The manifest with each reported container's securityContext replaced by the suggestion."""
    suggestions: dict[str, dict[str, Any]] = {}
    for f in findings:
        loaded = yaml.safe_load(f["properties"]["suggested_security_context"])
        assert list(loaded) == ["securityContext"] and isinstance(loaded["securityContext"], dict)
        block = loaded["securityContext"]
        # Every listed setting is in the block, as restricted asks for it.
        expect = {
            "allowPrivilegeEscalation: false": ("allowPrivilegeEscalation", False),
            "readOnlyRootFilesystem: true": ("readOnlyRootFilesystem", True),
            "runAsNonRoot: true": ("runAsNonRoot", True),
            "seccompProfile: RuntimeDefault": ("seccompProfile", {"type": "RuntimeDefault"}),
        }
        for control in f["properties"]["missing_controls"]:
            if control == "capabilities.drop: [ALL]":
                assert block["capabilities"]["drop"] == ["ALL"]
            else:
                field, value = expect[control]
                assert block[field] == value, control
        suggestions[f["properties"]["container"]] = block
    docs = list(yaml.safe_load_all(text))
    for doc in docs:
        spec = doc["spec"]["template"]["spec"]
        for group in ("initContainers", "containers"):
            for container in spec.get(group, []):
                if container["name"] in suggestions:
                    container["securityContext"] = suggestions.pop(container["name"])
    assert not suggestions
    return yaml.safe_dump_all(docs, sort_keys=False)


def test_suggested_security_context_parses_and_satisfies_every_listed_setting(tmp_path: Path) -> None:
    files = {f"deploy/{name}.yaml": _text(name) for name in NAMES}
    before = _scan_repo(tmp_path, files)
    assert len(_of(before, RULE)) == 6
    fixed = {path: _apply_suggestions(text, _of(before, RULE, path)) for path, text in files.items()}
    after = _scan_repo(tmp_path, fixed)
    assert _of(after, RULE) == []
    # What breaks the baseline is untouched by the suggestion and still reported, unchanged.
    keep = {"k8s/host-namespaces", "k8s/privileged-container", "k8s/run-as-root-user", "k8s/added-capabilities"}
    assert {(f["rule_id"], f["fingerprint"]) for f in before["findings"] if f["rule_id"] in keep} == {
        (f["rule_id"], f["fingerprint"]) for f in after["findings"] if f["rule_id"] in keep
    }


def _with_comment(text: str, needle: str, comment: str) -> str:
    """`comment` on its own line above the first line holding `needle`, at its indentation."""
    out = []
    for line in text.splitlines():
        if needle in line and comment:
            out.append(line[: len(line) - len(line.lstrip())] + comment)
            comment = ""
        out.append(line)
    return "\n".join(out) + "\n"


def test_inline_suppression_of_an_old_id_takes_that_setting_out(tmp_path: Path) -> None:
    text = _with_comment(
        _text("two-containers"),
        "- name: server",
        "# aisec: ignore[k8s/seccomp-profile-missing] the kubelet defaults every pod to RuntimeDefault",
    )
    report = _scan_repo(tmp_path, {"deploy/two-containers.yaml": text})
    found = {f["properties"]["container"]: f for f in _of(report, RULE)}
    assert found["server"]["properties"]["missing_controls"] == [c for c in ALL_FIVE if "seccomp" not in c]
    assert found["server"]["properties"]["suppressed_controls"] == ["seccompProfile: RuntimeDefault"]
    assert found["metrics"]["properties"]["missing_controls"] == ALL_FIVE
    # The suppression is still listed, with its reason and the fingerprint it had before.
    (sup,) = report["suppressed"]
    assert sup["rule_id"] == "k8s/seccomp-profile-missing"
    assert sup["suppression"] == {"kind": "inline", "reason": "the kubelet defaults every pod to RuntimeDefault"}
    assert sup["fingerprint"] == "673abfae39c48c34db47deb66b803ca7"
    assert not _of(report, "core/invalid-suppression")


def test_inline_suppression_on_the_old_findings_line_is_honoured(tmp_path: Path) -> None:
    # Before, a missing drop ALL was reported at the `securityContext:` key of the container.
    text = _text("pod-level-partial")
    lines = text.splitlines()
    sc_line = _line(text, "- name: triton") + 2
    assert lines[sc_line - 1].strip() == "securityContext:"
    lines[sc_line - 1] += "  # aisec: ignore[k8s/capabilities-not-dropped] NET_RAW needed for ICMP health checks"
    report = _scan_repo(tmp_path, {"deploy/pod-level-partial.yaml": "\n".join(lines) + "\n"})
    found = {f["properties"]["container"]: f for f in _of(report, RULE)}
    assert found["triton"]["properties"]["missing_controls"] == ["readOnlyRootFilesystem: true"]
    assert [(s["rule_id"], s["start_line"]) for s in report["suppressed"]] == [
        ("k8s/capabilities-not-dropped", sc_line)
    ]


def test_every_setting_suppressed_by_old_ids_means_no_finding(tmp_path: Path) -> None:
    ids = ", ".join(sorted(OLD_IDS.values()))
    text = _with_comment(_text("two-containers"), "- name: metrics", f"# aisec: ignore[{ids}] statsd sidecar, reviewed")
    report = _scan_repo(tmp_path, {"deploy/two-containers.yaml": text})
    assert [f["properties"]["container"] for f in _of(report, RULE)] == ["server"]
    assert sorted(s["rule_id"] for s in report["suppressed"]) == sorted(OLD_IDS.values())
    assert all(s["suppression"]["reason"] == "statsd sidecar, reviewed" for s in report["suppressed"])


def test_suppressing_the_new_id_or_a_glob_hides_the_whole_finding(tmp_path: Path) -> None:
    for directive in ("aisec: ignore[k8s/restricted-controls-missing] sidecar", "aisec: ignore[k8s/*] sidecar"):
        text = _with_comment(_text("two-containers"), "- name: metrics", f"# {directive}")
        report = _scan_repo(tmp_path, {"deploy/two-containers.yaml": text})
        assert [f["properties"]["container"] for f in _of(report, RULE)] == ["server"], directive
        # One suppressed finding, the consolidated one, with all five settings.
        ours = [s for s in report["suppressed"] if s["rule_id"] == RULE or s["rule_id"] in OLD_IDS.values()]
        assert [(s["rule_id"], s["properties"]["missing_controls"]) for s in ours] == [(RULE, ALL_FIVE)], directive


def test_config_rule_switches_for_old_ids(tmp_path: Path) -> None:
    config = (
        "rules:\n"
        "  k8s/writable-root-filesystem: {enabled: false, reason: model servers write their compile cache}\n"
        "  k8s/seccomp-profile-missing: {enabled: true}\n"
    )
    text = _text("two-containers")
    report = _scan_repo(tmp_path, {"deploy/two-containers.yaml": text}, config)
    for f in _of(report, RULE):
        # Switched off: not checked; switched on: reported on its own instead of in the list.
        assert f["properties"]["missing_controls"] == [
            "allowPrivilegeEscalation: false",
            "capabilities.drop: [ALL]",
            "runAsNonRoot: true",
        ]
    seccomp = _of(report, "k8s/seccomp-profile-missing")
    assert [(f["start_line"], f["fingerprint"], f["severity"]) for f in seccomp] == [
        (_line(text, "- name: server"), "673abfae39c48c34db47deb66b803ca7", "low"),
        (_line(text, "- name: metrics"), "72c33f99a4c396627648cf83317033f2", "low"),
    ]
    assert not _of(report, "k8s/writable-root-filesystem")


def test_patch_lists_only_settings_it_writes_weaker(tmp_path: Path) -> None:
    patch = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: triton
spec:
  template:
    spec:
      containers:
        - name: triton
          securityContext:
            runAsNonRoot: false
"""
    report = _scan_repo(tmp_path, {"overlays/debug/patches/triton.yaml": patch})
    (f,) = _of(report, RULE)
    assert f["properties"]["missing_controls"] == ["runAsNonRoot: true"]
    assert f["properties"]["suggested_security_context"] == "securityContext:\n  runAsNonRoot: true\n"


def test_allowlist_naming_every_old_id_allows_the_finding() -> None:
    path = FIXTURES / "restricted" / "two-containers.yaml"
    entry = {"images": ["prom/statsd-exporter:*"], "reason": "upstream exporter image, reviewed"}
    every = {"allowlist": [dict(entry, rules=sorted(OLD_IDS.values()))]}
    found = {f.properties["container"]: f for f in by_rule(scan(path, every), RULE)}
    assert found["metrics"].severity is Severity.INFO
    assert found["metrics"].properties["allowlisted"] == "upstream exporter image, reviewed"
    assert found["server"].severity is Severity.MEDIUM
    # Naming only some of the listed settings' ids is not enough.
    some = {"allowlist": [dict(entry, rules=["k8s/writable-root-filesystem"])]}
    found = {f.properties["container"]: f for f in by_rule(scan(path, some), RULE)}
    assert found["metrics"].severity is Severity.MEDIUM


def test_old_ids_stay_in_the_catalog_documented_and_off_by_default() -> None:
    rules = {r.id: r for r in SCANNER.rules}
    assert rules[RULE].enabled_by_default and rules[RULE].severity is Severity.MEDIUM
    for old in OLD_IDS.values():
        rule = rules[old]
        assert "k8s/restricted-controls-missing" in rule.what, old
        assert rule.enabled_by_default is (old == "k8s/privilege-escalation-allowed"), old


def test_a_patch_named_as_one_lists_only_weakened_settings(tmp_path: Path) -> None:
    partial = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: manager\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - name: manager\n        ports:\n        - containerPort: 8080\n"
    )
    # kserve names such patches only in a commented-out kustomization line: the name says it.
    report = _scan_repo(
        tmp_path,
        {
            "config/default/manager_prometheus_metrics_patch.yaml": partial,
            "config/default/kustomization.yaml": "resources: []\n#- manager_prometheus_metrics_patch.yaml\n",
            "config/manager/manager.yaml": partial,
        },
    )
    assert [f["path"] for f in report["findings"] if f["rule_id"] == RULE] == ["config/manager/manager.yaml"]


def test_an_image_a_kustomization_retags_is_not_latest(tmp_path: Path) -> None:
    manager = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: op\nspec:\n  selector: {}\n  template:\n"
        "    spec:\n      containers:\n      - name: op\n        image: kuberay/operator\n"
        "      - name: sidecar\n        image: busybox:latest\n"
    )
    overlay = (
        "resources:\n- ../manager\nimages:\n- name: kuberay/operator\n"
        "  newName: quay.io/kuberay/operator\n  newTag: v1.4.0\n"
    )
    report = _scan_repo(
        tmp_path, {"config/manager/manager.yaml": manager, "config/default/kustomization.yaml": overlay}
    )
    tagged = [f["properties"]["image"] for f in report["findings"] if f["rule_id"] == "k8s/image-latest-tag"]
    assert tagged == ["busybox:latest"]


def test_wildcards_aggregated_into_edit_are_low_not_medium(tmp_path: Path) -> None:
    role = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\n  labels:\n"
        "    rbac.authorization.k8s.io/aggregate-to-{to}: 'true'\nrules:\n- apiGroups: [{group}]\n"
        "  resources: [pipelines]\n  verbs: ['*']\n"
    )
    files = {
        "rbac/edit.yaml": role.format(name="edit-ext", to="edit", group="pipelines.kubeflow.org"),
        "rbac/view.yaml": role.format(name="view-ext", to="view", group="pipelines.kubeflow.org"),
        "rbac/core.yaml": role.format(name="edit-core", to="edit", group="''"),
    }
    # A platform's own user-facing edit role (Kubeflow's profiles) aggregates the same way.
    files["rbac/platform.yaml"] = role.format(name="kfp-edit", to="edit", group="kubeflow.org").replace(
        "rbac.authorization.k8s.io/aggregate-to-edit",
        "rbac.authorization.kubeflow.org/aggregate-to-kubeflow-pipelines-edit",
    )
    files["rbac/lookalike.yaml"] = role.format(name="x", to="edit", group="kubeflow.org").replace(
        "aggregate-to-edit", "aggregate-to-editors-club"
    )
    report = _scan_repo(tmp_path, files)
    got = {f["path"]: f["severity"] for f in report["findings"] if f["rule_id"] == "k8s/rbac-wildcard"}
    assert got == {
        "rbac/edit.yaml": "low",
        "rbac/view.yaml": "medium",
        "rbac/core.yaml": "high",
        "rbac/platform.yaml": "low",
        "rbac/lookalike.yaml": "medium",
    }


def test_latest_in_a_kustomize_image_patch_is_strict_hygiene(tmp_path: Path) -> None:
    patch = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: manager\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - name: manager\n        image: kserve/kserve-controller:latest\n"
    )
    base = patch.replace("spec:\n  template:", "spec:\n  selector: {}\n  template:").replace(":latest", ":v0.14.0")
    files = {
        "config/default/manager_image_patch.yaml": patch,
        "config/manager/manager.yaml": base.replace(":v0.14.0", ":latest"),
    }
    report = _scan_repo(tmp_path, files)
    assert [f["path"] for f in report["findings"] if f["rule_id"] == "k8s/image-latest-tag"] == [
        "config/manager/manager.yaml"
    ]
    assert report["summary"]["hidden"]["out_of_profile"]["strict"] >= 1


def test_reading_secrets_is_medium_cluster_wide_and_low_in_a_namespace(tmp_path: Path) -> None:
    rule = "rules:\n- apiGroups: ['']\n  resources: [secrets]\n  verbs: [get, list, watch]\n"
    files = {
        "rbac/cluster.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: op\n"
        + rule,
        "rbac/ns.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: reader\n"
        "  namespace: ml\n" + rule,
    }
    report = _scan_repo(tmp_path, files)
    got = {
        f["path"]: (f["severity"], f["message"])
        for f in report["findings"]
        if f["rule_id"] == "k8s/rbac-sensitive-access"
    }
    assert got["rbac/cluster.yaml"] == ("medium", "ClusterRole op: rule 0 can read Secrets")
    assert got["rbac/ns.yaml"] == ("low", "Role reader: rule 0 can read Secrets in its namespace")
