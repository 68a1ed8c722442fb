"""The OSV source's cache of full advisory records, kept between runs in one SQLite file.

A record is reused only at the exact `modified` stamp the API names, so the
cache can never serve stale content. One file (not one JSON file per
advisory) is one indexed query per run and one path for actions/cache to keep.
Every failure here only costs speed: an unreadable cache is a cold cache, and
a corrupt one is replaced.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aisec_ci.scanners.deps.services.record_store import id_chunks

CACHE_FILE = "osv-records.sqlite"
_SCHEMA = "CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, modified TEXT NOT NULL, body TEXT NOT NULL)"


class DetailCache:
    def __init__(self, directory: Path) -> None:
        self.path = directory / CACHE_FILE

    def _connect(self) -> sqlite3.Connection:
        # A parallel run may be writing: wait for its lock instead of failing at once.
        return sqlite3.connect(self.path, timeout=10)

    def get(self, pairs: Sequence[tuple[str, str]]) -> dict[str, Mapping[str, Any]]:
        """{id: record} for each (id, modified) held at exactly that revision."""
        wanted = {vid: modified for vid, modified in pairs if modified}
        if not wanted or not self.path.is_file():
            return {}
        out: dict[str, Mapping[str, Any]] = {}
        try:
            con = self._connect()
            try:
                for chunk, marks in id_chunks(sorted(wanted)):
                    rows = con.execute(f"SELECT id, modified, body FROM records WHERE id IN ({marks})", chunk)
                    for vid, modified, body in rows:
                        if modified != wanted.get(vid):
                            continue
                        try:
                            rec = json.loads(body)
                        except ValueError:
                            continue
                        if isinstance(rec, dict):
                            out[vid] = rec
            finally:
                con.close()
        except sqlite3.OperationalError:
            return {}  # locked by a parallel run past the timeout, or no table yet
        except sqlite3.DatabaseError:
            self._discard()  # not a database, or damaged: start over
            return {}
        except sqlite3.Error:
            return {}
        return out

    def put(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Store fetched records in one transaction (by id; a newer revision replaces an older one)."""
        rows = [
            (str(rec["id"]), str(rec.get("modified") or ""), json.dumps(rec, separators=(",", ":")))
            for rec in records
            if isinstance(rec.get("id"), str) and rec.get("modified")
        ]
        if not rows:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._connect()
            try:
                with con:
                    con.execute(_SCHEMA)
                    con.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", rows)
            finally:
                con.close()
        except sqlite3.OperationalError:
            pass  # locked, read-only, disk full: a cache that cannot be written only costs requests
        except sqlite3.DatabaseError:
            self._discard()
        except (sqlite3.Error, OSError):
            pass

    def _discard(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
