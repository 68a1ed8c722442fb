"""Matching pins against OSV records held in memory (offline database and embedded snapshot)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aisec_ci.scanners.deps.matching import advisory_from_osv, is_affected
from aisec_ci.scanners.deps.model import canonicalize_name
from aisec_ci.scanners.deps.services.interface import AuditAnswer, PackageVersion


class RecordIndex:
    """OSV records by canonical PyPI package name."""

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.by_package: dict[str, list[Mapping[str, Any]]] = {}
        self.by_id: dict[str, Mapping[str, Any]] = {}
        self.count = 0
        for record in records:
            self.add(record)

    def add(self, record: Mapping[str, Any]) -> None:
        if record.get("withdrawn") or not isinstance(record.get("id"), str):
            return
        names = set()
        for entry in record.get("affected") or ():
            pkg = entry.get("package") if isinstance(entry, Mapping) else None
            if isinstance(pkg, Mapping) and str(pkg.get("ecosystem", "")).split(":", 1)[0] == "PyPI":
                names.add(canonicalize_name(str(pkg.get("name", ""))))
        for name in names:
            self.by_package.setdefault(name, []).append(record)
        if names:
            self.count += 1
            self.by_id[record["id"]] = record

    def record(self, vid: str, modified: str) -> Mapping[str, Any] | None:
        """The record with this id if it is the same revision (`modified` stamp) as asked for."""
        rec = self.by_id.get(vid)
        return rec if rec is not None and modified and rec.get("modified") == modified else None

    def audit(self, source: str, packages: Sequence[PackageVersion]) -> AuditAnswer:
        answer = AuditAnswer(source=source)
        for pv in packages:
            found = [
                advisory_from_osv(rec, pv.name, source)
                for rec in self.by_package.get(pv.name, ())
                if is_affected(rec, pv.name, pv.version)
            ]
            answer.advisories[pv] = sorted(found, key=lambda a: a.id)
        return answer
