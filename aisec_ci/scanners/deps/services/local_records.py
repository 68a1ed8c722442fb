"""Matching pins against OSV records: the in-memory index (an offline directory or a zip read in
full) and the answer loop the SQLite record store shares with it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aisec_ci.scanners.deps.matching import advisory_from_osv, is_affected
from aisec_ci.scanners.deps.model import canonicalize_name
from aisec_ci.scanners.deps.services.interface import AuditAnswer, PackageVersion


def pypi_names(record: Mapping[str, Any]) -> set[str]:
    """Canonical names of the PyPI packages a record affects."""
    names: set[str] = set()
    for entry in record.get("affected") or ():
        pkg = entry.get("package") if isinstance(entry, Mapping) else None
        if isinstance(pkg, Mapping) and str(pkg.get("ecosystem", "")).split(":", 1)[0] == "PyPI":
            names.add(canonicalize_name(str(pkg.get("name", ""))))
    return names


def answer_from(
    source: str, packages: Sequence[PackageVersion], by_package: Mapping[str, Sequence[Mapping[str, Any]]]
) -> AuditAnswer:
    """Every package audited against the records of its name (`by_package`, canonical names)."""
    answer = AuditAnswer(source=source)
    for pv in packages:
        found = [
            advisory_from_osv(rec, pv.name, source, pv.version)
            for rec in by_package.get(pv.name, ())
            if is_affected(rec, pv.name, pv.version)
        ]
        answer.advisories[pv] = sorted(found, key=lambda a: a.id)
    return answer


class RecordIndex:
    """OSV records by canonical PyPI package name."""

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.by_package: dict[str, list[Mapping[str, Any]]] = {}
        for record in records:
            self.add(record)

    def add(self, record: Mapping[str, Any]) -> None:
        if record.get("withdrawn") or not isinstance(record.get("id"), str):
            return
        for name in pypi_names(record):
            self.by_package.setdefault(name, []).append(record)

    def audit(self, source: str, packages: Sequence[PackageVersion]) -> AuditAnswer:
        return answer_from(source, packages, self.by_package)
