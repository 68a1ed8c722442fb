"""What npm, yarn and pnpm lock files share: how a resolved source reads, and one entry per release.

An npm tree installs the same release in several places (`node_modules/a` and
`node_modules/b/node_modules/a`); advisories concern the release, so each
name and version is reported once, at its first entry, and counts as a
production dependency when any of its copies is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aisec_ci.scanners.deps.model import Dependency, PinKind
from aisec_ci.scanners.deps.versions import NPM

# Sources that are not a registry tarball: git in its spellings, and local folders or archives.
_VCS_PREFIXES = ("git+", "git:", "git@", "github:", "gitlab:", "bitbucket:", "gist:")
_LOCAL_PREFIXES = ("file:", "link:", "portal:", "workspace:")
_GIT_URL_RE = re.compile(r"\.git(?:#|$)")


def source_kind(source: str) -> PinKind | None:
    """PinKind.VCS or LOCAL for a non-registry source (`git+ssh://...`, `github:u/r#sha`, `file:../x`),
    None for a registry release (a tarball URL of a registry, or nothing)."""
    text = source.strip()
    lower = text.lower()
    if lower.startswith(_VCS_PREFIXES) or "codeload.github.com/" in lower or _GIT_URL_RE.search(lower):
        return PinKind.VCS
    if lower.startswith(_LOCAL_PREFIXES):
        return PinKind.LOCAL
    return None


def split_alias(version: str) -> tuple[str | None, str]:
    """`npm:string-width@4.2.3` (an alias installed under another name) -> ("string-width", "4.2.3")."""
    if not version.startswith("npm:"):
        return None, version
    spec = version[4:]
    at = spec.rfind("@")
    if at <= 0:
        return None, spec
    return spec[:at], spec[at + 1 :]


@dataclass
class Entry:
    """One package entry of a lock file, before duplicates are merged."""

    name: str
    version: str
    line: int
    snippet: str
    kind: PinKind = PinKind.PINNED
    source: str = ""
    group: str = ""


def dependencies(path: str, origin: str, entries: list[Entry]) -> list[Dependency]:
    """One Dependency per name and version (per source, for non-registry entries), at its first line."""
    first: dict[tuple[str, str, str], Entry] = {}
    groups: dict[tuple[str, str, str], set[str]] = {}
    for entry in entries:
        ident = (entry.name, entry.version if entry.kind is PinKind.PINNED else "", entry.source)
        if ident not in first or entry.line < first[ident].line:
            first[ident] = entry
        groups.setdefault(ident, set()).add(entry.group)
    out: list[Dependency] = []
    for ident, entry in first.items():
        seen = groups[ident]
        group = "" if "" in seen else ",".join(sorted(seen))
        pinned = entry.kind is PinKind.PINNED
        source = entry.source
        if entry.kind is PinKind.LOCAL:
            # `portal:../x::locator=...`, `link:../x`, `file:../x`: the folder, as a path.
            source = source.split("::", 1)[0]
            for prefix in ("portal:", "link:", "file:"):
                source = source.removeprefix(prefix)
        out.append(
            Dependency(
                name=entry.name,
                path=path,
                line=entry.line,
                kind=entry.kind,
                version=entry.version if pinned else (entry.version or None),
                specifier=entry.version if pinned else source,
                origin=origin,
                snippet=entry.snippet,
                group=group,
                ecosystem=NPM,
            )
        )
    out.sort(key=lambda d: (d.line, d.name))
    return out
