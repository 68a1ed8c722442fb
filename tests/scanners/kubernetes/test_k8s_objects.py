"""RBAC (K24), committed Secrets (K19), service-account tokens (K20), Namespaces."""

from __future__ import annotations

from aisec_ci.severity import Severity
from tests.scanners.kubernetes.k8s_support import by_rule, line_of, lines, scan


def test_rbac_unsafe() -> None:
    path = "rbac-unsafe.yaml"
    fs = scan(path)
    assert lines(fs, "k8s/rbac-wildcard") == [line_of(path, 'verbs: ["*"]')]
    sensitive = by_rule(fs, "k8s/rbac-sensitive-access")
    assert [f.start_line for f in sensitive] == [
        line_of(path, 'resources: ["secrets"]'),
        line_of(path, 'resources: ["pods/exec"]'),
        line_of(path, 'verbs: ["escalate", "bind"]'),
    ]
    assert sensitive[-1].severity is Severity.HIGH
    assert lines(fs, "k8s/rbac-dangerous-binding") == [
        line_of(path, "name: cluster-admin"),
        line_of(path, "name: system:unauthenticated"),
    ]


def test_rbac_safe() -> None:
    assert scan("rbac-safe.yaml") == []


def test_extension_group_wildcard_is_medium(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "role.yaml"
    p.write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: m}\nrules:\n"
        "- apiGroups: [custom.metrics.k8s.io]\n  resources: ['*']\n  verbs: ['*']\n"
    )
    (f,) = by_rule(scan(p), "k8s/rbac-wildcard")
    assert f.severity is Severity.MEDIUM


def test_secret_and_configmap_values_never_printed() -> None:
    path = "secrets-unsafe.yaml"
    fs = scan(path)
    assert lines(fs, "k8s/secret-committed") == [
        line_of(path, "AWS_ACCESS_KEY_ID:"),
        line_of(path, "AWS_SECRET_ACCESS_KEY:"),
        line_of(path, "MLFLOW_TRACKING_PASSWORD:"),
    ]
    blob = " ".join(f.message + f.snippet + str(f.properties) + f.key for f in fs)
    for value in ("AKIAEXAMPLEEXAMPLE12", "notARealSecretKey", "s3cr3t-passw0rd"):
        assert value not in blob


def test_secret_skeleton_and_plain_configmap_are_fine() -> None:
    assert scan("secrets-safe.yaml") == []


def test_namespaces() -> None:
    path = "namespace-unsafe.yaml"
    fs = scan(path)
    assert lines(fs, "k8s/namespace-without-pod-security") == [
        line_of(path, "name: ml-serving"),
        line_of(path, "enforce: privileged"),
    ]
    assert all(f.severity is Severity.LOW for f in fs)
    assert scan("namespace-safe.yaml") == []


def test_service_account_token() -> None:
    path = "volumes-safe.yaml"
    assert by_rule(scan(path), "k8s/service-account-token-automount")
    assert not by_rule(scan("pod-restricted-safe.yaml"), "k8s/service-account-token-automount")


def test_redaction_of_snippets() -> None:
    from aisec_ci.scanners.common.context import redact

    assert redact("--uri postgresql://u:pw123@db/x") == "--uri postgresql://u:<redacted>@db/x"
    assert redact("password: hunter22") == "password: <redacted>"
    assert redact("--ServerApp.token=''") == "--ServerApp.token=''"  # the empty token is the evidence
    assert redact("secretKeyRef: {name: hf, key: token}") == "secretKeyRef: {name: hf, key: token}"
