"""Conda environment files: the `pip:` list is audited, conda packages are listed as not auditable."""

from __future__ import annotations

import re

import yaml

from aisec_ci.scanners.deps.model import Dependency, ManifestError, Parsed, PinKind, Problem
from aisec_ci.scanners.deps.sources.repofiles import RepoFiles
from aisec_ci.scanners.deps.sources.requirements import follow_include, parse_requirement_text

# Aliases let a tiny YAML file expand into billions of nodes; real env files have a few hundred.
MAX_NODES = 20_000


def parse(path: str, text: str, files: RepoFiles | None) -> Parsed:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ManifestError(f"{path}: invalid YAML{where} ({getattr(exc, 'problem', None) or exc})") from None
    out = Parsed()
    if root is None:
        return out
    _count_nodes(path, root)
    if not isinstance(root, yaml.MappingNode):
        raise ManifestError(f"{path}: a conda environment file must be a mapping")
    for key, value in root.value:
        if key.value != "dependencies":
            continue
        if not isinstance(value, yaml.SequenceNode):
            raise ManifestError(f"{path}: `dependencies` must be a list")
        for item in value.value:
            if isinstance(item, yaml.ScalarNode):
                out.dependencies.append(_conda(path, item, text))
            elif isinstance(item, yaml.MappingNode):
                for k, v in item.value:
                    if k.value == "pip" and isinstance(v, yaml.SequenceNode):
                        _pip(path, v, text, files, out)
    return out


def _count_nodes(path: str, root: yaml.Node) -> None:
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ManifestError(f"{path}: more than {MAX_NODES} YAML nodes (alias expansion?), not read")
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.extend((k, v))


def _line(text: str, node: yaml.Node) -> tuple[int, str]:
    number = node.start_mark.line + 1
    lines = text.splitlines()
    return number, lines[number - 1].strip() if number <= len(lines) else ""


# `name=1.2.3`, `name==1.2.3`, `name=1.2.3=build` and `name 1.2.3 build`: one version named.
# Wildcards, ranges and alternatives (`1.2.*`, `>=1.2`, `1.2|1.3`) name none.
_CONDA_VERSION_RE = re.compile(r"^[A-Za-z0-9_.+-]+(?:\s*==?\s*|\s+)([0-9][A-Za-z0-9_.+!]*)(?:[=\s].*)?$")


def _conda(path: str, node: yaml.ScalarNode, text: str) -> Dependency:
    spec = str(node.value).strip()
    name = spec.split("::", 1)[-1]
    m = _CONDA_VERSION_RE.match(name)
    for sep in ("=", "<", ">", "!", " ", "["):
        name = name.split(sep, 1)[0]
    line, snippet = _line(text, node)
    return Dependency(
        name=name, path=path, line=line, kind=PinKind.CONDA, specifier=spec, origin="conda", snippet=snippet,
        # Kept for the SBOM; a conda package is still never audited against PyPI data.
        version=m.group(1) if m else None,
    )  # fmt: skip


def _pip(path: str, seq: yaml.SequenceNode, text: str, files: RepoFiles | None, out: Parsed) -> None:
    for item in seq.value:
        if not isinstance(item, yaml.ScalarNode):
            continue
        line, snippet = _line(text, item)
        value = str(item.value).strip()
        if value.startswith(("-r ", "--requirement ", "-c ", "--constraint ")):
            follow_include(path, line, snippet, value.split(None, 1)[1].strip(), files, out)
            continue
        if value.startswith("-") and not value.startswith(("-e ", "--editable")):
            continue
        dep = parse_requirement_text(value, path, line, snippet, origin="conda")
        if isinstance(dep, Problem):
            out.problems.append(dep)
        else:
            out.dependencies.append(dep)
