"""Helpers for the docker scanner tests: run the scanner directly on fixture files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.docker import SCANNER
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "docker"
RULES = FIXTURES / "rules"
COMPOSE = FIXTURES / "compose"
REALWORLD = REPO.parent / "shared" / "data" / "realworld"
# Hygiene rules that shipped switched off before profiles existed (now in the strict profile):
# the per-rule tests leave them out unless they ask for them.
DISABLED = frozenset(
    {
        "docker/maintainer-deprecated",
        "docker/missing-healthcheck",
        "docker/missing-oci-labels",
        "docker/non-numeric-user",
    }
)


def source(path: Path, root: Path | None = None, kind: FileKind | None = None) -> SourceFile:
    root = root or path.parent
    if kind is None:
        kind = FileKind.COMPOSE if "compose" in path.name else FileKind.DOCKERFILE
    return SourceFile(path=path.relative_to(root).as_posix(), abspath=path, kind=kind, size=path.stat().st_size)


def scan(
    path: Path, *, options: Mapping[str, Any] | None = None, root: Path | None = None, include_disabled: bool = False
) -> list[Finding]:
    root = root or path.parent
    scanner = SCANNER(ScanContext(root=root, options=dict(options or {})))
    found = list(scanner.scan_file(source(path, root)))
    if not include_disabled:
        found = [f for f in found if f.rule_id not in DISABLED]
    return found


def write(tmp_path: Path, text: str, name: str = "Dockerfile") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def hits(findings: list[Finding], prefix: str = "") -> set[tuple[str, int]]:
    """(rule id, line) of findings whose rule id starts with `prefix`."""
    return {(f.rule_id, f.start_line) for f in findings if f.rule_id.startswith(prefix)}


def lines(findings: list[Finding], rule_id: str) -> list[int]:
    return sorted(f.start_line for f in findings if f.rule_id == rule_id)
