"""Dependency audit: known-vulnerable and malicious Python packages in every manifest and lock file,
found without installing or running anything (OSV API, offline OSV database, pip-audit, safety and an
embedded advisory snapshot as the last resort)."""

from aisec_ci.scanners.deps.scanner import DepsScanner

SCANNER = DepsScanner

__all__ = ["SCANNER", "DepsScanner"]
