"""Fake scanners and rules: a fixed registry so config tests do not depend on
which scanners are installed while the project grows."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from aisec_ci.core_rules import CORE_RULES
from aisec_ci.rules import Rule, RuleCatalog
from aisec_ci.scanners.base import Scanner
from aisec_ci.severity import Severity

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"


def _rule(rule_id: str, severity: Severity = Severity.HIGH, enabled: bool = True) -> Rule:
    return Rule(
        id=rule_id,
        name=rule_id,
        short_description=f"{rule_id} finding",
        severity=severity,
        what="Checks something.",
        why="It matters.",
        enabled_by_default=enabled,
    )


class FakeDeps(Scanner):
    name = "deps"
    rules = (_rule("deps/vulnerable-package"), _rule("deps/unpinned-requirement", Severity.LOW))
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "offline-db": {"type": "string"},
            "ignore-unfixed": {"type": "boolean"},
            "timeout": {"type": "integer", "minimum": 1},
        },
    }


class FakeSecrets(Scanner):
    name = "secrets"
    rules = (_rule("secrets/openai-api-key", Severity.CRITICAL), _rule("secrets/keyword", Severity.MEDIUM))
    options_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"entropy-threshold": {"type": "number", "minimum": 0, "maximum": 8}},
    }


class FakeDocker(Scanner):
    name = "docker"
    rules = (_rule("docker/root-user"), _rule("docker/healthcheck-missing", Severity.LOW, enabled=False))


class FakeKubernetes(Scanner):
    name = "kubernetes"
    rules = (_rule("k8s/privileged-container", Severity.CRITICAL),)


SCANNERS: dict[str, type[Scanner]] = {cls.name: cls for cls in (FakeDeps, FakeDocker, FakeKubernetes, FakeSecrets)}


def make_catalog() -> RuleCatalog:
    cat = RuleCatalog()
    cat.extend(CORE_RULES)
    for cls in SCANNERS.values():
        cat.extend(cls.rules)
    return cat
