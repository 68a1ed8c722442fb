"""Helpers for the cloud scanner tests."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.cloud import SCANNER
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cloud"
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"


def scan(path: Path | str, kind: FileKind = FileKind.IAM_POLICY) -> list[Finding]:
    p = FIXTURES / path if isinstance(path, str) else path
    scanner = SCANNER(ScanContext(root=p.parent))
    f = SourceFile(path=p.name, abspath=p, kind=kind, size=p.stat().st_size)
    assert scanner.wants(f)
    return list(scanner.scan_file(f))


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def line_of(path: str, needle: str, nth: int = 1) -> int:
    seen = 0
    for number, text in enumerate((FIXTURES / path).read_text().splitlines(), start=1):
        if needle in text:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def scan_tree(root: Path) -> list[Finding]:
    """The whole-tree pass (Terraform modules across files) over every `.tf`/`.tf.json` under `root`."""
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith((".tf", ".tf.json")))
    files = [SourceFile(p.relative_to(root).as_posix(), p, FileKind.TERRAFORM, p.stat().st_size) for p in paths]
    return list(SCANNER(ScanContext(root=root)).scan_repository(files))


def summary(findings: list[Finding]) -> set[tuple[str, str, int, str]]:
    """(rule id, path, line, severity) of each finding."""
    return {(f.rule_id, f.path, f.start_line, f.severity.label) for f in findings}
