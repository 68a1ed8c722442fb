"""Helpers for the kubernetes scanner tests: build a SourceFile and run the scanner."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.kubernetes import SCANNER
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kubernetes"
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"


def source(path: Path, kind: FileKind = FileKind.KUBERNETES, root: Path | None = None) -> SourceFile:
    base = root or path.parent
    return SourceFile(path=path.relative_to(base).as_posix(), abspath=path, kind=kind, size=path.stat().st_size)


def scan(
    path: Path | str,
    options: Mapping[str, Any] | None = None,
    kind: FileKind = FileKind.KUBERNETES,
    switches: Mapping[str, bool] | None = None,
) -> list[Finding]:
    """`switches`: the config's explicit `enabled` per rule id (ScanContext.rule_switches)."""
    p = FIXTURES / path if isinstance(path, str) else path
    context = ScanContext(root=p.parent, options=dict(options or {}), rule_switches=dict(switches or {}))
    scanner = SCANNER(context)
    return list(scanner.scan_file(source(p, kind)))


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def lines(findings: list[Finding], rule_id: str) -> list[int]:
    return sorted(f.start_line for f in findings if f.rule_id == rule_id)


def line_of(path: str, needle: str) -> int:
    """1-based line of the first line containing `needle` in a fixture."""
    for number, text in enumerate((FIXTURES / path).read_text().splitlines(), start=1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
