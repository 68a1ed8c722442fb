"""Gathering every dependency of the repository from every manifest, with file and line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aisec_ci.scanners.deps.model import Dependency, ManifestError, Problem
from aisec_ci.scanners.deps.sources import RepoFiles, format_of, parse_manifest
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import DEPENDENCY_KINDS, FileKind

MANIFEST_KINDS = DEPENDENCY_KINDS | {FileKind.NOTEBOOK}


@dataclass
class Inventory:
    dependencies: list[Dependency] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)
    """Manifests that could not be read at all, with the reason (reported as skipped files)."""


def is_manifest(file: SourceFile) -> bool:
    return file.kind in MANIFEST_KINDS and format_of(file.path, file.kind) is not None


def collect(root: Path, files: Iterable[SourceFile]) -> Inventory:
    repo = RepoFiles(root)
    inv = Inventory()
    seen: set[tuple[str, int, str, str, str]] = set()
    problems: set[Problem] = set()
    for file in sorted((f for f in files if is_manifest(f)), key=lambda f: f.path):
        fmt = format_of(file.path, file.kind)
        assert fmt is not None
        try:
            parsed = parse_manifest(file.path, file.text, fmt, repo)
        except ManifestError as exc:
            inv.broken[file.path] = str(exc)
            continue
        except (OSError, RecursionError, ValueError) as exc:
            inv.broken[file.path] = f"{file.path}: cannot be read ({type(exc).__name__})"
            continue
        for dep in parsed.dependencies:
            # An included file that is also scanned itself must not count twice.
            ident = (dep.path, dep.line, dep.canonical, dep.version or "", dep.specifier)
            if ident not in seen:
                seen.add(ident)
                inv.dependencies.append(dep)
        problems.update(parsed.problems)
    inv.problems = sorted(problems, key=lambda p: (p.path, p.line, p.message))
    inv.dependencies.sort(key=lambda d: (d.path, d.line, d.canonical))
    return inv
