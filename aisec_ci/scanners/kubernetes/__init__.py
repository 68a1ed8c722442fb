"""Kubernetes scanner package (see `scanner.py`)."""

from aisec_ci.scanners.kubernetes.scanner import KubernetesScanner

SCANNER = KubernetesScanner

__all__ = ["SCANNER", "KubernetesScanner"]
