"""The records every manifest parser produces and every audit source consumes."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from functools import lru_cache

from aisec_ci.findings import Finding
from aisec_ci.scanners.deps.versions import audit_version

_SEPARATORS_RE = re.compile(r"[-_.]+")


@lru_cache(maxsize=65536)
def canonicalize_name(name: str) -> str:
    """The PEP 503 normalized form of a distribution name (`Foo.Bar_baz` -> `foo-bar-baz`).

    Written out rather than imported from packaging.utils, whose import drags in
    packaging.tags (logging, platform, sysconfig) for this one regular expression."""
    return _SEPARATORS_RE.sub("-", name).lower()


def package_key(ecosystem: str, name: str) -> str:
    """How advisory data names a package: PyPI names PEP 503-normalized (as the records do), the
    names of other ecosystems as written (npm and Go module paths are case-sensitive identifiers;
    OSV's crates.io names are the crate's own). A bare name is a PyPI package, as it always was."""
    if ecosystem == "PyPI":
        return canonicalize_name(name)
    return f"{ecosystem}:{name}"


class PinKind(str, enum.Enum):
    """How exactly a dependency names what gets installed."""

    PINNED = "pinned"  # one version (== or ===, or a lock entry)
    RANGE = "range"  # a specifier that allows several versions, or none at all
    URL = "url"  # a direct archive URL
    VCS = "vcs"  # git+https://... and friends
    LOCAL = "local"  # a path or editable checkout
    CONDA = "conda"  # a conda package: not in the PyPI advisory namespace


@dataclass(frozen=True)
class Dependency:
    """One dependency as written in one manifest line."""

    name: str
    """The name as written (for messages)."""
    path: str
    """Repository-relative path of the manifest that declares it."""
    line: int
    """1-based line of the declaration in that manifest."""
    kind: PinKind
    version: str | None = None
    """The single version when `kind` is PINNED; for CONDA, the version the spec names, if one (SBOM only)."""
    specifier: str = ""
    """The requirement text after the name (`>=1.2`, `^1.0`, a URL ...)."""
    origin: str = ""
    """Manifest format: requirements, pyproject, poetry.lock, uv.lock ..."""
    snippet: str = ""
    """The declaring line, for reports."""
    marker: str = ""
    """Environment marker. Evaluated for the project's target Python and platform (target.py),
    not for the machine running the scan; a pin whose marker can never hold is not audited."""
    group: str = ""
    """Dependency group / extra / lock category, when the format has one."""
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    ecosystem: str = "PyPI"
    """The OSV ecosystem of the package: PyPI, Go, npm or crates.io."""

    @property
    def canonical(self) -> str:
        """The name advisories use: PEP 503-normalized for PyPI, as written elsewhere."""
        if self.ecosystem == "PyPI":
            return canonicalize_name(self.name)
        return self.name

    @property
    def audit_version(self) -> str:
        """The version as the advisory data spells it (Go's without its leading `v`)."""
        return audit_version(self.ecosystem, self.version or "")

    @property
    def auditable(self) -> bool:
        return self.kind is PinKind.PINNED and bool(self.version)


@dataclass(frozen=True)
class Problem:
    """Something in a manifest that stops part of it from being audited."""

    path: str
    line: int
    message: str
    snippet: str = ""


@dataclass
class Parsed:
    """What one manifest (plus the files it includes) yields."""

    dependencies: list[Dependency] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class ManifestError(Exception):
    """The manifest as a whole cannot be read (bad TOML/JSON/YAML, binary junk)."""


# `https://user:token@host/...` and `https://token@host/...` in requirement URLs hold credentials.
_USERINFO_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s]+)@")


def redacted_finding(f: Finding) -> Finding:
    """The finding with URL credentials taken out of its message and snippet (pins may quote them)."""
    snippet = redact_credentials(f.snippet)
    message = redact_credentials(f.message)
    if snippet == f.snippet and message == f.message:
        return f
    return f.evolve(snippet=snippet, message=message)


def redact_credentials(text: str) -> str:
    """Replace the user-info part of URLs; `git@` (ssh's fixed user name) carries no secret."""
    return _USERINFO_RE.sub(lambda m: m.group(0) if m.group("user") == "git" else m.group("scheme") + "***@", text)
