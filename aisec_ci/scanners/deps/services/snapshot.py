"""The embedded advisory snapshot shipped inside the package (built by tools/build_deps_snapshot.py).

Used only when no configured source answered, and always reported with its
date, so that stale data is never mistaken for a clean bill. The OSV source
also reads single records from it: an advisory the API names at the revision
the snapshot holds needs no detail request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from aisec_ci.scanners.deps.services.interface import AuditAnswer, PackageVersion, ServiceUnavailable
from aisec_ci.scanners.deps.services.record_store import RecordStore

SNAPSHOT_FILE = "pypi-advisories.sqlite"
# The package is always installed as files (never zipped), so the data file has a real path,
# which SQLite needs.
SNAPSHOT_PATH = Path(__file__).resolve().parent.parent / "data" / SNAPSHOT_FILE


@lru_cache(maxsize=1)
def load_snapshot() -> RecordStore:
    if not SNAPSHOT_PATH.is_file():
        raise ServiceUnavailable(f"the embedded advisory snapshot {SNAPSHOT_FILE} is missing from the package")
    try:
        return RecordStore(SNAPSHOT_PATH)
    except ServiceUnavailable as exc:
        raise ServiceUnavailable(f"the embedded advisory snapshot cannot be read ({exc})") from None


def snapshot_records(pairs: Sequence[tuple[str, str]]) -> dict[str, Mapping[str, Any]]:
    """The snapshot's copies of the advisories that are at the revision the OSV API names.

    OSV bumps `modified` on every change, so an equal stamp means the same content; the OSV
    source then needs no detail request for them."""
    try:
        store = load_snapshot()
    except ServiceUnavailable:
        return {}
    return store.records_at(pairs)


def snapshot_records_any(ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    """The snapshot's copies of these advisories at whatever revision it holds: what describes an
    advisory the OSV API named but whose full record could not be fetched."""
    try:
        store = load_snapshot()
    except ServiceUnavailable:
        return {}
    return store.records_by_id(ids)


class SnapshotService:
    name = "snapshot"

    def covers(self, ecosystem: str) -> bool:
        return ecosystem == "PyPI"  # Python packages only

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}

    @property
    def date(self) -> str:
        return str(self.meta.get("date", "unknown date"))

    def audit(self, packages: Sequence[PackageVersion]) -> AuditAnswer:
        store = load_snapshot()
        self.meta = dict(store.meta)
        return store.audit(self.name, packages)
