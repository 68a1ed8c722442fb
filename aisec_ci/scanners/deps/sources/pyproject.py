"""pyproject.toml: PEP 621 dependencies and extras, PEP 735 groups, Poetry and PDM tables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aisec_ci.scanners.deps.model import Dependency, ManifestError, Parsed, PinKind, Problem, canonicalize_name
from aisec_ci.scanners.deps.sources.requirements import parse_requirement_text
from aisec_ci.scanners.deps.sources.textpos import LineIndex, load_toml

# Poetry reads a bare version ("1.2.3") as an exact pin, unlike PEP 440.
_BARE_VERSION_RE = re.compile(r"^\s*=?=?\s*(\d[0-9A-Za-z.+!-]*)\s*$")


def parse(path: str, text: str) -> Parsed:
    data = load_toml(path, text)
    index = LineIndex(text)
    out = Parsed()
    project = data.get("project")
    # `mypkg[cpu]` inside mypkg's own extras or groups pulls in more of the project, not a package
    # from an index: it is neither a dependency to pin nor one to audit.
    own = canonicalize_name(str(project["name"])) if isinstance(project, dict) and project.get("name") else ""
    if isinstance(project, dict):
        _pep508_list(out, index, path, project.get("dependencies"), "project", "", own)
        extras = project.get("optional-dependencies")
        if isinstance(extras, dict):
            for extra, reqs in sorted(extras.items()):
                _pep508_list(out, index, path, reqs, "project.optional-dependencies", str(extra), own)
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        for group, reqs in sorted(groups.items()):
            if isinstance(reqs, list):
                strings = [r for r in reqs if isinstance(r, str)]  # {include-group = ...} names no package
                _pep508_list(out, index, path, strings, "dependency-groups", str(group), own)
    tool = data.get("tool")
    if isinstance(tool, dict):
        _poetry(out, index, path, tool.get("poetry"))
        pdm = tool.get("pdm")
        if isinstance(pdm, dict) and isinstance(pdm.get("dev-dependencies"), dict):
            for group, reqs in sorted(pdm["dev-dependencies"].items()):
                _pep508_list(out, index, path, reqs, "tool.pdm.dev-dependencies", str(group))
    return out


def _pep508_list(out: Parsed, index: LineIndex, path: str, reqs: Any, section: str, group: str, own: str = "") -> None:
    if reqs is None:
        return
    if not isinstance(reqs, list):
        raise ManifestError(f"{path}: `{section}` must be an array of requirement strings")
    start = _section_start(index, section)
    for req in reqs:
        if not isinstance(req, str):
            out.problems.append(Problem(path, start, f"`{section}` holds a non-string entry {req!r:.60}"))
            continue
        line = index.string(req, start) or index.string(req) or start
        item = parse_requirement_text(req, path, line, index.snippet(line), origin="pyproject", group=group)
        if isinstance(item, Problem):
            out.problems.append(item)
        elif not (own and item.canonical == own):
            out.dependencies.append(item)


def _section_start(index: LineIndex, section: str) -> int:
    found = index.section(section)
    if found:
        return found[0]
    parent = section.rsplit(".", 1)[0]
    found = index.section(parent)
    return found[0] if found else 1


def _poetry(out: Parsed, index: LineIndex, path: str, poetry: Any) -> None:
    if not isinstance(poetry, dict):
        return
    tables: list[tuple[str, str, Any]] = [
        ("tool.poetry.dependencies", "main", poetry.get("dependencies")),
        ("tool.poetry.dev-dependencies", "dev", poetry.get("dev-dependencies")),
    ]
    group_tables = poetry.get("group")
    if isinstance(group_tables, dict):
        for name, body in sorted(group_tables.items()):
            if isinstance(body, dict):
                tables.append((f"tool.poetry.group.{name}.dependencies", str(name), body.get("dependencies")))
    for section, group, deps in tables:
        if not isinstance(deps, dict):
            continue
        bounds = index.section(section)
        first, last = bounds if bounds else (1, None)
        for name, value in deps.items():
            if str(name).lower() == "python":
                continue
            line = index.key(str(name), first, last) or first
            out.dependencies.append(_poetry_dep(str(name), value, path, line, index.snippet(line), group))


def _poetry_dep(name: str, value: Any, path: str, line: int, snippet: str, group: str) -> Dependency:
    common: dict[str, Any] = {"name": name, "path": path, "line": line, "origin": "pyproject", "snippet": snippet}
    if isinstance(value, Mapping):
        if "git" in value:
            ref = value.get("rev") or value.get("tag") or value.get("branch") or ""
            spec = f"git+{value['git']}" + (f"@{ref}" if ref else "")
            return Dependency(kind=PinKind.VCS, specifier=spec, group=group, **common)
        if "url" in value:
            return Dependency(kind=PinKind.URL, specifier=str(value["url"]), group=group, **common)
        if "path" in value:
            return Dependency(kind=PinKind.LOCAL, specifier=str(value["path"]), group=group, **common)
        value = value.get("version", "*")
    if not isinstance(value, str):
        return Dependency(kind=PinKind.RANGE, specifier="(several constraints)", group=group, **common)
    m = _BARE_VERSION_RE.match(value)
    if m and not value.strip().startswith(("^", "~")):
        return Dependency(kind=PinKind.PINNED, version=m.group(1), specifier=value, group=group, **common)
    return Dependency(kind=PinKind.RANGE, specifier=value, group=group, **common)
