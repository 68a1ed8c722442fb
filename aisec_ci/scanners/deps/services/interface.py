"""The seam every vulnerability source implements.

A source answers for a batch of pinned packages at once. Each package ends in
exactly one of two places: `advisories` (audited; an empty list means the
source knows of nothing) or `failed` (not audited, with the reason). A source
must never put a package it could not check into `advisories`: that is how a
silent "no vulnerabilities" happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from aisec_ci.scanners.deps.advisory import Advisory

DEFAULT_OSV_URL = "https://api.osv.dev"


class PackageVersion(NamedTuple):
    """One pin to audit. A named tuple, not a dataclass: a 1,000-pin audit sorts, hashes and
    compares these many thousand times, which tuples do in C."""

    name: str
    """The name advisories use (PEP 503 canonical for PyPI)."""
    version: str
    """As advisory data spells it (a Go module version without its `v`)."""
    ecosystem: str = "PyPI"
    """The OSV ecosystem: PyPI, Go, npm or crates.io."""


@dataclass
class AuditAnswer:
    source: str
    advisories: dict[PackageVersion, list[Advisory]] = field(default_factory=dict)
    failed: dict[PackageVersion, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class ServiceUnavailable(Exception):
    """The source cannot answer at all (not installed, unreachable, corrupt data)."""


class VulnerabilityService(Protocol):
    name: str

    def covers(self, ecosystem: str) -> bool:
        """Whether this source holds advisories for the ecosystem at all. A source is only asked
        about packages of ecosystems it covers: one that knows nothing of npm must not call an npm
        package clean."""
        ...

    def audit(self, packages: Sequence[PackageVersion]) -> AuditAnswer:
        """Audit every package; raise ServiceUnavailable when nothing can be checked."""
        ...
