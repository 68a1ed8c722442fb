"""Manifests and the lock files beside them: which manifest lines a lock already covers.

A project that pins `flask==2.2.0` in its Pipfile also has flask 2.2.0 in
Pipfile.lock. Both describe one installed package, so the audit reports it once,
at the lock line (what actually gets installed), and names the manifest line.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from aisec_ci.findings import Finding
from aisec_ci.scanners.deps.model import Dependency, PinKind

LOCK_ORIGINS = frozenset({"poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock", "pylock.toml"})
# Manifests whose entries a lock tool resolves into the lock file in the same directory.
LOCKED_MANIFESTS = frozenset({"pyproject", "Pipfile"})
LOCK_FILE_NAMES = ("poetry.lock", "uv.lock", "pdm.lock", "pylock.toml", "Pipfile.lock")
_SOURCE_KINDS = (PinKind.URL, PinKind.VCS, PinKind.LOCAL)


def shadowed(deps: Iterable[Dependency]) -> dict[Dependency, Dependency]:
    """Manifest declarations that a lock entry in the same directory restates: manifest -> lock entry.

    Only the same release counts (an equal pin, or both taken from a URL/VCS/path source); a
    manifest pin that disagrees with its lock is kept, since the two then say different things."""
    deps = list(deps)
    locked: dict[tuple[str, str], list[Dependency]] = {}
    for dep in deps:
        if dep.origin in LOCK_ORIGINS:
            locked.setdefault((posixpath.dirname(dep.path), dep.canonical), []).append(dep)
    out: dict[Dependency, Dependency] = {}
    for dep in deps:
        if dep.origin not in LOCKED_MANIFESTS:
            continue
        for entry in locked.get((posixpath.dirname(dep.path), dep.canonical), ()):
            same_pin = dep.kind is PinKind.PINNED and entry.kind is PinKind.PINNED and dep.version == entry.version
            same_source = dep.kind in _SOURCE_KINDS and entry.kind in _SOURCE_KINDS
            if same_pin or same_source:
                out[dep] = entry
                break
    return out


def declared_in(shadow: dict[Dependency, Dependency]) -> dict[Dependency, list[Dependency]]:
    """Lock entry -> the manifest lines it stands for."""
    out: dict[Dependency, list[Dependency]] = {}
    for manifest, entry in shadow.items():
        out.setdefault(entry, []).append(manifest)
    for items in out.values():
        items.sort(key=lambda d: (d.path, d.line))
    return out


def mention(finding: Finding, manifests: Sequence[Dependency]) -> Finding:
    """The lock entry's finding, naming the manifest lines that declare the same package."""
    if not manifests:
        return finding
    where = [f"{m.path}:{m.line}" for m in manifests]
    message = finding.message + declared_suffix(where)
    return replace(finding, message=message, properties={**finding.properties, "declared_in": where})


def declared_suffix(where: Sequence[str]) -> str:
    """The sentence naming the manifest lines a lock entry's finding also stands for."""
    return f" Also declared in {', '.join(where)}."


def has_lock_beside(root: Path, manifest_path: str, deps: Iterable[Dependency]) -> bool:
    """A lock file sits in the manifest's directory (on disk, or among the parsed lock entries)."""
    here = posixpath.dirname(manifest_path)
    if any(d.origin in LOCK_ORIGINS and posixpath.dirname(d.path) == here for d in deps):
        return True
    folder = root / here if here else root
    if any((folder / name).is_file() for name in LOCK_FILE_NAMES):
        return True
    try:
        return any(p.name.startswith("pylock.") and p.suffix == ".toml" for p in folder.iterdir())
    except OSError:
        return False
