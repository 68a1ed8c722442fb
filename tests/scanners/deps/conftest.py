"""Fixtures for the deps scanner tests: a local OSV API (and safety's auth endpoints) on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from deps_support import OSV_DATA, FakeOsv  # noqa: E402


@pytest.fixture(scope="module")
def osv_server() -> Iterator[FakeOsv]:
    if not OSV_DATA.is_dir():
        pytest.skip("shared advisory data (../shared/data/advisories/osv-pypi) is absent")
    server = FakeOsv(OSV_DATA)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def osv(osv_server: FakeOsv) -> FakeOsv:
    osv_server.reset()
    return osv_server
