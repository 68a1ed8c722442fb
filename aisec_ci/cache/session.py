"""One scan's use of the result cache: look up every file, scan the misses, keep what may be kept.

The parent process computes the keys (aisec_ci.cache.inputs), reads the hits, sends only
the misses to the scanner stage, and stores the outputs that come back. What is stored is
the per-file output after the engine finished it (fingerprints, line hashes, inline
suppressions, per-file redaction), so a hit replaces exactly what the scan would have
produced. Nothing is stored that says more about the run than about the file (a budget
that ran out, a worker that died, an unreadable file, a scanner that crashed), nothing
the redaction stage would still change (a secret that no other step redacted), and
nothing naming the scanned root's absolute path (the base scan of --new-only runs in a
temporary checkout and shares the entries).

All writes of a scan (and of its --new-only base scan) go into one transaction at the end.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aisec_ci.budget import FileBudget
from aisec_ci.cache.codec import BadPayload, Uncacheable, decode_output, encode_output
from aisec_ci.cache.identity import tool_identity
from aisec_ci.cache.inputs import (
    ContentDigests,
    Neighbourhood,
    digest_text,
    file_limit,
    repository_key,
    run_digest,
    scanner_extras,
)
from aisec_ci.cache.store import FILE_NAME, CacheDamaged, ResultStore
from aisec_ci.core_rules import SCAN_ERROR
from aisec_ci.engine import EngineOutput, scan_order
from aisec_ci.scanners.base import ScanContext, Scanner
from aisec_ci.workspace.discovery import Workspace
from aisec_ci.workspace.files import SourceFile


@dataclass
class CacheStats:
    """What the cache saved; shown on stderr, never in a report (reports must not differ)."""

    files_reused: int = 0
    files_scanned: int = 0
    """Files some scanner wanted that were not in the cache (or may not be cached)."""
    passes_reused: int = 0
    passes_run: int = 0
    """Cacheable repository passes that had to run."""

    def describe(self) -> str:
        text = f"cache: {self.files_reused} files reused, {self.files_scanned} scanned"
        if self.passes_reused or self.passes_run:
            text += f"; {self.passes_reused} repository passes reused, {self.passes_run} run"
        return text


class CacheSession:
    """The cache directory for the length of one `run_scan` (and its base scan)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.notes: list[str] = []
        self.stats = CacheStats()
        self.digests = ContentDigests(time.time_ns())
        self._pending: dict[str, dict[bytes, bytes]] = {"files": {}, "repo": {}}
        self._used: dict[str, set[bytes]] = {"files": set(), "repo": set()}
        self._rebuild = False
        self.store: ResultStore | None = None
        try:
            self.store, note = ResultStore.open(directory, tool_identity())
        except (OSError, sqlite3.Error) as exc:
            self.notes.append(f"result cache {directory} cannot be used ({_reason(exc)}); scanned without it")
            return
        if note:
            self.notes.append(note)
        try:
            self.digests.known = self.store.stats()
        except CacheDamaged as exc:
            self._damaged(exc)

    @property
    def usable(self) -> bool:
        """False when no cache could be opened (the scan then runs as without one)."""
        return self.store is not None

    @property
    def path(self) -> Path:
        return self.directory / FILE_NAME

    def _damaged(self, exc: Exception) -> None:
        """The file turned out to be damaged after opening: no more reads, replaced at the end."""
        if not self._rebuild:
            self.notes.append(f"result cache {self.path} {exc}; ignored and rebuilt")
        self._rebuild = True
        self.digests.known = {}

    def lookup(self, table: str, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        self._used[table].update(keys)
        pending = self._pending[table]
        found = {k: pending[k] for k in keys if k in pending}
        rest = [k for k in keys if k not in found]
        if rest and self.store is not None and not self._rebuild:
            try:
                found.update(self.store.get_many(table, rest))
            except CacheDamaged as exc:
                self._damaged(exc)
        return found

    def keep(self, table: str, key: bytes, payload: bytes) -> None:
        self._pending[table][key] = payload
        self._used[table].add(key)

    def decode(self, payloads: dict[bytes, bytes]) -> dict[bytes, tuple[EngineOutput, list[str]]] | None:
        """Every payload decoded, or None (and the cache dropped) when one is not valid."""
        try:
            return {k: decode_output(p) for k, p in payloads.items()}
        except BadPayload as exc:
            self._damaged(CacheDamaged(f"has an entry that does not decode ({exc})"))
            return None

    def run(self, ws: Workspace, *, record_stats: bool = True) -> CachedRun:
        return CachedRun(self, ws, record_stats)

    def abandon(self) -> None:
        """Close without writing anything (the scan failed or was cancelled)."""
        if self.store is not None:
            self.store.close()
            self.store = None

    def close(self) -> list[str]:
        """Write what this scan added; the notes for the report."""
        store = self.store
        if store is None:
            return self.notes
        self.store = None
        dirty = any(self._pending.values()) or self.digests.fresh
        try:
            if self._rebuild:
                store.close()
                store = ResultStore.create(self.directory, tool_identity())
                dirty = True
            if dirty:
                store.write(self._pending, self.digests.fresh, self._used, self.digests.seen)
        except (OSError, sqlite3.Error) as exc:
            self.notes.append(f"result cache {self.path} could not be written ({_reason(exc)}); results not stored")
        finally:
            store.close()
        return self.notes


class CachedRun:
    """The cache's part in one `run_scan`: per-file hits and misses, repository passes."""

    def __init__(self, session: CacheSession, ws: Workspace, record_stats: bool) -> None:
        self.session = session
        self.ws = ws
        self.near = Neighbourhood(ws, session.digests, record_stats)
        self.run_key = ""
        self._keys: dict[str, tuple[bytes, bytes, str]] = {}
        """path -> (key, stat signature at hashing, absolute path) of the files that may be stored."""
        self._hits: dict[str, EngineOutput] = {}
        self._fresh: dict[str, EngineOutput] = {}
        self._files: list[SourceFile] = []
        # The root as it would appear inside a payload (JSON-escaped like the payload).
        self._root_marks = {json.dumps(str(ws.root))[1:-1].encode("ascii")}

    # --- per file ---------------------------------------------------------------

    def plan(
        self, files: Sequence[SourceFile], specs: Sequence[tuple[type[Scanner], ScanContext]], budget: FileBudget
    ) -> list[SourceFile]:
        """Look every file up; return the ones to scan."""
        self._files = list(files)
        self.run_key = run_digest(specs, budget)
        scanners = [(cls(ctx), ctx) for cls, ctx in specs]
        todo: list[SourceFile] = []
        keyed: dict[bytes, str] = {}
        for sf in files:
            wanting = [(s, ctx) for s, ctx in scanners if s.wants(sf)]
            if not wanting:
                self._hits[sf.path] = EngineOutput()  # nothing would examine it: nothing to scan
                continue
            entry = self._file_key(sf, wanting)
            if entry is None:
                todo.append(sf)
            else:
                keyed[entry[0]] = sf.path
                self._keys[sf.path] = entry
        stored = self.session.lookup("files", list(keyed))
        decoded = self.session.decode(stored) or {}
        for key, (out, _) in decoded.items():
            self._hits[keyed[key]] = out
        for sf in files:
            if sf.path in self._keys and sf.path not in self._hits:
                todo.append(sf)
        stats = self.session.stats
        stats.files_reused += len(decoded)
        stats.files_scanned += len(todo)
        return todo

    def _file_key(self, sf: SourceFile, wanting: list[tuple[Scanner, ScanContext]]) -> tuple[bytes, bytes, str] | None:
        extras = scanner_extras(self.near, wanting, sf)
        if extras is None:
            return None
        got = self.session.digests.of(str(sf.abspath), file_limit(sf), record=self.near.record)
        if got is None:
            return None
        content, signature = got
        key = digest_text("file", self.run_key, sf.path, sf.kind.value, sf.limit, content, extras)
        return bytes.fromhex(key), signature, str(sf.abspath)

    @property
    def prepare(self) -> PayloadEncoder:
        """What the engine runs on each fresh output, where the file was scanned."""
        return PayloadEncoder(frozenset(self._root_marks))

    def record(self, path: str, out: EngineOutput) -> None:
        """The engine's output for one scanned file, encoded by `prepare`: kept when it may be."""
        self._fresh[path] = out
        entry = self._keys.get(path)
        if entry is None or out.payload is None or out.transient:
            return
        key, signature, abspath = entry
        # Changed between hashing and scanning: the output may belong to some other content.
        if self.session.digests.signature(abspath) != signature:
            return
        self.session.keep("files", key, out.payload)

    def combined(self, fresh: EngineOutput) -> EngineOutput:
        """Hits and fresh outputs together, in the order the engine would have produced them."""
        out = EngineOutput()
        for sf in sorted(self._files, key=scan_order):
            part = self._hits.get(sf.path) or self._fresh.get(sf.path)
            if part is not None:
                out.extend(part)
        out.transient = fresh.transient
        return out

    # --- repository passes ---------------------------------------------------------

    def repository(
        self, cls: type[Scanner], ctx: ScanContext, run: Callable[[], tuple[EngineOutput, list[str]]]
    ) -> tuple[EngineOutput, list[str]]:
        key_text = repository_key(cls.name, ctx, self.near, self.run_key)
        if key_text is None:
            return run()
        key = bytes.fromhex(key_text)
        stored = self.session.lookup("repo", [key])
        decoded = self.session.decode(stored) if stored else None
        if decoded:
            self.session.stats.passes_reused += 1
            return decoded[key]
        self.session.stats.passes_run += 1
        out, notes = run()
        payload = self.prepare.encode(out, notes)
        if payload is not None:
            self.session.keep("repo", key, payload)
        return out, notes


@dataclass(frozen=True)
class PayloadEncoder:
    """An output as the cache stores it, or None when it must not be stored."""

    root_marks: frozenset[bytes]
    """The scanned root's absolute path, as it would appear in a payload."""

    def __call__(self, out: EngineOutput) -> bytes | None:
        return self.encode(out, [])

    def encode(self, out: EngineOutput, notes: list[str]) -> bytes | None:
        if out.transient or any(f.rule_id == SCAN_ERROR.id for f in out.findings):
            return None  # a crash may be the environment's, not the content's
        if not _redaction_leaves_unchanged(out, notes):
            return None
        try:
            payload = encode_output(out, notes)
        except Uncacheable:
            return None
        if any(mark in payload for mark in self.root_marks):
            return None
        return payload


def _redaction_leaves_unchanged(out: EngineOutput, notes: list[str]) -> bool:
    """The pipeline's redaction stage would change nothing in `out`: no raw secret goes to disk,
    and a hit replays exactly what the stage then sees."""
    if not (out.findings or out.suppressed or out.skipped or out.notes or notes):
        return True
    from aisec_ci.redaction import Redactor

    redactor = Redactor()
    for f in out.findings:
        if redactor.finding(f) is not f:
            return False
    for s in out.suppressed:
        if redactor.finding(s.finding) is not s.finding or redactor.text(s.reason) != s.reason:
            return False
    texts = [t for s in out.skipped for t in (s.path, s.reason)] + out.notes + notes
    return all(redactor.text(t) == t for t in texts)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)[:200] or type(exc).__name__
