"""Shared helpers for the workflows scanner tests: run the scanner on a fixture file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.workflows import SCANNER
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "workflows"
REALWORLD = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "realworld" / "workflows"


def source_file(path: Path, rel: str | None = None, kind: FileKind | None = None) -> SourceFile:
    if kind is None:
        kind = FileKind.ACTION if path.name in ("action.yml", "action.yaml") else FileKind.WORKFLOW
    return SourceFile(path=rel or path.name, abspath=path, kind=kind, size=path.stat().st_size)


def scan_path(path: Path, options: Mapping[str, Any] | None = None, rel: str | None = None) -> list[Finding]:
    scanner = SCANNER(ScanContext(root=path.parent, options=dict(options or {})))
    return list(scanner.scan_file(source_file(path, rel)))


def scan(name: str, options: Mapping[str, Any] | None = None) -> list[Finding]:
    """Scan `tests/fixtures/workflows/<name>`."""
    return scan_path(FIXTURES / name, options, rel=name)


def hits(findings: list[Finding], rule_id: str) -> list[tuple[int, str]]:
    """(line, severity) of the findings of one rule, in order."""
    return [(f.start_line, f.severity.label) for f in findings if f.rule_id == rule_id]
