"""When to stop asking a network source: a circuit breaker and a deadline for one whole lookup.

Retrying each request is right for a source that hiccups, and wrong for one
that is down: against a server that accepts connections and never answers,
every 1,000-pin batch would cost its full set of attempts (three 15 s
timeouts), so 100k pins would wait for over an hour before falling back to
the offline data anyway. Once a source has clearly failed (one request used
up all its attempts, or several requests in a row failed) the breaker opens
and every later request of the lookup fails at once with the same reason. The
deadline bounds the lookup whatever the failure looks like (a server answering
each request just before the timeout never trips the breaker).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_DEADLINE = 120.0
"""Seconds. A healthy lookup takes about a second per 1,000 pins; this is only reached by a
source that stopped answering usefully."""
DEADLINE_ENV = "AISEC_DEPS_DEADLINE"
CONSECUTIVE_FAILURES = 5
"""Failed attempts in a row (any request, any thread) after which the source counts as down."""


class SourceDown(Exception):
    """The breaker is open or the deadline has passed: do not send the request."""


def lookup_deadline(options: Mapping[str, Any], env: Mapping[str, str]) -> float:
    """The `deadline` option, else $AISEC_DEPS_DEADLINE, else the default (a bad env value is ignored)."""
    value: Any = options.get("deadline")
    if value is None:
        value = env.get(DEADLINE_ENV)
    try:
        seconds = float(value) if value not in (None, "") else DEFAULT_DEADLINE
    except (TypeError, ValueError):
        return DEFAULT_DEADLINE
    return seconds if seconds > 0 else DEFAULT_DEADLINE


class Breaker:
    """Shared by every request of one lookup (the detail fetches run in a thread pool)."""

    def __init__(
        self,
        deadline: float = DEFAULT_DEADLINE,
        threshold: int = CONSECUTIVE_FAILURES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.deadline = deadline
        self.threshold = max(1, threshold)
        self._clock = clock
        self._ends = clock() + deadline
        self._failures = 0
        self._lock = threading.Lock()
        self.reason = ""
        """Why the source is no longer asked; empty while it still is."""

    @property
    def open(self) -> bool:
        return bool(self.reason)

    def remaining(self) -> float:
        return max(0.0, self._ends - self._clock())

    def check(self) -> None:
        """Raise SourceDown when no further request should be sent."""
        with self._lock:
            if not self.reason and self._clock() >= self._ends:
                self.reason = f"the {self.deadline:g} s deadline for the whole lookup passed"
            if self.reason:
                raise SourceDown(self.reason)

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0

    def failed(self, why: str) -> None:
        """One attempt got no usable answer (timeout, connection error, HTTP 429/5xx)."""
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold and not self.reason:
                self.reason = f"{self._failures} requests in a row failed, the last: {why}"

    def trip(self, why: str) -> None:
        """A request used up all its attempts: the source is down for the rest of the lookup."""
        with self._lock:
            if not self.reason:
                self.reason = why
