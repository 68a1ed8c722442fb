"""requirements*.txt / *.in / constraints files, following `-r` and `-c` includes.

Lines are parsed the way pip reads them (continuations, comments, per-line
options such as `--hash`), but nothing is installed or resolved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aisec_ci.scanners.deps.matching import parse_version
from aisec_ci.scanners.deps.model import Dependency, ManifestError, Parsed, PinKind, Problem
from aisec_ci.scanners.deps.sources.repofiles import MAX_INCLUDE_DEPTH, IncludeError, RepoFiles

_COMMENT_RE = re.compile(r"(^|\s+)#.*$")
# Per-requirement options (`--hash=...`) start at the first whitespace-separated dash word.
_OPTION_SPLIT_RE = re.compile(r"\s+(?=--?[A-Za-z])")
_INCLUDE_RE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?<=^-r)|(?<=^-c))(\S.*)$")
_EDITABLE_RE = re.compile(r"^(-e|--editable)(?:\s*=\s*|\s+)(\S.*)$")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
# `name==version` and nothing else: most lines of pinned files and every line of a compiled lock.
_SIMPLE_PIN_RE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*==\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)$")
_EGG_RE = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_ARCHIVE_NAME_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._]*?)-(\d[^-]*?)(?:-|\.tar\.gz$|\.zip$|\.tar\.bz2$|\.whl$)")
CONSTRAINTS_GROUP = "constraints"
# Text files this broken are not requirements files, whatever their name says.
_MAX_BAD_LINE_SHARE = 0.5


def logical_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(first line number, joined content without comment, first physical line) per logical line."""
    start = 0
    parts: list[str] = []
    first = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts and "#" not in raw and not raw.endswith("\\"):
            # The common line (no comment, no continuation) needs none of the work below.
            line = raw.strip()
            if line:
                yield number, line, raw
            continue
        if not parts:
            start, first = number, raw
        stripped = _COMMENT_RE.sub("", raw) if not raw.lstrip().startswith("#") else ""
        if stripped.endswith("\\"):
            parts.append(stripped[:-1])
            continue
        parts.append(stripped)
        line = " ".join(p.strip() for p in parts).strip()
        parts = []
        if line:
            yield start, line, first
    if parts:
        line = " ".join(p.strip() for p in parts).strip()
        if line:
            yield start, line, first


def parse_requirement_text(
    text: str, path: str, line: int, snippet: str, origin: str = "requirements", group: str = ""
) -> Dependency | Problem:
    """One PEP 508 / pip requirement (no include or global option) into a Dependency."""
    simple = _simple_pin(text, path, line, snippet, origin, group)
    if simple is not None:
        return simple
    body = _OPTION_SPLIT_RE.split(text.strip(), maxsplit=1)[0].strip()
    editable = _EDITABLE_RE.match(body)
    if editable:
        return _direct_reference(editable.group(2).strip(), path, line, snippet, origin, group, editable=True)
    if body.startswith(_VCS_PREFIXES) or re.match(r"^[a-z][a-z0-9+.-]*://", body, re.IGNORECASE):
        return _direct_reference(body, path, line, snippet, origin, group)
    if body.startswith((".", "/", "~")) or (("/" in body or "\\" in body) and "@" not in body):
        return _direct_reference(body, path, line, snippet, origin, group)
    # Imported on first use: packaging's full PEP 508 parser is the slow path and costs start-up.
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(body)
    except InvalidRequirement as exc:
        return Problem(path, line, f"not a valid requirement ({_first_line(str(exc))})", snippet)
    marker = str(req.marker) if req.marker else ""
    if req.url:
        kind = PinKind.VCS if req.url.startswith(_VCS_PREFIXES) else _url_kind(req.url)
        return Dependency(
            name=req.name, path=path, line=line, kind=kind, specifier=req.url, origin=origin,
            snippet=snippet, marker=marker, group=group,
        )  # fmt: skip
    version = pinned_version(str(req.specifier))
    return Dependency(
        name=req.name,
        path=path,
        line=line,
        kind=PinKind.PINNED if version else PinKind.RANGE,
        version=version,
        specifier=str(req.specifier),
        origin=origin,
        snippet=snippet,
        marker=marker,
        group=group,
    )


def _simple_pin(body: str, path: str, line: int, snippet: str, origin: str, group: str) -> Dependency | None:
    """The Dependency packaging would produce for a plain `name==version` line, without its parser."""
    m = _SIMPLE_PIN_RE.match(body.strip())
    if m is None:
        return None
    name, version = m.groups()
    if parse_version(version) is None:
        return None  # not what packaging's `==` grammar accepts: the full parser decides
    return Dependency(
        name=name, path=path, line=line, kind=PinKind.PINNED, version=version, specifier=f"=={version}",
        origin=origin, snippet=snippet, group=group,
    )  # fmt: skip


