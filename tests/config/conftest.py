"""Fixtures for config tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aisec_ci.config.loader import Config, load_config
from tests.config.config_fakes import SCANNERS, make_catalog


@pytest.fixture
def load(tmp_path: Path) -> Callable[[str], Config]:
    """Write `.aisec.yml` with the given text into a fresh root and load it."""

    def _load(text: str) -> Config:
        (tmp_path / ".aisec.yml").write_text(text, encoding="utf-8")
        return load_config(None, root=tmp_path, scanners=SCANNERS, catalog=make_catalog())

    return _load
