"""The cache file: one SQLite database in the cache directory.

Why SQLite (the standard library's sqlite3): a commit is atomic (a scan killed while
writing leaves the previous cache, never half of a new one), a second scan reading the
cache while another writes it waits for the lock instead of reading torn data, lookups by
key read only the pages they need (a warm scan of 4,000 files reads 4,000 rows without
parsing the rest), and a damaged file is reported as an error on access rather than read
as data. A JSON or pickle file would have to be read whole, written whole through a
temporary file, and could not be shared by two processes.

Nothing in the file is trusted: it may come from actions/cache, from another version, or
be cut short by a full disk. Opening checks the SQLite header, that the file is as long as
its page count says, the format version and the tool identity (aisec_ci.cache.identity);
every payload carries its own checksum. Anything else is reported in a note and the file
is replaced by an empty one. Raw secrets never reach it (the session stores only outputs
the redaction stage leaves unchanged), but whoever can write it can hide findings: it must
be as trusted as the workspace (see README, "Result cache").
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

from aisec_ci import __version__

FILE_NAME = "aisec-ci-results.sqlite3"
FORMAT_VERSION = "1"
TOOL_NAME = "aisec-ci result cache"
_HEADER = b"SQLite format 3\x00"
_LOCK_TIMEOUT = 10.0
_BATCH = 500  # SQLite's default limit of host parameters is 999 on old versions
_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE files (key BLOB PRIMARY KEY, payload BLOB NOT NULL, checksum BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE repo (key BLOB PRIMARY KEY, payload BLOB NOT NULL, checksum BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE stat (path BLOB PRIMARY KEY, signature BLOB NOT NULL, digest BLOB NOT NULL, "
    "checksum BLOB NOT NULL) WITHOUT ROWID",
)
TABLES = ("files", "repo")


class CacheDamaged(Exception):
    """The cache file cannot be trusted; the message says why, for the note."""


def checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=16).digest()


class ResultStore:
    """An open, validated cache file. Every method may raise CacheDamaged."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn

    # --- opening ----------------------------------------------------------

    @classmethod
    def open(cls, directory: Path, identity: str) -> tuple[ResultStore, str | None]:
        """The cache in `directory`, and a note when an existing file had to be replaced.

        Raises OSError or sqlite3.Error when no cache can be made there at all."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / FILE_NAME
        note = None
        if os.path.lexists(path):
            try:
                return cls(path, _validated(path, identity)), None
            except CacheDamaged as exc:
                note = f"result cache {path} {exc}; ignored and rebuilt"
            _remove(path)
        return cls(path, _create(path, identity)), note

    @classmethod
    def create(cls, directory: Path, identity: str) -> ResultStore:
        """A new empty cache in place of whatever `directory` held."""
        path = directory / FILE_NAME
        _remove(path)
        return cls(path, _create(path, identity))

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    # --- reading ----------------------------------------------------------

    def get_many(self, table: str, keys: Iterable[bytes]) -> dict[bytes, bytes]:
        """Payloads of the `keys` present, each checked against its checksum."""
        assert table in TABLES
        wanted = list(dict.fromkeys(keys))
        found: dict[bytes, bytes] = {}
        try:
            for start in range(0, len(wanted), _BATCH):
                batch = wanted[start : start + _BATCH]
                marks = ",".join("?" * len(batch))
                rows = self.conn.execute(
                    f"SELECT key, payload, checksum FROM {table} WHERE key IN ({marks})", batch
                ).fetchall()
                for key, payload, check in rows:
                    if not isinstance(payload, bytes) or checksum(payload) != check:
                        raise CacheDamaged("has an entry that fails its checksum")
                    found[key] = payload
        except sqlite3.Error as exc:
            raise CacheDamaged(f"cannot be read ({_error_text(exc)})") from None
        return found

    def stats(self) -> dict[bytes, tuple[bytes, bytes]]:
        """Path digest -> (stat signature, content digest) of the files hashed before."""
        try:
            rows = self.conn.execute("SELECT path, signature, digest, checksum FROM stat").fetchall()
        except sqlite3.Error as exc:
            raise CacheDamaged(f"cannot be read ({_error_text(exc)})") from None
        out: dict[bytes, tuple[bytes, bytes]] = {}
        for path, signature, digest, check in rows:
            if not (isinstance(path, bytes) and isinstance(signature, bytes) and isinstance(digest, bytes)):
                raise CacheDamaged("has a malformed entry")
            if checksum(b"\0".join((path, signature, digest))) != check:
                raise CacheDamaged("has an entry that fails its checksum")
            out[path] = (signature, digest)
        return out

    # --- writing ----------------------------------------------------------

    def write(
        self,
        entries: Mapping[str, Mapping[bytes, bytes]],
        stats: Mapping[bytes, tuple[bytes, bytes]],
        keep: Mapping[str, set[bytes]],
        seen_paths: set[bytes],
    ) -> None:
        """Add `entries` (table -> key -> payload) and `stats` in one transaction, then drop
        what this run did not use once a table holds far more than it used (old contents
        of changed files pile up otherwise). Raises sqlite3.Error or OSError."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table, rows in entries.items():
                assert table in TABLES
                conn.executemany(
                    f"INSERT OR REPLACE INTO {table} (key, payload, checksum) VALUES (?, ?, ?)",
                    [(k, p, checksum(p)) for k, p in rows.items()],
                )
            conn.executemany(
                "INSERT OR REPLACE INTO stat (path, signature, digest, checksum) VALUES (?, ?, ?, ?)",
                [(p, s, d, checksum(b"\0".join((p, s, d)))) for p, (s, d) in stats.items()],
            )
            for table, used in keep.items():
                _prune(conn, table, "key", used)
            _prune(conn, "stat", "path", seen_paths)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise


