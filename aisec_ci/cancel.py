"""Cancellation: CI stops a job with SIGTERM (GitHub Actions sends SIGINT, then SIGTERM,
then SIGKILL); a terminal sends SIGINT.

Either signal becomes a `Cancelled` exception in the main thread, so the `finally`
blocks on the way out run: the worker pool stops its workers, a new-only scan removes
its base worktree, temporary directories go. A second signal during that clean-up is
ignored (the clean-up is bounded), and the process exits with 128 + the signal number,
the status a shell reports for a process ended by that signal.
"""

from __future__ import annotations

import signal
from types import FrameType


class Cancelled(BaseException):
    """The run was cancelled by a signal. A BaseException: no `except Exception` in a
    scanner may swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"


def _cancel(signum: int, frame: FrameType | None) -> None:
    # Clean-up is bounded (workers get SIGTERM, then SIGKILL after 2 s); a second signal
    # arriving in the middle of it must not leave a worktree or a worker behind.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    raise Cancelled(signum)


def install_handlers() -> None:
    """Turn SIGTERM and SIGINT into `Cancelled` (main thread only, as Python requires)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _cancel)
