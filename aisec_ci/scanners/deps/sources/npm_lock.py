"""package-lock.json and npm-shrinkwrap.json, lockfileVersion 1, 2 and 3.

Versions 2 and 3 list every installed package under `packages`, keyed by its
folder (`node_modules/a`, `node_modules/a/node_modules/b`,
`node_modules/@scope/c`); the package's name is the key's last
`node_modules/` segment unless an alias entry names it (`"name": "real"`).
Keys without `node_modules/` are the project's own workspace folders, and
`link` entries point at them: neither is a download. Version 1 nests the same
tree under `dependencies` (an entry's own `dependencies` are installed below
it), and writes an alias as `"version": "npm:real@1.2.3"`. A version 2 file
holds both forms; `packages` is read.

json keeps no positions, so each entry's line is found again in the text: the
keys that open an object (`"name": {`) are collected in one pass, and the
walk, which follows the file's order, takes each key's next occurrence.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Mapping
from typing import Any

from aisec_ci.scanners.deps.model import ManifestError, Parsed, PinKind, Problem
from aisec_ci.scanners.deps.sources.npm_common import Entry, dependencies, source_kind, split_alias

ORIGIN = "package-lock.json"
_OBJECT_KEY_RE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"\s*:\s*\{')
_MAX_DEPTH = 200  # a v1 tree nests one level per installed level; deeper is not a real lock file


class _KeyLines:
    """Lines of the keys that open an object, taken in file order."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self._at: dict[str, list[int]] = {}
        for number, line in enumerate(lines, start=1):
            m = _OBJECT_KEY_RE.match(line)
            if m:
                self._at.setdefault(m.group(1), []).append(number)
        self.cursor = 1

    def next(self, key: str) -> int:
        """The first line at or after the cursor that opens `key` (the cursor moves there)."""
        found = self._at.get(key.replace("\\", "\\\\").replace('"', '\\"'), [])
        i = bisect.bisect_left(found, self.cursor)
        if i == len(found):
            return found[0] if found else 1  # minified JSON: every entry is on line 1
        self.cursor = found[i]
        return found[i]

    def snippet(self, line: int) -> str:
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""


def parse(path: str, text: str) -> Parsed:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: not an npm lock file (top level is not an object)")
    keys = _KeyLines(text.splitlines())
    out = Parsed()
    entries: list[Entry] = []
    packages = data.get("packages")
    if isinstance(packages, dict):
        keys.next("packages")
        _packages(path, packages, keys, entries, out)
    elif isinstance(data.get("dependencies"), dict):
        keys.next("dependencies")
        _nested(path, data["dependencies"], keys, entries, out, 0)
    out.dependencies = dependencies(path, ORIGIN, entries)
    return out


def _group(entry: Mapping[str, Any]) -> str:
    if entry.get("dev"):
        return "dev"
    if entry.get("optional") or entry.get("devOptional"):
        return "optional"
    return ""


def _packages(path: str, packages: Mapping[str, Any], keys: _KeyLines, entries: list[Entry], out: Parsed) -> None:
    for key, entry in packages.items():
        if not key or "node_modules/" not in key or not isinstance(entry, dict):
            continue  # the root project, a workspace folder, or junk
        line = keys.next(key)
        if entry.get("link"):
            continue  # a symlink to a workspace folder: the project's own code
        name = entry.get("name") or key.rsplit("node_modules/", 1)[1]
        version = entry.get("version")
        resolved = str(entry.get("resolved") or "")
        kind = source_kind(resolved)
        if kind is None and not isinstance(version, str):
            out.problems.append(Problem(path, line, f"{name} has no version", keys.snippet(line)))
            continue
        entries.append(
            Entry(
                name=str(name),
                version=str(version or ""),
                line=line,
                snippet=keys.snippet(line),
                kind=kind or PinKind.PINNED,
                source=resolved if kind else "",
                group=_group(entry),
            )
        )


def _nested(path: str, deps: Mapping[str, Any], keys: _KeyLines, entries: list[Entry], out: Parsed, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ManifestError(f"{path}: dependencies nest deeper than {_MAX_DEPTH} levels")
    for name, entry in deps.items():
        if not isinstance(entry, dict):
            continue
        line = keys.next(name)
        version = entry.get("version")
        if isinstance(version, str):
            alias, real_version = split_alias(version)
            resolved = str(entry.get("resolved") or "")
            kind = source_kind(version) or source_kind(resolved)
            if kind is None and "://" in real_version:
                kind = PinKind.URL  # a tarball URL in place of a version
            entries.append(
                Entry(
                    name=alias or name,
                    version=real_version if kind is None else "",
                    line=line,
                    snippet=keys.snippet(line),
                    kind=kind or PinKind.PINNED,
                    source=(resolved if source_kind(resolved) and not source_kind(version) else version)
                    if kind
                    else "",
                    group=_group(entry),
                )
            )
        else:
            out.problems.append(Problem(path, line, f"{name} has no version", keys.snippet(line)))
        children = entry.get("dependencies")
        if isinstance(children, dict):
            _nested(path, children, keys, entries, out, depth + 1)
