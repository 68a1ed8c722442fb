"""The embedded advisory snapshot shipped inside the package (built by tools/build_deps_snapshot.py).

Used only when no configured source answered, and always reported with its
date, so that stale data is never mistaken for a clean bill.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from aisec_ci.scanners.deps.services.interface import AuditAnswer, PackageVersion, ServiceUnavailable
from aisec_ci.scanners.deps.services.local_records import RecordIndex

SNAPSHOT_FILE = "pypi-advisories.json.gz"


@lru_cache(maxsize=1)
def load_snapshot() -> tuple[RecordIndex, dict[str, Any]]:
    try:
        raw = resources.files("aisec_ci.scanners.deps").joinpath("data").joinpath(SNAPSHOT_FILE).read_bytes()
        data = json.loads(gzip.decompress(raw))
    except (OSError, ValueError, EOFError) as exc:
        raise ServiceUnavailable(f"the embedded advisory snapshot cannot be read ({exc})") from None
    meta = data.get("meta") or {}
    return RecordIndex(data.get("records") or ()), dict(meta)


def snapshot_record(vid: str, modified: str) -> Mapping[str, Any] | None:
    """The snapshot's copy of an advisory when it is the revision the OSV API names, else None.

    OSV bumps `modified` on every change, so an equal stamp means the same content; the OSV
    source then needs no detail request for it."""
    try:
        index, _meta = load_snapshot()
    except ServiceUnavailable:
        return None
    return index.record(vid, modified)


class SnapshotService:
    name = "snapshot"

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}

    @property
    def date(self) -> str:
        return str(self.meta.get("date", "unknown date"))

    def audit(self, packages: Sequence[PackageVersion]) -> AuditAnswer:
        index, self.meta = load_snapshot()
        return index.audit(self.name, packages)
