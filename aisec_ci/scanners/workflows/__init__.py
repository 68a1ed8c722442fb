"""The `workflows` scanner: GitHub Actions workflow and action metadata rules (`workflows/...`)."""

from __future__ import annotations

from aisec_ci.scanners.workflows.scanner import WorkflowsScanner

SCANNER = WorkflowsScanner

__all__ = ["SCANNER", "WorkflowsScanner"]
