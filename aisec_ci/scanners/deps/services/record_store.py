"""OSV records in one SQLite file, read by id or by package without loading the rest.

The embedded snapshot ships in this form, and an offline `all.zip` is turned
into one once (see offline_db). A run asks for a few hundred records out of
thousands, so parsing the whole collection on every start cost more than the
whole audit; with SQLite (in the standard library) a lookup is one indexed
query.

Layout: `meta(key, value)`, `records(id, modified, body)` with the record's
compact JSON as body, and `affects(package, id)` keyed by PEP 503 canonical
package name for PyPI and `ecosystem:name` for the other ecosystems (Go, npm,
crates.io; Debian, Ubuntu and Alpine with their release: `Debian:12:glibc`).
The `ecosystems` meta entry lists the ecosystems (families: `Debian`) an
offline database's store holds; a store without it holds PyPI alone. `kept`
lists the ecosystems the code that built it kept at all, so a store built
before a family was kept (which dropped its records) is rebuilt. Withdrawn
records are never stored. Bodies are plain JSON in the embedded snapshot
(the wheel compresses the file anyway, and inflating hundreds of rows would
cost every run about 5 ms) and zlib-compressed in the index of an offline
database, which can hold tens of thousands. One record alone compresses
poorly, so compressed bodies use a preset dictionary (`zdict`, a sample of
the records themselves), which halves them.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from aisec_ci.scanners.deps.model import package_key
from aisec_ci.scanners.deps.services.interface import AuditAnswer, PackageVersion, ServiceUnavailable
from aisec_ci.scanners.deps.services.local_records import answer_from, record_packages

STORE_FORMAT = "1"
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE records (id TEXT PRIMARY KEY, modified TEXT NOT NULL, body BLOB NOT NULL)",
    "CREATE TABLE affects (package TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (package, id)) WITHOUT ROWID",
    "CREATE TABLE zdict (data BLOB NOT NULL)",
)
_ZDICT_SIZE = 8 * 1024  # zlib allows 32 KiB, but loading a large dictionary for every row costs more than it saves
_ZDICT_SAMPLES = 64
# Building a store happens while a user waits for the first offline scan: per-row set-up
# dominates zlib's cost on rows this small, and level 1 makes them under a fifth larger than
# level 9 for a third of the time.
_LEVEL = 1
# SQLite's default limit on host parameters in one statement is 999 on older builds.
_CHUNK = 500


def id_chunks(keys: Sequence[str]) -> Iterator[tuple[list[str], str]]:
    """`keys` in slices small enough for one `IN (...)` each, with the slice's placeholders."""
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        yield chunk, ",".join("?" * len(chunk))


def write_store(
    path: Path, records: Iterable[Mapping[str, Any]], meta: Mapping[str, str], *, compress: bool = True
) -> int:
    """Write a new store at `path` (replacing any file there); returns the number of records kept.

    Rows go in sorted by key, so the same records give the same tables."""
    bodies: dict[str, tuple[str, bytes]] = {}
    affects: set[tuple[str, str]] = set()
    for record in records:
        vid = record.get("id")
        if record.get("withdrawn") or not isinstance(vid, str):
            continue
        names = record_packages(record)
        if not names:
            continue
        body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        bodies[vid] = (str(record.get("modified") or ""), body)
        affects.update((key, vid) for _ecosystem, key in names)
    ids = sorted(bodies)
    # Evenly spaced records, so the dictionary holds the keys and phrases common to all of them.
    step = max(1, len(ids) // _ZDICT_SAMPLES)
    zdict = b"".join(bodies[vid][1] for vid in ids[::step])[-_ZDICT_SIZE:] if compress else b""
    rows = []
    for vid in ids:
        modified, body = bodies[vid]
        if compress:
            packer = zlib.compressobj(_LEVEL, zdict=zdict) if zdict else zlib.compressobj(_LEVEL)
            body = packer.compress(body) + packer.flush()
        rows.append((vid, modified, body))
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        with con:
            for statement in _SCHEMA:
                con.execute(statement)
            con.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                sorted(
                    {
                        **meta,
                        "format": STORE_FORMAT,
                        "records": str(len(rows)),
                        "compression": "zlib" if compress else "none",
                    }.items()
                ),
            )
            con.execute("INSERT INTO zdict VALUES (?)", (zdict,))
            con.executemany("INSERT INTO records VALUES (?, ?, ?)", rows)
            con.executemany("INSERT INTO affects VALUES (?, ?)", sorted(affects))
    finally:
        con.close()
    return len(rows)


