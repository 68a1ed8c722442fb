"""Fixtures for the deps scanner tests: a local OSV API (and safety's auth endpoints) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scanners.deps.deps_support import LOCK_ADVISORIES, OSV_DATA, FakeOsv


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The OSV detail cache defaults to the user's cache directory; tests must not touch the real one."""
    home = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("AISEC_CACHE_DIR", raising=False)
    return home


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


@pytest.fixture(scope="module")
def lock_osv_server() -> Iterator[FakeOsv]:
    """The OSV API with the PyPI data and the Go/npm/crates.io advisories of the lock-file tests."""
    dirs = [LOCK_ADVISORIES] + ([OSV_DATA] if OSV_DATA.is_dir() else [])
    server = FakeOsv(*dirs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lock_osv(lock_osv_server: FakeOsv) -> FakeOsv:
    lock_osv_server.reset()
    return lock_osv_server
