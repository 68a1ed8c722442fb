"""A local OSV database: directories of OSV JSON files, or osv.dev's `<ecosystem>/all.zip` archives.

Each database answers only for the ecosystems it holds records of: a PyPI
all.zip says nothing about npm packages, so those stay unaudited (with the
`db update --ecosystem` command that fixes it) instead of passing as clean.

An all.zip holds tens of thousands of records; parsing all of them costs over
a second on every run. So the first run (or `aisec-ci db update`) turns the
archive into a record store in the cache directory, keyed by the archive's
path and checked against its size and modification time, and later runs read
only the records of the packages they audit. When the cache directory cannot
be written, the archive is read in full as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import zipfile
from collections.abc import Sequence
from pathlib import Path

from aisec_ci.scanners.deps.services.interface import AuditAnswer, PackageVersion, ServiceUnavailable
from aisec_ci.scanners.deps.services.local_records import KEPT_ECOSYSTEMS, RecordIndex, record_packages
from aisec_ci.scanners.deps.services.record_store import RecordStore, write_store
from aisec_ci.scanners.deps.versions import DISTRO_FAMILIES, ecosystem_family

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
    records, bad = _zip_records(path)
    for record in records:
        index.add(record)
    return index, bad


def _zip_records(path: Path) -> tuple[list[dict[str, object]], int]:
    """(every readable record, number of unreadable members); ServiceUnavailable for a bad archive."""
    records: list[dict[str, object]] = []
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
                    records.append(record)
                else:
                    bad += 1
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ServiceUnavailable(
            f"offline vulnerability database {path} is not a readable zip archive ({exc})"
        ) from None
    return records, bad


def _lost_records(meta: dict[str, str], archive: Path) -> bool:
    """Whether the store was built by code that dropped records the archive may hold and that
    are kept now."""
    if "kept" in meta:
        return bool(KEPT_ECOSYSTEMS - set(meta["kept"].split(",")))
    # Stores from before `kept` kept PyPI, Go, npm and crates.io: only a distribution's archive
    # (osv.dev's `Debian/all.zip`, saved as `Debian-all.zip`) lost records to them.
    return any(archive.name.startswith(f"{family}-") for family in DISTRO_FAMILIES)


def store_path(archive: Path, cache_dir: Path) -> Path:
    """Where the record store built from `archive` lives in the cache."""
    key = hashlib.sha256(str(archive.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return cache_dir / "osv" / "stores" / f"{key}.sqlite"


def _stamp(archive: Path) -> dict[str, str]:
    st = archive.stat()
    return {"source": str(archive.resolve()), "source_size": str(st.st_size), "source_mtime_ns": str(st.st_mtime_ns)}


def open_store(archive: Path, cache_dir: Path) -> tuple[RecordStore | RecordIndex, int]:
    """(the archive's records, number unreadable): its record store, built first when missing or
    out of date, or the records held in memory when the store cannot be written. Raises
    ServiceUnavailable for a bad archive."""
    target = store_path(archive, cache_dir)
    try:
        stamp = _stamp(archive)
    except OSError as exc:
        raise ServiceUnavailable(f"offline vulnerability database {archive} cannot be read ({exc})") from None
    if target.is_file():
        try:
            store = RecordStore(target)
        except ServiceUnavailable:
            store = None  # damaged: rebuilt below
        if store is not None:
            # A store without `ecosystems` predates non-PyPI records (it dropped them), and one
            # whose `kept` lacks an ecosystem kept now dropped that one's: both are rebuilt. A store
            # without `kept` predates the distributions and is rebuilt only for an archive that can
            # hold them (a PyPI store of that age lost nothing).
            if (
                all(store.meta.get(k) == v for k, v in stamp.items())
                and "ecosystems" in store.meta
                and not _lost_records(store.meta, archive)
            ):
                return store, int(store.meta.get("unreadable", "0"))
            store.close()
    records, bad = _zip_records(archive)
    ecosystems = sorted({eco for record in records for eco, _key in record_packages(record)})
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        kept = ",".join(sorted(KEPT_ECOSYSTEMS))
        write_store(tmp, records, {**stamp, "unreadable": str(bad), "ecosystems": ",".join(ecosystems), "kept": kept})
        tmp.replace(target)
        return RecordStore(target), bad
    except (OSError, sqlite3.Error, ServiceUnavailable):
        # An unwritable or full cache: answer from the records already read.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return RecordIndex(records), bad


class OfflineDbService:
    name = "offline-db"

    def __init__(self, path: Path | Sequence[Path], cache_dir: Path | None = None) -> None:
        self.paths = [path] if isinstance(path, Path) else list(path)
        self.path = self.paths[0]
        self.cache_dir = cache_dir
        self._loaded: list[tuple[Path, RecordIndex | RecordStore, int]] | None = None
        self._errors: list[str] = []
        """Why databases that were named could not be read (a missing PyPI default among them)."""

    def _databases(self) -> list[tuple[Path, RecordIndex | RecordStore, int]]:
        if self._loaded is None:
            loaded: list[tuple[Path, RecordIndex | RecordStore, int]] = []
            errors: list[str] = []
            for path in self.paths:
                try:
                    if self.cache_dir is not None and path.is_file():
                        index, bad = open_store(path, self.cache_dir)
                    else:
                        index, bad = load_index(path)
                except ServiceUnavailable as exc:
                    errors.append(str(exc))
                    continue
                loaded.append((path, index, bad))
            if not loaded:
                raise ServiceUnavailable("; ".join(errors))
            self._loaded, self._errors = loaded, errors
        return self._loaded

    def covers(self, ecosystem: str) -> bool:
        # Every ecosystem is routed here; the ones no database holds are answered in `audit` as
        # failed, with the command that fetches them.
        return True

    def audit(self, packages: Sequence[PackageVersion]) -> AuditAnswer:
        databases = self._databases()
        answer = AuditAnswer(source=self.name)
        by_db: dict[int, list[PackageVersion]] = {}
        for pv in packages:
            # A database of Debian advisories answers for every Debian release (`Debian:12`).
            family = ecosystem_family(pv.ecosystem)
            at = next((n for n, (_p, index, _b) in enumerate(databases) if family in _held(index)), None)
            if at is None:
                names = ", ".join(p.name for p, _i, _b in databases)
                answer.failed[pv] = "; ".join(
                    [
                        f"the offline database ({names}) holds no {pv.ecosystem} advisories "
                        f"(run `aisec-ci db update --ecosystem {family}`)",
                        *self._errors,
                    ]
                )
            else:
                by_db.setdefault(at, []).append(pv)
        for at, pins in sorted(by_db.items()):
            path, index, bad = databases[at]
            found = index.audit(self.name, pins)
            answer.advisories.update(found.advisories)
            answer.notes.extend(found.notes)
            if bad:
                answer.notes.append(f"offline database {path.name}: {bad} unreadable record(s) ignored")
        return answer


def _held(index: RecordIndex | RecordStore) -> frozenset[str] | set[str]:
    """The ecosystems a database holds; a directory without a record says PyPI, as before."""
    return index.ecosystems or {"PyPI"}
