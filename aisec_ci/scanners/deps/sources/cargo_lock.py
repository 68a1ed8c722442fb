"""Cargo.lock: `[[package]]` tables with name, version and source.

`source = "registry+https://github.com/rust-lang/crates.io-index"` (or the
sparse index, `sparse+https://index.crates.io/`) is a crates.io release; a
`git+` source is a checkout; another registry's crates are not crates.io's
(a same-named crate there is a different crate) and count as a URL source; a package without `source` is a crate of the
workspace itself and is not a dependency. One crate often appears at several
versions (semver-incompatible requirements of different dependents); each
version is its own entry and is audited on its own.
"""

from __future__ import annotations

from typing import Any

from aisec_ci.scanners.deps.model import Dependency, ManifestError, Parsed, PinKind, Problem
from aisec_ci.scanners.deps.sources.textpos import LineIndex, load_toml
from aisec_ci.scanners.deps.versions import CRATES

ORIGIN = "Cargo.lock"
_CRATES_IO = frozenset({"registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io"})


def parse(path: str, text: str) -> Parsed:
    data = load_toml(path, text)
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise ManifestError(f"{path}: `package` is not an array of tables")
    index = LineIndex(text)
    blocks = index.blocks("[[package]]")
    out = Parsed()
    for n, pkg in enumerate(packages):
        first, last = blocks[n] if n < len(blocks) else (1, None)
        if not isinstance(pkg, dict):
            out.problems.append(Problem(path, first, f"entry {n + 1} of `package` is not a table"))
            continue
        name, version, source = pkg.get("name"), pkg.get("version"), pkg.get("source")
        line = index.key("name", first, last) or first
        if not isinstance(name, str) or not name or not isinstance(version, str) or not version:
            out.problems.append(Problem(path, line, f"entry {n + 1} of `package` has no name or version"))
            continue
        if source is None:
            continue  # a crate of this workspace
        common: dict[str, Any] = {
            "name": name,
            "path": path,
            "line": line,
            "origin": ORIGIN,
            "snippet": index.snippet(line),
            "ecosystem": CRATES,
        }
        src = str(source)
        if src.rstrip("/") in _CRATES_IO:
            out.dependencies.append(Dependency(kind=PinKind.PINNED, version=version, specifier=version, **common))
        elif src.startswith("git+"):
            out.dependencies.append(Dependency(kind=PinKind.VCS, version=version, specifier=src, **common))
        else:
            # Another registry: its crates are not crates.io's, whatever their names.
            out.dependencies.append(Dependency(kind=PinKind.URL, version=version, specifier=src, **common))
    return out
