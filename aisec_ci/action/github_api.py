"""A small GitHub REST client on one `requests.Session`.

It follows GitHub's documented rate-limit rules: on 403/429 wait for
`retry-after`, else until `x-ratelimit-reset` when `x-ratelimit-remaining` is
0, else a minute for a secondary limit; any other 403 is a permission answer
and is not retried. 5xx and connection errors are retried with exponential
backoff. 400/410/422/451 are final. Every wait is capped, so a rate-limited
publish step gives up with a warning instead of holding the job hostage.

The token is sent only in the Authorization header and never appears in an
exception message or log line: `redact` scrubs it from any text we show.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from aisec_ci import __version__

API_VERSION = "2022-11-28"
NO_RETRY_STATUSES = frozenset({400, 401, 404, 410, 413, 422, 451})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
SECONDARY_LIMIT_WAIT = 60.0


class GitHubError(Exception):
    """An API call failed for good; `status` is None for network errors."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body

    @property
    def api_message(self) -> str:
        if isinstance(self.body, Mapping):
            return str(self.body.get("message", ""))
        return ""

    @property
    def is_permission(self) -> bool:
        """The token cannot do this (fork PR, missing permission, feature off): a warning, not a failure."""
        return self.status in (401, 403, 404)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Tries per request, the first included."""
    backoff: float = 1.0
    """First pause after a 5xx or network error; doubled each time."""
    max_wait: float = 90.0
    """Longest single pause; a rate limit that resets later ends the retries."""
    max_total_wait: float = 180.0
    """Total pause budget per request."""


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class GitHubClient:
    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep
        self._now = now
        self._log = log or (lambda _msg: None)
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"aisec-ci/{__version__}",
            }
        )
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        # Proxies and .netrc from the environment are fine; credentials come only from us.
        self.session.trust_env = True

    def __repr__(self) -> str:
        return self._scrub(f"GitHubClient({self.api_url!r})")

    def close(self) -> None:
        self.session.close()

    def _scrub(self, text: str) -> str:
        return redact(text, (self._token,))

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.api_url}/{path.lstrip('/')}"

    def _wait_for(self, resp: requests.Response) -> float | None:
        """Seconds to wait before retrying this response, or None when it is final."""
        status = resp.status_code
        if status in (403, 429):
            retry_after = resp.headers.get("retry-after")
            if retry_after is not None:
                try:
                    return max(0.0, float(retry_after))
                except ValueError:
                    return SECONDARY_LIMIT_WAIT
            if resp.headers.get("x-ratelimit-remaining") == "0":
                try:
                    reset = float(resp.headers.get("x-ratelimit-reset", ""))
                except ValueError:
                    return SECONDARY_LIMIT_WAIT
                return max(1.0, reset - self._now() + 1.0)
            text = resp.text[:2000].lower()
            if "secondary rate limit" in text or "abuse" in text or status == 429:
                return SECONDARY_LIMIT_WAIT
            return None
        if status in RETRY_STATUSES:
            return -1.0  # backoff decides
        return None

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        """The successful response; GitHubError otherwise (message safe to log)."""
        url = self.url(path)
        what = f"{method} {url.split('?', 1)[0]}"
        waited = 0.0
        backoff = self.policy.backoff
        last: str = ""
        for attempt in range(1, self.policy.attempts + 1):
            try:
                resp = self.session.request(method, url, json=json_body, params=params, timeout=self.timeout)
            except requests.RequestException as exc:
                last = self._scrub(f"{what}: {type(exc).__name__}: {exc}")
                wait = backoff
                backoff *= 2
                if attempt == self.policy.attempts or waited + wait > self.policy.max_total_wait:
                    raise GitHubError(last) from None
                self._log(f"{last}; retrying in {wait:.0f}s")
                self._sleep(wait)
                waited += wait
                continue
            if resp.status_code < 400:
                return resp
            body = _json_or_text(resp)
            last = self._scrub(f"{what} -> {resp.status_code} {_message(body)}".rstrip())
            wait_for = None if resp.status_code in NO_RETRY_STATUSES else self._wait_for(resp)
            if wait_for is None:
                raise GitHubError(last, resp.status_code, body)
            if wait_for < 0:
                wait_for = backoff
                backoff *= 2
            if (
                attempt == self.policy.attempts
                or wait_for > self.policy.max_wait
                or waited + wait_for > self.policy.max_total_wait
            ):
                raise GitHubError(f"{last} (gave up after {attempt} tries)", resp.status_code, body)
            self._log(f"{last}; retrying in {wait_for:.0f}s")
            self._sleep(wait_for)
            waited += wait_for
        raise GitHubError(last or what)  # unreachable with attempts >= 1

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return _json_or_text(self.request("GET", path, params=params))

    def post_json(self, path: str, body: Any) -> Any:
        return _json_or_text(self.request("POST", path, json_body=body))

    def patch_json(self, path: str, body: Any) -> Any:
        return _json_or_text(self.request("PATCH", path, json_body=body))

    def paginate(self, path: str, params: Mapping[str, Any] | None = None, max_pages: int = 100) -> Iterator[Any]:
        """Items of every page, following the `Link: rel="next"` URL verbatim."""
        url: str | None = path
        query: Mapping[str, Any] | None = dict(params or {})
        for _ in range(max_pages):
            if url is None:
                return
            resp = self.request("GET", url, params=query)
            data = _json_or_text(resp)
            if not isinstance(data, list):
                raise GitHubError(f"GET {url.split('?', 1)[0]}: expected a list, got {type(data).__name__}")
            yield from data
            next_url = resp.links.get("next", {}).get("url")
            url, query = (next_url, None) if next_url else (None, None)


def _json_or_text(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return resp.text[:2000]


def _message(body: Any) -> str:
    if isinstance(body, Mapping):
        msg = str(body.get("message", ""))
        errors = body.get("errors")
        if isinstance(errors, list):
            details = [str(e.get("message", "")) if isinstance(e, Mapping) else str(e) for e in errors]
            details = [d for d in details if d]
            if details:
                msg = f"{msg}: {'; '.join(details)}"
        return " ".join(msg.split())[:500]
    if isinstance(body, str):
        return " ".join(body.split())[:200]
    return ""
