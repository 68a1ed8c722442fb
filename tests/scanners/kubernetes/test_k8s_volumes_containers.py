"""hostPath (K3-K5), /dev/shm (K13), restricted volume types (K16), and container
hygiene: image tags (K17), resources (K12), env secrets (K18), NVIDIA env (K31)."""

from __future__ import annotations

from aisec_ci.severity import Severity
from tests.scanners.kubernetes.k8s_support import by_rule, line_of, lines, scan

UNSAFE = "volumes-unsafe.yaml"


def test_host_path_rules_split_by_kind_of_path() -> None:
    fs = scan(UNSAFE)
    assert lines(fs, "k8s/sensitive-host-path") == [line_of(UNSAFE, "path: /var/run/docker.sock")]
    assert lines(fs, "k8s/writable-model-host-path") == [line_of(UNSAFE, "path: /mnt/models")]
    generic = by_rule(fs, "k8s/host-path-volume")
    assert [f.start_line for f in generic] == [line_of(UNSAFE, "path: /srv/scratch")]
    assert "read-only" in generic[0].message


def test_read_only_model_mount_is_generic_host_path_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
        "    image: x/y:1\n    volumeMounts:\n    - {name: m, mountPath: /models, readOnly: true}\n"
        "  volumes:\n  - name: m\n    hostPath: {path: /models}\n"
    )
    p = tmp_path / "pod.yaml"
    p.write_text(text)
    fs = scan(p)
    assert not by_rule(fs, "k8s/writable-model-host-path")
    assert lines(fs, "k8s/host-path-volume") == [12]


def test_model_paths_option_extends_the_model_directories(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "pod.yaml"
    p.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x/y:1\n"
        "  volumes:\n  - name: m\n    hostPath: {path: /lustre/llm-weights}\n"
    )
    assert not by_rule(scan(p), "k8s/writable-model-host-path")
    assert by_rule(scan(p, {"model_paths": ["/lustre/llm-weights"]}), "k8s/writable-model-host-path")


def test_shm_without_size_limit_and_nfs() -> None:
    fs = scan(UNSAFE)
    assert lines(fs, "k8s/unbounded-shm") == [line_of(UNSAFE, "medium: Memory")]
    assert lines(fs, "k8s/restricted-volume-type") == [line_of(UNSAFE, "nfs:")]


def test_safe_volumes() -> None:
    fs = scan("volumes-safe.yaml")
    for rule in (
        "k8s/host-path-volume",
        "k8s/sensitive-host-path",
        "k8s/writable-model-host-path",
        "k8s/unbounded-shm",
        "k8s/restricted-volume-type",
    ):
        assert not by_rule(fs, rule), rule


def test_container_hygiene_unsafe() -> None:
    path = "pod-restricted-unsafe.yaml"
    fs = scan(path)
    assert lines(fs, "k8s/image-latest-tag") == [line_of(path, "image: vllm/vllm-openai:latest")]
    assert lines(fs, "k8s/nvidia-visible-devices-all") == [line_of(path, "value: all")]
    # The fixture's token says it is not a real one: the secrets scanner's own judgement
    # (a placeholder) applies, so it is not reported (tests/scanners/kubernetes/test_k8s_fp_patterns.py
    # covers a realistic token).
    # A literal password that looks like one is reported, on its own line.
    assert lines(fs, "k8s/secret-in-env") == [line_of(path, "value: Zq8vLr2mWx7pKq4T")]
    # The values never leave the scanner.
    assert all("hf_notarealtoken" not in (f.message + f.snippet + str(f.properties)) for f in fs)
    assert all("Zq8vLr2mWx7pKq4T" not in (f.message + f.snippet + str(f.properties)) for f in fs)
    resources = by_rule(fs, "k8s/missing-resource-limits")
    assert any("nvidia.com/gpu" in f.message and "no limit" in f.message for f in resources)
    assert any("requests.memory" in f.message for f in resources)


def test_untagged_image_and_digest_rule() -> None:
    fs = scan("pss-baseline-unsafe.yaml")
    digest = by_rule(fs, "k8s/image-not-pinned-by-digest")
    assert digest and digest[0].severity is Severity.INFO
    assert not by_rule(fs, "k8s/image-latest-tag")


def test_secret_key_ref_and_placeholders_are_not_literal_secrets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "pod.yaml"
    p.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x/y:1\n"
        "    env:\n    - {name: API_TOKEN, value: $(TOKEN_FROM_ENV)}\n    - {name: TOKEN_FILE, value: /var/run/tok}\n"
        "    - name: DB_PASSWORD\n      valueFrom: {secretKeyRef: {name: db, key: password}}\n"
    )
    assert not by_rule(scan(p), "k8s/secret-in-env")


def test_secret_key_ref_is_info_and_audit_only() -> None:
    from aisec_ci.scanners.kubernetes.containers import ENV_SECRET_REF

    path = "pod-restricted-safe.yaml"
    fs = [f for f in scan(path) if f.rule_id == "k8s/secret-from-env"]
    assert [f.start_line for f in fs] == [line_of(path, "valueFrom:")]
    assert fs[0].severity is Severity.INFO and ENV_SECRET_REF.profile == "audit"
