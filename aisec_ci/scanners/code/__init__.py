"""The `code` scanner: AI code in Python files and notebook cells (`code/...` rules)."""

from __future__ import annotations

from aisec_ci.scanners.code.scanner import CodeScanner

SCANNER = CodeScanner

__all__ = ["SCANNER", "CodeScanner"]
