"""Run the models scanner on bytes or a path, the way the engine calls it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.models import SCANNER
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind


def scan_path(
    path: Path, *, rel: str | None = None, kind: FileKind = FileKind.MODEL, options: Mapping[str, Any] | None = None
) -> list[Finding]:
    scanner = SCANNER(ScanContext(root=path.parent, options=dict(options or {})))
    file = SourceFile(path=rel or path.name, abspath=path, kind=kind, size=path.stat().st_size)
    return list(scanner.scan_file(file))


def scan_bytes(tmp_path: Path, name: str, data: bytes, **kwargs: Any) -> list[Finding]:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return scan_path(path, **kwargs)


def rule_ids(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}
