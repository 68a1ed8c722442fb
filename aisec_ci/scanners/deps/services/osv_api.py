"""The OSV API: `/v1/querybatch` for ids (1,000 packages per request), then `/v1/vulns/{id}` for details.

The batch answer names each advisory's id and `modified` stamp. OSV bumps that
stamp on every change, so a record already held at the same stamp (the disk
cache, or a local store such as the embedded snapshot) is the same content
and needs no request; only the rest are fetched, concurrently over one session.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.matching import advisory_from_osv
from aisec_ci.scanners.deps.services.breaker import DEFAULT_DEADLINE, Breaker, SourceDown
from aisec_ci.scanners.deps.services.detail_cache import DetailCache
from aisec_ci.scanners.deps.services.interface import (
    DEFAULT_OSV_URL,
    AuditAnswer,
    PackageVersion,
    ServiceUnavailable,
)
from aisec_ci.scanners.deps.services.jsonhttp import HttpError, HttpTimeout, JsonHttpClient

BATCH_SIZE = 1000  # the API's documented maximum per querybatch
MAX_PAGES = 20
_SAFE_ID_RE = re.compile(r"^[A-Za-z0-9._:-]+$")

KnownRecords = Callable[[Sequence[tuple[str, str]]], "dict[str, Mapping[str, Any]]"]
"""[(id, modified)] -> {id: the record at exactly that revision} for the ones held."""
OlderRecords = Callable[[Sequence[str]], "dict[str, Mapping[str, Any]]"]
"""[id] -> {id: a held record at whatever revision}: what describes an advisory whose fetch failed."""


class OsvApiService:
    name = "osv-api"

    def __init__(
        self,
        base_url: str = DEFAULT_OSV_URL,
        timeout: float = 15.0,
        retries: int = 2,
        cache_dir: Path | None = None,
        workers: int = 16,
        known: KnownRecords | None = None,
        deadline: float = DEFAULT_DEADLINE,
        older: OlderRecords | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.cache_dir = cache_dir
        self._cache = DetailCache(cache_dir) if cache_dir is not None else None
        self.workers = workers
        self.known = known
        self.older = older
        self.deadline = deadline
        self._breaker = Breaker(deadline)
        self.requests_made = 0
        self.details_fetched = 0
        self.details_reused = 0
        try:
            self._client: JsonHttpClient | None = JsonHttpClient(self.base_url, timeout)
            self._bad_url = ""
        except ValueError as exc:
            self._client, self._bad_url = None, str(exc)

    # --- HTTP -----------------------------------------------------------
    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        url = self.base_url + path
        if self._client is None:
            raise ServiceUnavailable(f"OSV API: {self._bad_url}")
        breaker = self._breaker
        last = ""
        for attempt in range(self.retries + 1):
            try:
                breaker.check()
                if attempt:
                    time.sleep(min(0.25 * 2**attempt, 4.0, breaker.remaining()))
                    breaker.check()
            except SourceDown as exc:
                raise ServiceUnavailable(f"OSV API: not asked: {exc}") from None
            # Never wait past the deadline for one answer either.
            wait = max(0.1, min(self.timeout, breaker.remaining()))
            self.requests_made += 1
            try:
                resp = self._client.request(method, path, body, timeout=wait)
            except HttpTimeout:
                last = f"no answer from {self.base_url} within {wait:g} s"
                breaker.failed(last)
                continue
            except HttpError as exc:
                last = f"cannot reach {self.base_url} ({exc})"
                breaker.failed(last)
                continue
            if resp.status == 429 or resp.status >= 500:
                last = f"{self.base_url} answered HTTP {resp.status}"
                breaker.failed(last)
                continue
            breaker.succeeded()
            if resp.status >= 400:
                raise ServiceUnavailable(f"{url} answered HTTP {resp.status}")
            try:
                return resp.json()
            except ValueError:
                raise ServiceUnavailable(f"{url} did not answer with JSON") from None
        attempts = self.retries + 1
        why = f"{last} (after {attempts} attempt{'s' if attempts != 1 else ''})"
        # Every attempt of this request failed: the source is down, not hiccuping. The rest of
        # the lookup goes to the fallback at once instead of paying the same timeouts again.
        breaker.trip(why)
        raise ServiceUnavailable(f"OSV API: {why}")

    def covers(self, ecosystem: str) -> bool:
        return True  # osv.dev serves every ecosystem

    # --- audit ----------------------------------------------------------
    def audit(self, packages: Sequence[PackageVersion]) -> AuditAnswer:
        # One breaker and one deadline per lookup: batches, pages and detail fetches together.
        self._breaker = Breaker(self.deadline)
        answer = AuditAnswer(source=self.name)
        ids_by_pkg: dict[PackageVersion, list[tuple[str, str]]] = {}
        unreachable = 0
        reason = ""
        for start in range(0, len(packages), BATCH_SIZE):
            chunk = list(packages[start : start + BATCH_SIZE])
            try:
                found = self._querybatch(chunk)
            except ServiceUnavailable as exc:
                reason = reason or str(exc)  # the first failure says why; the rest were not asked
                unreachable += 1
                for pv in chunk:
                    answer.failed[pv] = str(exc)
                continue
            ids_by_pkg.update(found)
        if packages and unreachable * BATCH_SIZE >= len(packages):
            # With one batch there was nothing left to stop asking for: the reason stands alone.
            raise ServiceUnavailable(reason + (self._not_asked_again(reason) if unreachable > 1 else ""))
        if answer.failed:
            answer.notes.append(
                f"OSV API: {len(answer.failed)} of {len(packages)} package(s) not checked ({reason})"
                + self._not_asked_again(reason)
            )
        wanted = sorted({pair for pairs in ids_by_pkg.values() for pair in pairs})
        before = self.requests_made
        records = self._details(wanted)
        if wanted:
            answer.notes.append(
                f"OSV API: {len(wanted)} advisory record(s) matched; {self.details_reused} already held at the "
                f"same revision, {self.details_fetched} fetched ({self.requests_made - before} detail request(s))"
            )
        missing = sorted(vid for vid, rec in records.items() if isinstance(rec, str))
        if missing:
            note = f"OSV API: {len(missing)} advisory record(s) could not be fetched ({records[missing[0]]})"
            older = self.older(missing) if self.older is not None else {}
            if older:
                records.update(older)
                note += f"; {len(older)} described by the embedded snapshot's copy, which may be older"
            answer.notes.append(note)
        for pv, pairs in ids_by_pkg.items():
            advisories: list[Advisory] = []
            for vid, _modified in pairs:
                record = records.get(vid)
                if isinstance(record, Mapping):
                    if record.get("withdrawn"):
                        continue
                    advisories.append(advisory_from_osv(record, pv.name, self.name, pv.version, pv.ecosystem))
                else:
                    advisories.append(
                        Advisory(id=vid, summary=f"(details unavailable: {record})", sources=(self.name,))
                    )
            answer.advisories[pv] = sorted(advisories, key=lambda a: a.id)
        return answer

    def _not_asked_again(self, reason: str) -> str:
        why = self._breaker.reason
        if not why:
            return ""
        return "; not asked again this run" + ("" if why in reason else f" ({why})")

    def _querybatch(self, chunk: list[PackageVersion]) -> dict[PackageVersion, list[tuple[str, str]]]:
        queries = [{"package": {"name": pv.name, "ecosystem": pv.ecosystem}, "version": pv.version} for pv in chunk]
        data = self._call("POST", "/v1/querybatch", {"queries": queries})
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list) or len(results) != len(chunk):
            raise ServiceUnavailable(f"{self.base_url}/v1/querybatch answered with a malformed result list")
        out: dict[PackageVersion, list[tuple[str, str]]] = {}
        for pv, query, result in zip(chunk, queries, results, strict=True):
            pairs = _vuln_pairs(result)
            token = result.get("next_page_token") if isinstance(result, dict) else None
            pages = 0
            while token and pages < MAX_PAGES:
                pages += 1
                more = self._call("POST", "/v1/querybatch", {"queries": [{**query, "page_token": token}]})
                res = (more.get("results") or [{}])[0] if isinstance(more, dict) else {}
                pairs += _vuln_pairs(res)
                token = res.get("next_page_token") if isinstance(res, dict) else None
            out[pv] = sorted(set(pairs))
        return out

    def _details(self, wanted: list[tuple[str, str]]) -> dict[str, Mapping[str, Any] | str]:
        records: dict[str, Mapping[str, Any] | str] = {}
        pairs = list(dict(wanted).items())  # one (id, modified) per id
        held = self._cache.get(pairs) if self._cache is not None else {}
        rest = [(vid, modified) for vid, modified in pairs if vid not in held]
        if rest and self.known is not None:
            held.update(self.known(rest))
        records.update(held)
        self.details_reused += len(held)
        todo = [vid for vid, _modified in pairs if vid not in held]
        self.details_fetched += len(todo)

        def fetch(vid: str) -> tuple[str, Mapping[str, Any] | str]:
            if not _SAFE_ID_RE.match(vid):
                return vid, "unexpected advisory id"
            try:
                rec = self._call("GET", f"/v1/vulns/{vid}")
            except ServiceUnavailable as exc:
                return vid, str(exc)
            if not isinstance(rec, dict):
                return vid, "malformed record"
            return vid, rec

        if todo:
            from concurrent.futures import ThreadPoolExecutor  # only a run with records to fetch needs it

            fetched: list[Mapping[str, Any]] = []
            with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(todo)))) as pool:
                for vid, rec in pool.map(fetch, todo):
                    records[vid] = rec
                    if not isinstance(rec, str):
                        fetched.append(rec)
            if self._cache is not None:
                self._cache.put(fetched)
        return records


def _vuln_pairs(result: Any) -> list[tuple[str, str]]:
    if not isinstance(result, dict):
        return []
    pairs = []
    for v in result.get("vulns") or ():
        if isinstance(v, dict) and isinstance(v.get("id"), str):
            pairs.append((v["id"], str(v.get("modified") or "")))
    return pairs
