"""Per-file budgets: how long and how much memory one file may cost a scanner.

A hostile or pathological file (a pickle without STOP, a YAML bomb, a million-deep
expression) must cost that file, never the scan. Inside the process that scans a
file, two soft limits apply while it is scanned:

- time: an interval timer raises `BudgetExceeded` in the scanning thread when the
  budget runs out (it fires between bytecodes, so a long call into C finishes first);
- memory: the address-space limit is lowered to what the process uses now plus the
  budget, so an allocation past it raises MemoryError instead of waking the kernel's
  OOM killer.

A C call that neither returns nor allocates is the supervisor's to catch: the
parent process kills a worker that overstays `hard_seconds` (see aisec_ci.workers).
The defaults are far above what any real repository's file costs (the largest CRD
bundles and lock files take well under a second), so they only ever stop hostile input.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from dataclasses import dataclass
from types import FrameType, ModuleType

resource: ModuleType | None
if sys.platform.startswith("linux"):
    import resource
else:  # the address-space limit is only dependable on Linux
    resource = None

DEFAULT_FILE_SECONDS = 60.0
DEFAULT_FILE_MEMORY = 1024 * 1024 * 1024
DEFAULT_MAX_FINDINGS_PER_FILE = 1000
DEFAULT_MAX_FINDINGS_PER_RULE = 200
HARD_GRACE_SECONDS = 15.0
"""How long past the soft time budget the parent waits before it kills the worker."""


@dataclass(frozen=True)
class FileBudget:
    seconds: float = DEFAULT_FILE_SECONDS
    """Soft wall-clock budget for all scanners on one file; 0 disables it."""
    memory: int = DEFAULT_FILE_MEMORY
    """Extra address space one file may take, in bytes; 0 disables it."""
    max_findings_per_file: int = DEFAULT_MAX_FINDINGS_PER_FILE
    max_findings_per_rule: int = DEFAULT_MAX_FINDINGS_PER_RULE
    """Per rule within one file: a generated file with 194,000 copies of one problem is one problem."""

    @property
    def hard_seconds(self) -> float:
        """When the supervisor gives up on a worker that is stuck in C code."""
        return self.seconds + max(HARD_GRACE_SECONDS, self.seconds / 2) if self.seconds else 0.0


class BudgetExceeded(BaseException):
    """Raised inside a scan when the file's time budget runs out. A BaseException, so
    a scanner's `except Exception` cannot swallow it and carry on."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise BudgetExceeded()


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 4096


_PAGE = _page_size()


_statm: tuple[int, int] | None = None
"""(pid, fd) of this process's /proc/self/statm, kept open: a pread is a tenth of an open."""


def _address_space_in_use() -> int | None:
    """Virtual size of this process (Linux), or None where it cannot be read cheaply."""
    global _statm
    try:
        if _statm is None or _statm[0] != os.getpid():  # a forked worker opens its own
            _statm = (os.getpid(), os.open("/proc/self/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)))
        return int(os.pread(_statm[1], 64, 0).split()[0]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class file_budget:
    """Apply the soft time and memory limits to the body; always restores them.

    A plain class rather than a generator-based context manager: it runs once per file,
    and the generator machinery cost more than the limits themselves."""

    __slots__ = ("budget", "memory_limit", "timer")

    def __init__(self, budget: FileBudget) -> None:
        self.budget = budget
        self.timer = False
        self.memory_limit: tuple[int, int] | None = None

    def __enter__(self) -> None:
        budget = self.budget
        self.memory_limit = _lower_memory_limit(budget.memory) if budget.memory else None
        self.timer = bool(budget.seconds) and _CAN_TIME and threading.current_thread() is threading.main_thread()
        if self.timer:
            # Installed once and left in place (it only fires while a file's timer is armed):
            # setting a handler per file cost more than the rest of the bookkeeping.
            if signal.getsignal(signal.SIGALRM) is not _on_alarm:
                signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, budget.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if self.memory_limit is not None:
            _restore_memory_limit(self.memory_limit)


_CAN_TIME = hasattr(signal, "setitimer")


def _lower_memory_limit(extra: int) -> tuple[int, int] | None:
    if resource is None:
        return None
    in_use = _address_space_in_use()
    if in_use is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = in_use + extra
    if hard != resource.RLIM_INFINITY and wanted > hard:
        wanted = hard
    if soft != resource.RLIM_INFINITY and soft <= wanted:
        return None  # already tighter (a test's or the user's own limit): leave it alone
    try:
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except (ValueError, OSError):
        return None
    return soft, hard


def _restore_memory_limit(previous: tuple[int, int]) -> None:
    assert resource is not None
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, previous)


def describe_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


def describe_bytes(n: int) -> str:
    from aisec_ci.workspace.reading import format_size

    return format_size(n)
