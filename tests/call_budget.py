"""Operation counts instead of wall-clock limits: count the calls a piece of work makes.

A count is the same on a loaded CI runner as on a quiet laptop, and the budget is
enforced on every call, so a regression to exponential work fails at once instead
of hanging the suite."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

import pytest


class CallBudget:
    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.calls = 0

    def wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.limit is not None and self.calls > self.limit:
                raise AssertionError(f"{func.__qualname__} called more than {self.limit} times")
            return func(*args, **kwargs)

        return counted


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, limit: int | None = None) -> CallBudget:
    """Replace `owner.name` (a module function or a method) by a counting wrapper for this test."""
    budget = CallBudget(limit)
    monkeypatch.setattr(owner, name, budget.wrap(getattr(owner, name)))
    return budget


T = TypeVar("T")


def count_work(func: Callable[[], T]) -> tuple[T, int]:
    """Run `func` and count the interpreter work it does in this thread: Python lines
    executed plus calls of Python and builtin functions.

    The count is deterministic: a loop that turns quadratic in Python shows up as a
    quadratic count, whatever the load on the machine, even a loop that calls nothing.
    It does not see work inside a single C call (one regex search, one slice copy,
    one str.count)."""
    events = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal events
        if event == "c_call":
            events += 1

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal events
        events += 1  # "call" for each Python frame entered, then "line" for each line run in it
        return trace

    previous = sys.getprofile(), sys.gettrace()
    sys.setprofile(profile)
    sys.settrace(trace)
    try:
        result = func()
    finally:
        sys.settrace(previous[1])
        sys.setprofile(previous[0])
    return result, events


def assert_linear(run: Callable[[int], object], size: int, *, factor: int = 4, slack: float = 1.25) -> tuple[int, int]:
    """Assert that the work of `run(n)` grows at most linearly with n.

    `run(size)` is called once unmeasured (imports, compiled patterns and other caches
    are set up then), then measured at `size` and at `factor * size`. Linear work makes
    the second count about `factor` times the first; quadratic work makes it `factor**2`
    times, which `slack` (for caches and n log n sorting) does not excuse."""
    run(size)
    # The warm-up filled the regex cache with any patterns built from the input itself;
    # each measured run starts from an empty one, so both pay for their own patterns.
    re.purge()
    _, small = count_work(lambda: run(size))
    re.purge()
    _, large = count_work(lambda: run(factor * size))
    assert small > 0
    assert large <= small * factor * slack, (
        f"work grew {large / small:.1f}x for {factor}x the input ({small} -> {large} steps): not linear"
    )
    return small, large


def bytes_read(func: Callable[[], T]) -> tuple[T, int]:
    """Run `func` and return the bytes this process read through read() system calls meanwhile.

    From /proc/self/io (`rchar`), so it counts reads made in C as well (a file copied or
    scanned whole), not pages mapped. Linux only; the caller skips elsewhere."""

    def rchar() -> int:
        with open("/proc/self/io", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
        raise AssertionError("no rchar in /proc/self/io")

    before = rchar()
    result = func()
    return result, rchar() - before


def can_count_bytes_read() -> bool:
    return os.path.exists("/proc/self/io")
