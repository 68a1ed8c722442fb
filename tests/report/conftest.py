"""Fixtures for the report tests; the builders live in report_builders.py."""

from __future__ import annotations

from typing import Any

import pytest

from aisec_ci.result import ScanResult
from aisec_ci.rules import RuleCatalog
from tests.report.report_builders import fixture_result, load_sarif_validator, make_catalog


@pytest.fixture
def catalog() -> RuleCatalog:
    return make_catalog()


@pytest.fixture
def result() -> ScanResult:
    return fixture_result()


@pytest.fixture(scope="session")
def sarif_validator() -> Any:
    return load_sarif_validator()
