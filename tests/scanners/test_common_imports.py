"""kubernetes and cloud share `scanners.common`, not each other's packages."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(("package", "other"), [("cloud", "kubernetes"), ("kubernetes", "cloud")])
def test_scanner_imports_without_the_other(package: str, other: str) -> None:
    code = (
        f"import sys, aisec_ci.scanners.{package}\n"
        f"print(sorted(m for m in sys.modules if m.startswith('aisec_ci.scanners.{other}')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