def _prune(conn: sqlite3.Connection, table: str, column: str, used: set[bytes]) -> None:
    (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    if count <= 3 * len(used) + 1000:
        return
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS used (key BLOB PRIMARY KEY) WITHOUT ROWID")
    conn.execute("DELETE FROM used")
    conn.executemany("INSERT OR IGNORE INTO used VALUES (?)", [(k,) for k in used])
    conn.execute(f"DELETE FROM {table} WHERE {column} NOT IN (SELECT key FROM used)")
    conn.execute("DELETE FROM used")


def _connect(path: Path) -> sqlite3.Connection:
    # Autocommit mode: transactions are begun and ended explicitly in `write`.
    conn = sqlite3.connect(path, timeout=_LOCK_TIMEOUT, isolation_level=None)
    # A second scan reading while this one writes waits; no -wal/-shm files beside the cache.
    conn.execute("PRAGMA journal_mode=DELETE")
    return conn


def _validated(path: Path, identity: str) -> sqlite3.Connection:
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_HEADER))
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise CacheDamaged(f"cannot be read ({exc.strerror or exc})") from None
    if head != _HEADER:
        raise CacheDamaged("is not an SQLite database (damaged, or another program's file)")
    conn = None
    try:
        conn = _connect(path)
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        if size < page_size * pages:
            raise CacheDamaged(f"is truncated ({size:,} of {page_size * pages:,} bytes)")
        try:
            meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        except sqlite3.OperationalError:
            raise CacheDamaged("is another program's SQLite database") from None
        if meta.get("tool") != TOOL_NAME:
            raise CacheDamaged("is another program's SQLite database")
        if meta.get("format") != FORMAT_VERSION:
            raise CacheDamaged(f"has format {meta.get('format')!s:.20}, not {FORMAT_VERSION}")
        if meta.get("identity") != identity:
            written = str(meta.get("version", "?"))[:40]
            same = " (another build of it)" if written == __version__ else ""
            raise CacheDamaged(f"was written by aisec-ci {written}{same}, not this {__version__}")
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"files", "repo", "stat"} <= names:
            raise CacheDamaged("lacks its tables")
        return conn
    except CacheDamaged:
        if conn is not None:
            conn.close()
        raise
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise CacheDamaged(f"cannot be read ({_error_text(exc)})") from None


def _create(path: Path, identity: str) -> sqlite3.Connection:
    """A new empty cache, built beside its final name and renamed into place (atomic)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _remove(tmp)
    conn = _connect(tmp)
    try:
        conn.execute("BEGIN")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO meta (name, value) VALUES (?, ?)",
            [("tool", TOOL_NAME), ("format", FORMAT_VERSION), ("version", __version__), ("identity", identity)],
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    os.replace(tmp, path)
    return _connect(path)


def _remove(path: Path) -> None:
    for victim in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            victim.unlink()


def _error_text(exc: BaseException) -> str:
    return str(exc)[:200] or type(exc).__name__
