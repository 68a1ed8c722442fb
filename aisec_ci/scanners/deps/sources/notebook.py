"""`%pip install` / `!pip install` lines in notebook code cells (the notebook is never run)."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from aisec_ci.scanners.deps.model import Dependency, ManifestError, Parsed, Problem
from aisec_ci.scanners.deps.sources.repofiles import RepoFiles
from aisec_ci.scanners.deps.sources.requirements import follow_include, parse_requirement_text

_INSTALL_RE = re.compile(
    r"^\s*(?:%pip3?|!\s*pip3?|!\s*python3?\s+-m\s+pip|%python\s+-m\s+pip|!\s*uv\s+pip)\s+install\s+(.*)$"
)
# pip options that consume the next argument; their values are not packages.
_TAKES_VALUE = frozenset(
    [
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "--src",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
        "--upgrade-strategy",
        "--trusted-host",
        "--progress-bar",
        "--log",
        "--cache-dir",
        "--config-settings",
        "-C",
        "--global-option",
        "--report",
        "--timeout",
        "--retries",
        "--proxy",
    ]
)
_INCLUDE_OPTS = frozenset({"-r", "--requirement", "-c", "--constraint"})


def parse(path: str, text: str, files: RepoFiles | None) -> Parsed:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: invalid notebook JSON ({exc.msg} at line {exc.lineno})") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise ManifestError(f"{path}: not a Jupyter notebook (no `cells` list)")
    raw_lines = text.splitlines()
    cursor = 0
    out = Parsed()
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        for src in _source_lines(cell.get("source")):
            m = _INSTALL_RE.match(src)
            if not m:
                continue
            line, cursor = _find(raw_lines, src, cursor)
            snippet = src.strip()
            _install_args(path, line, snippet, m.group(1), index, files, out)
    return out


def _source_lines(source: Any) -> list[str]:
    if isinstance(source, str):
        return source.splitlines()
    if isinstance(source, list):
        return [ln.rstrip("\n") for part in source if isinstance(part, str) for ln in part.splitlines()]
    return []


def _find(raw_lines: list[str], src: str, cursor: int) -> tuple[int, int]:
    """Line of the JSON file holding `src` (as a JSON string), searching onwards from `cursor`."""
    needle = json.dumps(src.rstrip("\n"))[1:-1]
    for i in range(cursor, len(raw_lines)):
        if needle in raw_lines[i]:
            return i + 1, i + 1
    for i in range(len(raw_lines)):
        if needle in raw_lines[i]:
            return i + 1, cursor
    return 1, cursor


def _install_args(
    path: str, line: int, snippet: str, args_text: str, cell: int, files: RepoFiles | None, out: Parsed
) -> None:
    try:
        args = shlex.split(args_text.split(" #", 1)[0], comments=False)
    except ValueError:
        args = args_text.split()
    skip_next = False
    pending_include = False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        if pending_include:
            pending_include = False
            follow_include(path, line, snippet, arg, files, out)
            continue
        if arg in _INCLUDE_OPTS:
            pending_include = True
            continue
        if arg in _TAKES_VALUE:
            skip_next = True
            continue
        if arg.startswith("-") or "$" in arg or "{" in arg or arg in ("&&", ";", "|"):
            if arg in ("&&", ";", "|"):
                break  # the rest of the line is another shell command
            continue
        dep = parse_requirement_text(arg, path, line, snippet, origin="notebook")
        if isinstance(dep, Problem):
            out.problems.append(dep)
        else:
            out.dependencies.append(_with_cell(dep, cell))


def _with_cell(dep: Dependency, cell: int) -> Dependency:
    return Dependency(
        name=dep.name, path=dep.path, line=dep.line, kind=dep.kind, version=dep.version,
        specifier=dep.specifier, origin=dep.origin, snippet=dep.snippet, marker=dep.marker,
        group=dep.group, extra={**dep.extra, "cell": str(cell)},
    )  # fmt: skip
