"""Helpers for the `code` scanner tests: scan a fixture, read its `# expect:` markers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.code import SCANNER
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "code"
_EXPECT = re.compile(r"#\s*expect:\s*(.+)$")


def source_file(path: Path, rel: str | None = None, kind: FileKind | None = None) -> SourceFile:
    """A SourceFile as discovery would build it; `rel` is the repository-relative path."""
    if kind is None:
        kind = FileKind.NOTEBOOK if path.suffix == ".ipynb" else FileKind.PYTHON
    return SourceFile(path=rel or path.name, abspath=path, kind=kind, size=path.stat().st_size)


def scan(path: Path, rel: str | None = None, options: Mapping[str, Any] | None = None) -> list[Finding]:
    scanner = SCANNER(ScanContext(root=path.parent, options=dict(options or {})))
    return list(scanner.scan_file(source_file(path, rel)))


def scan_fixture(name: str, options: Mapping[str, Any] | None = None) -> list[Finding]:
    return scan(FIXTURES / name, options=options)


def expected(name: str) -> set[tuple[int, str, str]]:
    """(line, rule id, severity) for every `# expect: rule severity[, rule severity]` marker."""
    out: set[tuple[int, str, str]] = set()
    for number, line in enumerate((FIXTURES / name).read_text(encoding="utf-8").splitlines(), 1):
        match = _EXPECT.search(line)
        if match:
            for item in match.group(1).split(","):
                rule_id, severity = item.split()
                out.add((number, rule_id, severity))
    return out


def observed(findings: list[Finding]) -> set[tuple[int, str, str]]:
    return {(f.start_line, f.rule_id, f.severity.label) for f in findings}


def assert_matches_markers(name: str) -> list[Finding]:
    """The fixture's findings are exactly its markers: nothing missed, nothing extra."""
    findings = scan_fixture(name)
    want = expected(name)
    got = observed(findings)
    assert got == want, f"missing: {sorted(want - got)}; unexpected: {sorted(got - want)}"
    # One finding per marker (two markers on a line need two findings).
    hits = [m for m in (_EXPECT.search(ln) for ln in _lines(name)) if m is not None]
    markers = sum(len(m.group(1).split(",")) for m in hits)
    assert len(findings) == markers
    return findings


def _lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines()