def pinned_version(specifier: str) -> str | None:
    """The one version a specifier set allows, if it pins one (`==1.2`, `===1.2-x`)."""
    for part in specifier.split(","):
        part = part.strip()
        if part.startswith("==="):
            return part[3:].strip() or None
        if part.startswith("==") and "*" not in part:
            return part[2:].strip() or None
    return None


def _url_kind(url: str) -> PinKind:
    return PinKind.LOCAL if url.lower().startswith("file:") else PinKind.URL


def _direct_reference(
    ref: str, path: str, line: int, snippet: str, origin: str, group: str, editable: bool = False
) -> Dependency:
    egg = _EGG_RE.search(ref)
    if ref.startswith(_VCS_PREFIXES):
        kind = PinKind.VCS
    elif "://" in ref and not ref.lower().startswith("file:"):
        kind = PinKind.URL
    else:
        kind = PinKind.LOCAL
    name = egg.group(1) if egg else ""
    if not name:
        tail = ref.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        m = _ARCHIVE_NAME_RE.match(tail)
        name = m.group(1) if m else tail.removesuffix(".git") or ref
    return Dependency(
        name=name,
        path=path,
        line=line,
        kind=kind,
        specifier=ref,
        origin=origin,
        snippet=snippet,
        group=group,
        extra={"editable": "true"} if editable else {},
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "parse error"


def parse_requirements(path: str, text: str, files: RepoFiles | None) -> Parsed:
    """Parse a requirements file and everything it includes.

    Raises ManifestError when the file is not a requirements file at all
    (binary junk, mostly unparseable lines)."""
    out = Parsed()
    _walk(path, text, files, out, stack=[path], seen={path}, top=True)
    return out


def _walk(
    path: str,
    text: str,
    files: RepoFiles | None,
    out: Parsed,
    stack: list[str],
    seen: set[str],
    top: bool,
    constraint: bool = False,
) -> None:
    if "\x00" in text:
        raise ManifestError(f"{path}: binary content (NUL bytes), not a requirements file")
    lines = list(logical_lines(text))
    # Constraint files cap versions without installing anything, so their ranges are not "unpinned".
    constraint = constraint or "constraint" in path.rsplit("/", 1)[-1].lower()
    group = CONSTRAINTS_GROUP if constraint else ""
    bad = 0
    local: list[Dependency | Problem] = []
    for number, content, first in lines:
        snippet = first.strip()
        include = _INCLUDE_RE.match(content) if content.startswith("-") else None
        if include:
            target = include.group(2).strip().strip("'\"")
            is_constraint = include.group(1) in ("-c", "--constraint")
            _follow(path, number, snippet, target, files, out, stack, seen, is_constraint)
            continue
        if content.startswith("-") and not _EDITABLE_RE.match(content):
            continue  # global options (--index-url, --pre, ...) name no package
        item = parse_requirement_text(content, path, number, snippet, group=group)
        if isinstance(item, Problem):
            bad += 1
        local.append(item)
    if top and lines and ("\ufffd" in text or bad > 3) and bad / len(lines) > _MAX_BAD_LINE_SHARE:
        raise ManifestError(f"{path}: {bad} of {len(lines)} lines are not requirements; not a requirements file")
    for item in local:
        if isinstance(item, Problem):
            out.problems.append(item)
        else:
            out.dependencies.append(item)


def _follow(
    path: str,
    number: int,
    snippet: str,
    target: str,
    files: RepoFiles | None,
    out: Parsed,
    stack: list[str],
    seen: set[str],
    constraint: bool = False,
) -> None:
    if files is None:
        out.problems.append(Problem(path, number, f"include {target!r} was not followed", snippet))
        return
    try:
        rel = files.resolve(path, target)
        if rel in stack:
            chain = " -> ".join([*stack[stack.index(rel) :], rel])
            raise IncludeError(f"include cycle {chain}")
        if rel in seen:
            return  # a diamond: already parsed through another include
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise IncludeError(f"includes nested deeper than {MAX_INCLUDE_DEPTH} levels at {target!r}")
        included = files.read(rel)
    except IncludeError as exc:
        out.problems.append(Problem(path, number, str(exc), snippet))
        return
    seen.add(rel)
    try:
        _walk(rel, included, files, out, [*stack, rel], seen, top=False, constraint=constraint)
    except ManifestError as exc:
        out.problems.append(Problem(path, number, str(exc), snippet))


def follow_include(path: str, number: int, snippet: str, target: str, files: RepoFiles | None, out: Parsed) -> None:
    """Follow one `-r FILE` written in another format (a conda `pip:` entry, a notebook cell)."""
    _follow(path, number, snippet, target, files, out, stack=[path], seen={path})
