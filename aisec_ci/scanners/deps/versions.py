"""Version order per ecosystem: PEP 440 for PyPI, Semantic Versioning 2.0 for npm, crates.io and Go.

OSV compares an advisory's range events with the ecosystem's own order.
npm, Cargo and Go modules all use SemVer 2.0: prerelease identifiers compare
field by field (numbers as numbers), build metadata does not count. Go adds
two spellings that are still SemVer underneath: a leading `v`, and
pseudo-versions (`v0.0.0-20220225172249-27dd8689420f`,
`v1.4.1-0.20220101000000-abcdef123456`), which are prereleases of the next
patch and so sort between the tag they follow and the next release;
`+incompatible` is build metadata.

The SemVer order itself comes from `univers` (aboutcode's version library,
which OSV tooling in Python also uses), so the rules for prerelease fields are
not ours to get wrong. Its SemVer parser is lenient (`1.x` becomes `1.0.0+x`,
`1.2.3.4` becomes `1.2.3+4`), so a version must first match the SemVer
grammar here: an unparseable version is reported as such instead of being
compared as something it is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache, total_ordering
from typing import Any

from packaging.version import InvalidVersion, Version

PYPI = "PyPI"
GO = "Go"
NPM = "npm"
CRATES = "crates.io"
SEMVER_ECOSYSTEMS = frozenset({GO, NPM, CRATES})
"""Ecosystems whose versions are SemVer 2.0 (OSV `SEMVER` and `ECOSYSTEM` ranges order them alike)."""

# semver.org's grammar, with Go's optional leading `v`.
_SEMVER_RE = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@lru_cache(maxsize=65536)
def parse_version(text: str) -> Version | None:
    """A PEP 440 version, or None. Cached: a 1,000-pin audit parses the same few thousand event
    versions over and over."""
    try:
        return Version(text)
    except (InvalidVersion, TypeError):
        return None


@lru_cache(maxsize=65536)
def parse_semver(text: str) -> Any | None:
    """A SemVer 2.0 version (univers' SemverVersion, ordered by SemVer precedence), or None."""
    if not _SEMVER_RE.match(text):
        return None
    # Imported on first use: only a repository with Go, npm or Cargo locks pays for univers.
    from univers.versions import InvalidVersion as UniversInvalid
    from univers.versions import SemverVersion

    try:
        return SemverVersion(text.removeprefix("v"))
    except (UniversInvalid, ValueError, TypeError):
        return None


def version_parser(ecosystem: str) -> Callable[[str], Any | None]:
    """The function that turns a version string of `ecosystem` into an orderable value, or None."""
    return parse_semver if ecosystem in SEMVER_ECOSYSTEMS else parse_version


@total_ordering
class _Bottom:
    """Below every version: OSV's `introduced: "0"` in a SemVer ecosystem, where `0.0.0-x`
    prereleases (Go pseudo-versions of untagged modules) sort below `0.0.0`."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Bottom)

    def __lt__(self, other: object) -> bool:
        return not isinstance(other, _Bottom)

    def __hash__(self) -> int:
        return 0


BOTTOM: Any = _Bottom()
_ZERO = Version("0")


def zero_for(ecosystem: str) -> Any:
    """What `introduced: "0"` means: PEP 440's `0` for PyPI (as before), below everything elsewhere."""
    return BOTTOM if ecosystem in SEMVER_ECOSYSTEMS else _ZERO


def audit_version(ecosystem: str, version: str) -> str:
    """The version as OSV spells it: Go's data writes module versions without the leading `v`."""
    if ecosystem == GO and version[:1] in ("v", "V") and version[1:2].isdigit():
        return version[1:]
    return version


def sort_key(ecosystem: str) -> Callable[[str], tuple[bool, Any, str]]:
    """A key that orders version strings of `ecosystem`; unparseable ones last, by text."""
    parse = version_parser(ecosystem)
    floor = zero_for(ecosystem)

    def key(text: str) -> tuple[bool, Any, str]:
        parsed = parse(text)
        return (parsed is None, parsed if parsed is not None else floor, text)

    return key
