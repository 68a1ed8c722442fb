"""Vulnerability sources, each behind the `VulnerabilityService` seam (see interface.py)."""
