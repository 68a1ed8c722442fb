"""Is `name==version` a release on PyPI at all? (opt-in: `deps.check_pypi`)

Advisory databases answer "nothing known" for a package they have never heard
of, which is exactly the answer a typo, a never-published internal name (a
dependency-confusion target) or a made-up version gets. Only the index can tell
those apart from a clean release. PyPI's JSON API has no batch endpoint, so
this costs one small request per pin (`/pypi/<name>/<version>/json`, concurrent
over one session); releases seen once are remembered in the cache directory,
because a published release stays listed (yanked ones included).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import requests

from aisec_ci.scanners.deps.services.breaker import DEFAULT_DEADLINE, Breaker, SourceDown
from aisec_ci.scanners.deps.services.interface import PackageVersion

DEFAULT_PYPI_URL = "https://pypi.org"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_CACHE_FILE = "pypi-releases.json"


class PypiIndex:
    def __init__(
        self,
        base_url: str = DEFAULT_PYPI_URL,
        timeout: float = 15.0,
        cache_dir: Path | None = None,
        workers: int = 8,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.deadline = deadline
        self._breaker = Breaker(deadline)
        self.cache_dir = cache_dir
        self.workers = workers
        self.requests_made = 0
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "aisec-ci (deps scanner)"
        self._session.headers["Accept"] = "application/json"

    def missing(self, packages: Sequence[PackageVersion]) -> tuple[dict[PackageVersion, str], list[str]]:
        """(pins the index does not list, with the reason; notes about pins it could not check)."""
        known = self._load_cache()
        # One request per pin and no retries: a down index would otherwise cost a timeout per pin
        # (divided by the workers). After a few failures in a row the rest are not asked.
        self._breaker = Breaker(self.deadline)
        todo = [pv for pv in sorted(set(packages)) if f"{pv.name}=={pv.version}" not in known]
        absent: dict[PackageVersion, str] = {}
        unchecked: list[str] = []
        if todo:
            with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(todo)))) as pool:
                for pv, status in zip(todo, pool.map(self._status, todo), strict=True):
                    if status == 200:
                        known.add(f"{pv.name}=={pv.version}")
                    elif status == 404:
                        absent[pv] = f"{pv.name} {pv.version} is not a release on {self.base_url} (HTTP 404)"
                    else:
                        unchecked.append(f"{pv.name}=={pv.version}")
            self._save_cache(known)
        notes = []
        if unchecked:
            shown = ", ".join(unchecked[:10]) + (f" and {len(unchecked) - 10} more" if len(unchecked) > 10 else "")
            notes.append(f"PyPI index {self.base_url} did not answer for {len(unchecked)} pin(s): {shown}")
            if self._breaker.open:
                notes.append(f"PyPI index {self.base_url} was not asked again this run ({self._breaker.reason})")
        return absent, notes

    def _status(self, pv: PackageVersion) -> int:
        """200 listed, 404 not listed, 0 no usable answer."""
        if not _NAME_RE.match(pv.name):
            return 0
        url = f"{self.base_url}/pypi/{quote(pv.name)}/{quote(pv.version, safe='')}/json"
        try:
            self._breaker.check()
        except SourceDown:
            return 0
        self.requests_made += 1
        try:
            wait = max(0.1, min(self.timeout, self._breaker.remaining()))
            resp = self._session.get(url, timeout=wait, allow_redirects=True)
        except requests.Timeout:
            self._breaker.failed(f"no answer within {wait:g} s")
            return 0
        except requests.RequestException as exc:
            self._breaker.failed(f"cannot reach it ({type(exc).__name__})")
            return 0
        if resp.status_code in (200, 404):
            self._breaker.succeeded()
            return resp.status_code
        self._breaker.failed(f"HTTP {resp.status_code}")
        return 0

    def _cache_path(self) -> Path | None:
        return self.cache_dir / _CACHE_FILE if self.cache_dir is not None else None

    def _load_cache(self) -> set[str]:
        path = self._cache_path()
        if path is None or not path.is_file():
            return set()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        return {str(x) for x in data} if isinstance(data, list) else set()

    def _save_cache(self, known: set[str]) -> None:
        path = self._cache_path()
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(sorted(known)), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass  # a cache that cannot be written only costs requests
