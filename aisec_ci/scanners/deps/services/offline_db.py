"""A local OSV database: a directory of OSV JSON files, or osv.dev's `PyPI/all.zip`."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

from aisec_ci.scanners.deps.services.interface import AuditAnswer, PackageVersion, ServiceUnavailable
from aisec_ci.scanners.deps.services.local_records import RecordIndex

# One OSV record is a few KiB; anything this large in a zip is not an advisory.
MAX_RECORD_BYTES = 4 * 1024 * 1024


def load_index(path: Path) -> tuple[RecordIndex, int]:
    """(index, number of unreadable records). Raises ServiceUnavailable for a missing or corrupt database."""
    if path.is_dir():
        return _from_directory(path)
    if path.is_file():
        return _from_zip(path)
    raise ServiceUnavailable(f"offline vulnerability database {path} does not exist (run `aisec-ci db update`)")


def _from_directory(path: Path) -> tuple[RecordIndex, int]:
    index = RecordIndex()
    bad = 0
    files = sorted(path.rglob("*.json"))
    if not files:
        raise ServiceUnavailable(f"offline vulnerability database {path} holds no OSV JSON files")
    for file in files:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            bad += 1
            continue
        if isinstance(record, dict):
            index.add(record)
        else:
            bad += 1
    return index, bad


def _from_zip(path: Path) -> tuple[RecordIndex, int]:
    index = RecordIndex()
    bad = 0
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if m.filename.endswith(".json") and not m.is_dir()]
            if not members:
                raise ServiceUnavailable(f"offline vulnerability database {path} holds no OSV JSON records")
            for member in members:
                if member.file_size > MAX_RECORD_BYTES:
                    bad += 1
                    continue
                try:
                    record = json.loads(archive.read(member))
                except (ValueError, zipfile.BadZipFile, OSError):
                    bad += 1
                    continue
                if isinstance(record, dict):
                    index.add(record)
                else:
                    bad += 1
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ServiceUnavailable(
            f"offline vulnerability database {path} is not a readable zip archive ({exc})"
        ) from None
    return index, bad


class OfflineDbService:
    name = "offline-db"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._index: RecordIndex | None = None
        self._bad = 0

    def audit(self, packages: Sequence[PackageVersion]) -> AuditAnswer:
        if self._index is None:
            self._index, self._bad = load_index(self.path)
        answer = self._index.audit(self.name, packages)
        if self._bad:
            answer.notes.append(f"offline database {self.path.name}: {self._bad} unreadable record(s) ignored")
        return answer
