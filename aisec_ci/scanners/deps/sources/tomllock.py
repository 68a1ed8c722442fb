"""The shape TOML lock files share: an array of package tables with name and version."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aisec_ci.scanners.deps.model import Dependency, ManifestError, Parsed, PinKind, Problem
from aisec_ci.scanners.deps.sources.textpos import LineIndex, load_toml

# Decides what a package table's source is: (kind, specifier) or None for a registry package.
SourceOf = Callable[[Mapping[str, Any]], "tuple[PinKind, str] | None"]


def parse_package_array(
    path: str,
    text: str,
    origin: str,
    array_key: str,
    source_of: SourceOf,
    group_of: Callable[[Mapping[str, Any]], str] = lambda _p: "",
    toml_text: str | None = None,
) -> tuple[Parsed, dict[str, Any]]:
    """`toml_text`: what to parse when it is not `text` itself (a lighter equivalent, same lines);
    positions are always looked up in `text`."""
    data = load_toml(path, text if toml_text is None else toml_text)
    packages = data.get(array_key, [])
    if not isinstance(packages, list):
        raise ManifestError(f"{path}: `{array_key}` is not an array of tables")
    index = LineIndex(text)
    blocks = index.blocks(f"[[{array_key}]]")
    out = Parsed()
    for n, pkg in enumerate(packages):
        first, last = blocks[n] if n < len(blocks) else (1, None)
        if not isinstance(pkg, dict):
            out.problems.append(Problem(path, first, f"entry {n + 1} of `{array_key}` is not a table"))
            continue
        name = pkg.get("name")
        line = index.key("name", first, last) or first
        if not isinstance(name, str) or not name:
            out.problems.append(Problem(path, line, f"entry {n + 1} of `{array_key}` has no package name"))
            continue
        source = source_of(pkg)
        version = pkg.get("version")
        common: dict[str, Any] = {
            "name": name,
            "path": path,
            "line": line,
            "origin": origin,
            "snippet": index.snippet(line),
            "group": group_of(pkg),
        }
        if source is not None:
            kind, spec = source
            out.dependencies.append(
                Dependency(kind=kind, specifier=spec, version=str(version) if version else None, **common)
            )
        elif isinstance(version, str) and version:
            out.dependencies.append(
                Dependency(kind=PinKind.PINNED, version=version, specifier="==" + version, **common)
            )
        else:
            out.dependencies.append(Dependency(kind=PinKind.RANGE, specifier="", **common))
    return out, data
