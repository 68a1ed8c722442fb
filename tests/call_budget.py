"""Operation counts instead of wall-clock limits: count the calls a piece of work makes.

A count is the same on a loaded CI runner as on a quiet laptop, and the budget is
enforced on every call, so a regression to exponential work fails at once instead
of hanging the suite."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

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
