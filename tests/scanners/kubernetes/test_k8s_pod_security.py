"""PSS baseline and restricted rules, field by field."""

from __future__ import annotations

from aisec_ci.scanners.kubernetes import SCANNER
from aisec_ci.severity import Severity
from tests.scanners.kubernetes.k8s_support import by_rule, line_of, lines, scan

BASELINE = "pss-baseline-unsafe.yaml"


def test_restricted_safe_pod_has_no_finding() -> None:
    # Only the off-by-default info rule (Secret read into env) may fire on the safe pod.
    assert [f.rule_id for f in scan("pod-restricted-safe.yaml")] == ["k8s/secret-from-env"]


def test_restricted_unsafe_pod() -> None:
    fs = scan("pod-restricted-unsafe.yaml")
    path = "pod-restricted-unsafe.yaml"
    # What is written insecurely keeps its own rule, at its own line.
    assert lines(fs, "k8s/run-as-root-user") == [line_of(path, "runAsUser: 0")]
    assert lines(fs, "k8s/privilege-escalation-allowed") == [line_of(path, "allowPrivilegeEscalation: true")]
    assert by_rule(fs, "k8s/run-as-root-user")[0].severity is Severity.HIGH
    # What is simply missing is one finding on the container's name, listing every setting;
    # escalation and root are not repeated there (they have their findings above).
    (restricted,) = by_rule(fs, "k8s/restricted-controls-missing")
    assert restricted.start_line == line_of(path, "- name: server")
    assert restricted.properties["missing_controls"] == [
        "capabilities.drop: [ALL]",
        "readOnlyRootFilesystem: true",
        "seccompProfile: RuntimeDefault",
    ]
    # Only low-weight settings are missing: the consolidated finding is low, as each was.
    assert restricted.severity is Severity.LOW
    # The folded per-setting rules are not reported on their own any more.
    assert not {f.rule_id for f in fs} & {
        "k8s/run-as-non-root-missing",
        "k8s/seccomp-profile-missing",
        "k8s/capabilities-not-dropped",
        "k8s/writable-root-filesystem",
    }


def test_baseline_fields_each_reported_at_their_line() -> None:
    fs = scan(BASELINE)
    expect = {
        "k8s/privileged-container": ["privileged: true"],
        "k8s/unmasked-proc-mount": ["procMount: Unmasked"],
        "k8s/windows-host-process": ["hostProcess: true"],
        "k8s/seccomp-unconfined": ["type: Unconfined"],
        "k8s/unsafe-sysctl": ["kernel.msgmax"],
        "k8s/host-port": ["hostPort: 29500"],
        "k8s/host-namespaces": ["hostNetwork: true", "hostPID: true", "hostIPC: true"],
        "k8s/selinux-custom-options": ["type: spc_t", "user: system_u"],
    }
    for rule, needles in expect.items():
        assert lines(fs, rule) == sorted(line_of(BASELINE, n) for n in needles), rule


def test_safe_sysctl_is_not_reported() -> None:
    fs = scan(BASELINE)
    assert all("tcp_syncookies" not in f.message for f in fs)


def test_apparmor_field_and_annotation() -> None:
    fs = scan(BASELINE)
    field_line = line_of(BASELINE, "appArmorProfile:") + 1  # its `type: Unconfined`
    assert lines(fs, "k8s/apparmor-unconfined") == sorted(
        [line_of(BASELINE, "container.apparmor.security.beta.kubernetes.io/trainer"), field_line]
    )


def test_capabilities_severity_by_danger() -> None:
    fs = by_rule(scan(BASELINE), "k8s/added-capabilities")
    sev = {f.message.rsplit(" ", 1)[-1]: f.severity for f in fs}
    assert sev == {"SYS_ADMIN": Severity.HIGH, "IPC_LOCK": Severity.MEDIUM, "CHOWN": Severity.LOW}
    # NET_BIND_SERVICE is the one capability restricted allows.
    assert not any("NET_BIND_SERVICE" in f.message for f in fs)


def test_privileged_container_does_not_also_report_privilege_escalation() -> None:
    fs = scan(BASELINE)
    assert by_rule(fs, "k8s/privileged-container")
    assert not by_rule(fs, "k8s/privilege-escalation-allowed")


def test_pod_level_run_as_non_root_covers_containers() -> None:
    fs = scan("argo-parameters.yaml")
    assert fs == []


def test_every_rule_has_ruff_style_help() -> None:
    for rule in SCANNER.rules:
        assert rule.what and rule.why and rule.fix, rule.id
        assert rule.example, rule.id
        help_md = rule.help_markdown()
        assert "## What it does" in help_md and "## Why is this bad?" in help_md and "## Fix" in help_md
