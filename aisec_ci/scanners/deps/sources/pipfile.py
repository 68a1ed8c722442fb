"""Pipfile (TOML) and Pipfile.lock (JSON with `default` and `develop` sections)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aisec_ci.scanners.deps.model import Dependency, ManifestError, Parsed, PinKind
from aisec_ci.scanners.deps.sources.requirements import pinned_version
from aisec_ci.scanners.deps.sources.textpos import LineIndex, load_toml

_PIPFILE_SECTIONS_SKIPPED = frozenset({"source", "requires", "scripts", "pipenv"})


def parse_pipfile(path: str, text: str) -> Parsed:
    data = load_toml(path, text)
    index = LineIndex(text)
    out = Parsed()
    for section, packages in data.items():
        if section in _PIPFILE_SECTIONS_SKIPPED or not isinstance(packages, dict):
            continue
        bounds = index.section(section)
        first, last = bounds if bounds else (1, None)
        for name, value in packages.items():
            line = index.key(str(name), first, last) or first
            out.dependencies.append(_entry(str(name), value, path, line, index.snippet(line), section, "Pipfile"))
    return out


def parse_lock(path: str, text: str) -> Parsed:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: not a Pipfile.lock (top level is not an object)")
    index = LineIndex(text)
    out = Parsed()
    for section in sorted(k for k in data if k != "_meta"):
        packages = data[section]
        if not isinstance(packages, dict):
            continue
        start = index.search(r'^\s*"' + re.escape(section) + r'"\s*:') or 1
        cursor = start
        for name, value in packages.items():
            # json keeps key order, so each package is searched for after the previous one:
            # one pass over the file instead of one per package.
            line = index.search(r'^\s*"' + re.escape(str(name)) + r'"\s*:', cursor) or start
            cursor = max(cursor, line)
            out.dependencies.append(_entry(str(name), value, path, line, index.snippet(line), section, "Pipfile.lock"))
    return out


def _entry(name: str, value: Any, path: str, line: int, snippet: str, group: str, origin: str) -> Dependency:
    common: dict[str, Any] = {"name": name, "path": path, "line": line, "origin": origin, "snippet": snippet}
    marker = ""
    if isinstance(value, Mapping):
        marker = str(value.get("markers", ""))
        for vcs in ("git", "hg", "svn", "bzr"):
            if vcs in value:
                ref = value.get("ref") or ""
                spec = f"{vcs}+{value[vcs]}" + (f"@{ref}" if ref else "")
                return Dependency(kind=PinKind.VCS, specifier=spec, group=group, marker=marker, **common)
        if "file" in value:
            return Dependency(kind=PinKind.URL, specifier=str(value["file"]), group=group, marker=marker, **common)
        if "path" in value:
            return Dependency(kind=PinKind.LOCAL, specifier=str(value["path"]), group=group, marker=marker, **common)
        value = value.get("version", "*")
    if not isinstance(value, str):
        raise ManifestError(f"{path}: line {line}: package {name!r} has an unreadable version {value!r:.40}")
    version = pinned_version(value)
    kind = PinKind.PINNED if version else PinKind.RANGE
    return Dependency(kind=kind, version=version, specifier=value, group=group, marker=marker, **common)
