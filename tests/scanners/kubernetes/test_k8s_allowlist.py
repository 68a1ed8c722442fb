"""GPU infrastructure allowlist: findings stay visible at info, with the reason."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from aisec_ci.scanners.kubernetes import SCANNER
from aisec_ci.severity import Severity
from tests.scanners.kubernetes.k8s_support import by_rule, scan

PLUGIN = "gpu-device-plugin.yaml"
ALLOW = {
    "allowlist": [
        {
            "images": ["nvcr.io/nvidia/k8s-device-plugin:*"],
            "reason": "NVIDIA device plugin registers GPUs with the kubelet",
        }
    ]
}


def test_without_allowlist_device_plugin_is_high_with_a_hint() -> None:
    fs = scan(PLUGIN)
    (priv,) = by_rule(fs, "k8s/privileged-container")
    assert priv.severity is Severity.HIGH
    assert "kubernetes.allowlist" in priv.message
    assert by_rule(fs, "k8s/sensitive-host-path")[0].severity is Severity.HIGH


def test_allowlisted_findings_are_kept_at_info_with_reason() -> None:
    fs = scan(PLUGIN, ALLOW)
    for rule in ("k8s/privileged-container", "k8s/sensitive-host-path", "k8s/nvidia-visible-devices-all"):
        (f,) = by_rule(fs, rule)
        assert f.severity is Severity.INFO, rule
        assert f.properties["allowlisted"] == "NVIDIA device plugin registers GPUs with the kubelet"
        assert "allowed by config" in f.message


def test_allowlist_limited_to_rules_and_images() -> None:
    only_priv = {"allowlist": [dict(ALLOW["allowlist"][0], rules=["k8s/privileged-container"])]}
    fs = scan(PLUGIN, only_priv)
    assert by_rule(fs, "k8s/privileged-container")[0].severity is Severity.INFO
    assert by_rule(fs, "k8s/sensitive-host-path")[0].severity is Severity.HIGH
    other = {"allowlist": [{"images": ["ghcr.io/other/*"], "reason": "not this one"}]}
    assert by_rule(scan(PLUGIN, other), "k8s/privileged-container")[0].severity is Severity.HIGH


def test_options_schema_requires_a_reason() -> None:
    schema = SCANNER.options_schema
    jsonschema.validate(ALLOW, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"allowlist": [{"images": ["nvcr.io/*"]}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"allowlist": [{"reason": "matches everything"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"unknown": 1}, schema)


def test_namespace_allowlist(tmp_path: Path) -> None:
    src = (Path(__file__).resolve().parents[2] / "fixtures" / "kubernetes" / PLUGIN).read_text()
    p = tmp_path / "ds.yaml"
    p.write_text(src)
    fs = scan(p, {"allowlist": [{"namespaces": ["kube-system"], "reason": "node agents are reviewed"}]})
    assert by_rule(fs, "k8s/privileged-container")[0].severity is Severity.INFO
