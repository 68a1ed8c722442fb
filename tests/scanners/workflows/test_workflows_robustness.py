"""Odd but parseable shapes never crash a check: every value of a few realistic workflows is replaced,
one at a time, by a scalar, a list, a mapping and null, and the scanner must still finish."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisec_ci.scanners.base import SkipFile
from tests.scanners.workflows.workflows_testlib import FIXTURES, scan_path

_REPLACEMENTS: tuple[Any, ...] = ("${{ github.event.issue.title }}", ["x", {"y": 1}], {"k": ["v"]}, None, 3)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield (*prefix, i)
            yield from _paths(child, (*prefix, i))


def _replace(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return out


@pytest.mark.parametrize(
    "name",
    [
        "cases/template-injection-bad.yml",
        "cases/untrusted-checkout-bad.yml",
        "cases/credentials-bad.yml",
        "cases/extra-bad.yml",
        "cases/composite/action.yml",
    ],
)
def test_every_value_replaced_by_every_shape(name: str, tmp_path: Path) -> None:
    original = yaml.safe_load((FIXTURES / name).read_text())
    target = tmp_path / Path(name).name
    runs = 0
    for path in _paths(original):
        for new in _REPLACEMENTS:
            target.write_text(yaml.safe_dump(_replace(original, path, new), sort_keys=False))
            try:
                scan_path(target)
            except SkipFile as exc:  # a top-level that is not a mapping is the only expected refusal
                assert path == () or "top level" in exc.reason, (path, new, exc.reason)
            runs += 1
    assert runs > 100