class RecordStore:
    """A read-only store; every read error becomes ServiceUnavailable naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._decoded: dict[str, Mapping[str, Any]] = {}
        try:
            # immutable=1: no locks and no journal, so a store on a read-only filesystem (an
            # installed package in a container image) opens as well.
            self._con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            self.meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
            found = self._con.execute("SELECT data FROM zdict").fetchone()
        except sqlite3.Error as exc:
            raise ServiceUnavailable(f"{path} is not a readable advisory store ({exc})") from None
        if self.meta.get("format") != STORE_FORMAT:
            raise ServiceUnavailable(f"{path} is an advisory store of an unknown format")
        self._zdict: bytes = found[0] if found else b""
        self._compressed = self.meta.get("compression", "zlib") != "none"

    @property
    def ecosystems(self) -> frozenset[str]:
        """The ecosystems whose advisories the store holds (PyPI alone for a store that does not say)."""
        listed = self.meta.get("ecosystems")
        if listed is None:
            return frozenset({"PyPI"})
        return frozenset(e for e in listed.split(",") if e)

    def close(self) -> None:
        self._con.close()

    def _query(self, sql: str, args: Sequence[str]) -> list[Any]:
        try:
            return self._con.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise ServiceUnavailable(f"{self.path} cannot be read ({exc})") from None

    def _decode(self, vid: str, body: bytes) -> Mapping[str, Any] | None:
        rec = self._decoded.get(vid)
        if rec is None:
            try:
                if self._compressed:
                    unpacker = zlib.decompressobj(zdict=self._zdict) if self._zdict else zlib.decompressobj()
                    body = unpacker.decompress(body) + unpacker.flush()
                loaded = json.loads(body)
            except (zlib.error, ValueError):
                return None  # one damaged row costs that record, not the audit
            if not isinstance(loaded, dict):
                return None
            rec = self._decoded[vid] = loaded
        return rec

    def records_at(self, pairs: Sequence[tuple[str, str]]) -> dict[str, Mapping[str, Any]]:
        """{id: record} for each (id, modified) pair stored at exactly that revision."""
        wanted = dict(pairs)
        out: dict[str, Mapping[str, Any]] = {}
        for chunk, marks in id_chunks(sorted(wanted)):
            try:
                rows = self._query(f"SELECT id, modified, body FROM records WHERE id IN ({marks})", chunk)
            except ServiceUnavailable:
                return out
            for vid, modified, body in rows:
                if modified and modified == wanted.get(vid):
                    rec = self._decode(vid, body)
                    if rec is not None:
                        out[vid] = rec
        return out

    def records_by_id(self, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """{id: record} for each id held, at whatever revision."""
        out: dict[str, Mapping[str, Any]] = {}
        for chunk, marks in id_chunks(sorted(set(ids))):
            try:
                rows = self._query(f"SELECT id, body FROM records WHERE id IN ({marks})", chunk)
            except ServiceUnavailable:
                return out
            for vid, body in rows:
                rec = self._decode(vid, body)
                if rec is not None:
                    out[vid] = rec
        return out

    def records_for(self, names: Sequence[str]) -> dict[str, list[Mapping[str, Any]]]:
        """Every stored record affecting each of `names` (package keys: model.package_key), by key."""
        out: dict[str, list[Mapping[str, Any]]] = {}
        for chunk, marks in id_chunks(sorted(set(names))):
            rows = self._query(
                "SELECT a.package, r.id, r.body FROM affects a JOIN records r ON r.id = a.id "
                f"WHERE a.package IN ({marks}) ORDER BY a.package, r.id",
                chunk,
            )
            for package, vid, body in rows:
                rec = self._decode(vid, body)
                if rec is not None:
                    out.setdefault(package, []).append(rec)
        return out

    def audit(self, source: str, packages: Sequence[PackageVersion]) -> AuditAnswer:
        return answer_from(source, packages, self.records_for([package_key(pv.ecosystem, pv.name) for pv in packages]))
