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

The OS distributions' ecosystems carry their release in the name
(`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.18`): their versions follow dpkg's
order (Debian, Ubuntu) or apk's (Alpine), again through `univers`, and a
record's entry applies only to the very release it names (matching.py).
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
DEBIAN = "Debian"
UBUNTU = "Ubuntu"
ALPINE = "Alpine"
DISTRO_FAMILIES = frozenset({DEBIAN, UBUNTU, ALPINE})
"""OS distributions whose OSV ecosystem names a release after a colon (`Debian:12`)."""


def ecosystem_family(ecosystem: str) -> str:
    """The ecosystem without its release (`Debian:12` -> `Debian`); other ecosystems as they are."""
    return ecosystem.split(":", 1)[0]


def is_distro(ecosystem: str) -> bool:
    """True for an OS distribution's ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.18`)."""
    return ecosystem_family(ecosystem) in DISTRO_FAMILIES


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


# dpkg's grammar: [epoch:]upstream[-revision], upstream starting with a digit (a colon in the
# upstream part, which dpkg allows after an epoch, does not occur in the archives). univers drops
# whitespace and accepts what dpkg would refuse, so the text is checked first.
_DEBIAN_RE = re.compile(r"^(?:\d+:)?\d[A-Za-z0-9.+~-]*$")


@lru_cache(maxsize=65536)
def parse_debian(text: str) -> Any | None:
    """A Debian or Ubuntu package version in dpkg's order (univers' DebianVersion), or None."""
    if not _DEBIAN_RE.match(text):
        return None
    from univers.versions import DebianVersion
    from univers.versions import InvalidVersion as UniversInvalid

    try:
        return DebianVersion(text)
    except (UniversInvalid, ValueError, TypeError, IndexError):
        return None


@lru_cache(maxsize=65536)
def parse_apk(text: str) -> Any | None:
    """An Alpine package version in apk's order (univers' AlpineLinuxVersion), or None. univers
    knows apk's alpha/beta/pre/rc/p suffixes but not _git/_svn/_cvs/_hg: those come back None."""
    if not text or any(c.isspace() for c in text):
        return None
    from univers.versions import AlpineLinuxVersion
    from univers.versions import InvalidVersion as UniversInvalid

    try:
        return AlpineLinuxVersion(text)
    except (UniversInvalid, ValueError, TypeError, IndexError):
        return None


def version_parser(ecosystem: str) -> Callable[[str], Any | None]:
    """The function that turns a version string of `ecosystem` into an orderable value, or None."""
    if ecosystem in SEMVER_ECOSYSTEMS:
        return parse_semver
    family = ecosystem_family(ecosystem)
    if family in (DEBIAN, UBUNTU):
        return parse_debian
    if family == ALPINE:
        return parse_apk
    return parse_version


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
    """What `introduced: "0"` means: PEP 440's `0` for PyPI (as before), below everything elsewhere
    (dpkg sorts `0~rc1` below `0`, so a distribution's `0` must be the bottom too)."""
    return BOTTOM if ecosystem in SEMVER_ECOSYSTEMS or is_distro(ecosystem) else _ZERO


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
