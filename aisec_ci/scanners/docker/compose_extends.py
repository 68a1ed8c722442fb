"""`extends: {file: ..., service: ...}`: settings a service inherits from a file nobody scans.

A base file named `common-services.yml` or `base.yml` is not recognised as a
Compose file, so its `privileged: true` would reach production unreported.
The base service is checked with the same rules and each problem is reported
on the `extends:` line of the service that inherits it. A base file that is
itself a Compose file is scanned on its own and reported there, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import yaml

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.docker.compose_model import ComposeContext, Service, load_compose
from aisec_ci.scanners.docker.compose_yaml import line_of, scalar
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

MAX_BASE_SIZE = 1024 * 1024
"""Larger base files are not followed (bounded time on a hostile reference)."""


def inherited(
    ctx: ComposeContext,
    root: Path | None,
    checks: Iterable[Callable[[ComposeContext], Iterable[Finding]]],
    kind_of: Callable[[str], FileKind | None],
) -> Iterator[Finding]:
    """Findings of each `extends`-ed base service in an unscanned file, moved onto the `extends:` line."""
    checks = tuple(checks)
    bases: dict[Path, ComposeContext | None] = {}
    for service in ctx.services:
        got = ctx.value(service, "extends")
        if got is None or not isinstance(got[1], yaml.MappingNode):
            continue  # `extends: other` names a service of this very file: reported where it is defined.
        key_node, node = got
        ref = ctx.budget.get(node, "file")
        name = ctx.budget.get(node, "service")
        file_text = scalar(ref[1]) if ref else None
        base_name = scalar(name[1]) if name else None
        if not file_text or not base_name or "$" in file_text:
            continue
        base_path = (ctx.file.abspath.parent / file_text).resolve()
        relpath = _relpath(base_path, root or ctx.file.abspath.parent)
        if relpath is None or kind_of(relpath) is FileKind.COMPOSE:
            continue
        if base_path not in bases:
            bases[base_path] = _load(base_path, relpath, ctx)
        base_ctx = bases[base_path]
        if base_ctx is None:
            continue
        base = next((s for s in base_ctx.services if s.name == base_name), None)
        if base is None:
            continue
        try:
            found = _base_findings(ctx, service, base_ctx, base, checks)
        except SkipFile:
            # The base file blew its node budget: this file's own findings still stand.
            bases[base_path] = None
            continue
        for f in found:
            yield _moved(ctx, service, key_node, f, relpath, base_name)


def _base_findings(
    ctx: ComposeContext,
    service: Service,
    base_ctx: ComposeContext,
    base: Service,
    checks: tuple[Callable[[ComposeContext], Iterable[Finding]], ...],
) -> list[Finding]:
    overridden = _overridden_scalars(ctx, service, base_ctx, base)
    only_base = replace(base_ctx, services=[base], _snippets={})
    out: list[Finding] = []
    seen: set[str] = set()
    for check in checks:
        for f in check(only_base):
            if f.key in seen or _top_key(base_ctx, base, f.start_line) in overridden:
                continue
            seen.add(f.key)
            out.append(f)
    return out


def _relpath(path: Path, root: Path) -> str | None:
    """`path` relative to the scanned root; None outside it (never read what the user did not point us at)."""
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _load(path: Path, relpath: str, ctx: ComposeContext) -> ComposeContext | None:
    try:
        size = path.stat().st_size
        if not path.is_file() or size > MAX_BASE_SIZE:
            return None
        base = SourceFile(path=relpath, abspath=path, kind=FileKind.COMPOSE, size=size, limit=MAX_BASE_SIZE)
        return load_compose(base, ctx.options)
    except (OSError, SkipFile):
        # Unreadable or invalid: the reference is the user's to fix; this file's own findings still stand.
        return None


def _top_key(base_ctx: ComposeContext, base: Service, line: int) -> str | None:
    """The key of `base` whose value spans `line`."""
    for key, knode, vnode in base_ctx.budget.items(base.node):
        if line_of(knode) <= line <= vnode.end_mark.line + 1:
            return key
    return None


def _overridden_scalars(ctx: ComposeContext, service: Service, base_ctx: ComposeContext, base: Service) -> set[str]:
    """Keys whose base value the extending service replaces (scalars are replaced; lists and maps merge)."""
    own = {k for k, _, _ in ctx.budget.items(service.node)}
    return {k for k, _, v in base_ctx.budget.items(base.node) if k in own and isinstance(v, yaml.ScalarNode)}


def _moved(
    ctx: ComposeContext, service: Service, key_node: yaml.Node, f: Finding, relpath: str, base_name: str
) -> Finding:
    line = line_of(key_node)
    return replace(
        f,
        message=f"Service `{service.name}` inherits from `{base_name}` in {relpath} (line {f.start_line}): {f.message}",
        path=ctx.file.path,
        start_line=line,
        end_line=None,
        start_column=int(key_node.start_mark.column) + 1,
        snippet=ctx.snippet(line),
        key=f"extends:{relpath}:{base_name}:{f.key}",
        properties={**f.properties, "extends_file": relpath, "extends_service": base_name, "base_line": f.start_line},
    )
