"""A small catalog and findings shared by the ignore and apply tests."""

from __future__ import annotations

from aisec_ci.core_rules import CORE_RULES
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.rules import Rule, RuleCatalog
from aisec_ci.severity import Severity


def _rule(rule_id: str, severity: Severity, enabled: bool = True) -> Rule:
    return Rule(
        id=rule_id,
        name=rule_id,
        short_description="x",
        severity=severity,
        what="w",
        why="y",
        enabled_by_default=enabled,
    )


def make_catalog() -> RuleCatalog:
    cat = RuleCatalog()
    cat.extend(CORE_RULES)
    cat.extend(
        [
            _rule("docker/root-user", Severity.HIGH),
            _rule("docker/healthcheck-missing", Severity.LOW, enabled=False),
            _rule("secrets/openai-api-key", Severity.CRITICAL),
            _rule("secrets/keyword", Severity.MEDIUM),
            _rule("k8s/privileged-container", Severity.CRITICAL),
        ]
    )
    return cat


def make_findings() -> list[Finding]:
    raw = [
        Finding("docker/root-user", Severity.HIGH, "Runs as root.", "docker/Dockerfile.gpu", 5, key="user"),
        Finding("docker/healthcheck-missing", Severity.LOW, "No HEALTHCHECK.", "docker/Dockerfile.gpu", 1, key="hc"),
        Finding("secrets/openai-api-key", Severity.CRITICAL, "OpenAI key.", "notebooks/demo/chat.ipynb", 40, key="k1"),
        Finding("secrets/openai-api-key", Severity.CRITICAL, "OpenAI key.", "src/app/settings.py", 12, key="k2"),
        Finding("secrets/keyword", Severity.MEDIUM, "Password literal.", "legacy/train.py", 3, key="pw"),
        Finding("k8s/privileged-container", Severity.CRITICAL, "Privileged.", "deploy/triton.yaml", 14, key="priv"),
    ]
    return assign_fingerprints(raw, None)
