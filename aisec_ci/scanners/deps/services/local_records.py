"""Matching pins against OSV records: the in-memory index (an offline directory or a zip read in
full) and the answer loop the SQLite record store shares with it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aisec_ci.scanners.deps.matching import advisory_from_osv, is_affected
from aisec_ci.scanners.deps.model import package_key
from aisec_ci.scanners.deps.services.interface import AuditAnswer, PackageVersion
from aisec_ci.scanners.deps.versions import DISTRO_FAMILIES, ecosystem_family

# The ecosystems whose records a local database keeps: the ones aisec-ci reads lock files of, and
# the OS distributions whose package databases it reads in container images.
KEPT_ECOSYSTEMS = frozenset({"PyPI", "Go", "npm", "crates.io", *DISTRO_FAMILIES})


def record_packages(record: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(ecosystem, package key) of every package of a kept ecosystem the record affects. The key is
    the PEP 503 name for PyPI (the layout stores have always had) and `ecosystem:name` otherwise,
    where a distribution's ecosystem keeps its release (`Debian:12:glibc`) so that a lookup finds
    only that release's records; the ecosystem returned is the family (`Debian`)."""
    found: set[tuple[str, str]] = set()
    for entry in record.get("affected") or ():
        pkg = entry.get("package") if isinstance(entry, Mapping) else None
        if not isinstance(pkg, Mapping):
            continue
        named = str(pkg.get("ecosystem", ""))
        ecosystem = ecosystem_family(named)
        if ecosystem in KEPT_ECOSYSTEMS:
            keyed = named if ecosystem in DISTRO_FAMILIES else ecosystem
            found.add((ecosystem, package_key(keyed, str(pkg.get("name", "")))))
    return found


def pypi_names(record: Mapping[str, Any]) -> set[str]:
    """Canonical names of the PyPI packages a record affects."""
    return {key for ecosystem, key in record_packages(record) if ecosystem == "PyPI"}


def answer_from(
    source: str, packages: Sequence[PackageVersion], by_package: Mapping[str, Sequence[Mapping[str, Any]]]
) -> AuditAnswer:
    """Every package audited against the records of its name (`by_package`, canonical names)."""
    answer = AuditAnswer(source=source)
    for pv in packages:
        found = [
            advisory_from_osv(rec, pv.name, source, pv.version, pv.ecosystem)
            for rec in by_package.get(package_key(pv.ecosystem, pv.name), ())
            if is_affected(rec, pv.name, pv.version, pv.ecosystem)
        ]
        answer.advisories[pv] = sorted(found, key=lambda a: a.id)
    return answer


class RecordIndex:
    """OSV records by package key (model.package_key), and the ecosystems they cover."""

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.by_package: dict[str, list[Mapping[str, Any]]] = {}
        self.ecosystems: set[str] = set()
        for record in records:
            self.add(record)

    def add(self, record: Mapping[str, Any]) -> None:
        if record.get("withdrawn") or not isinstance(record.get("id"), str):
            return
        for ecosystem, key in record_packages(record):
            self.ecosystems.add(ecosystem)
            self.by_package.setdefault(key, []).append(record)

    def audit(self, source: str, packages: Sequence[PackageVersion]) -> AuditAnswer:
        return answer_from(source, packages, self.by_package)
