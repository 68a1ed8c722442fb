"""Auditing the Python packages installed in an image with the deps scanner's engine: the same
sources (OSV API, offline database, pip-audit, safety, the embedded snapshot) and the same
findings as a pinned requirement, located at the distribution's METADATA file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.scanners.deps import incomplete, vulnerable
from aisec_ci.scanners.deps.audit import build_services, run_audit
from aisec_ci.scanners.deps.model import Dependency, redacted_finding
from aisec_ci.scanners.deps.services.interface import PackageVersion


def audit_python(
    deps: Sequence[Dependency], options: Mapping[str, Any], env: Mapping[str, str], offline: bool, root: Path
) -> tuple[list[Finding], list[str]]:
    pinned = [d for d in deps if d.auditable]
    if not pinned:
        return [], []
    services, notes = build_services(options, env, offline, root)
    packages = sorted({PackageVersion(d.canonical, d.version or "") for d in pinned})
    result = run_audit(packages, services, use_snapshot=bool(options.get("snapshot_fallback", True)))
    notes = [*notes, *result.notes]
    findings: list[Finding] = []
    unaudited: dict[str, list[Dependency]] = {}
    snapshot: dict[str, list[Dependency]] = {}
    for dep in pinned:
        pv = PackageVersion(dep.canonical, dep.version or "")
        directory = _site_dir(dep.path)
        if pv in result.unaudited:
            # Hundreds of packages of one environment fail together (no network, no database):
            # one finding per site-packages directory, naming them.
            unaudited.setdefault(directory, []).append(dep)
            continue
        findings.extend(vulnerable.findings(dep, result.advisories.get(pv, []), result.snapshot_date))
        if pv in result.snapshot_only:
            snapshot.setdefault(directory, []).append(dep)
    for directory, items in sorted(unaudited.items()):
        reasons = [result.unaudited[PackageVersion(d.canonical, d.version or "")] for d in items]
        findings.extend(incomplete.unaudited_lock(directory, items, reasons))
    for directory, items in sorted(snapshot.items()):
        why = [result.fallback_reasons.get(PackageVersion(d.canonical, d.version or ""), "") for d in items]
        findings.extend(incomplete.snapshot_only(directory, items, result.snapshot_date, why))
    return [redacted_finding(f) for f in findings], notes


def _site_dir(path: str) -> str:
    """The directory holding the distribution's metadata directory (its site-packages)."""
    parent = path.rpartition("/")[0]
    return parent.rpartition("/")[0] if parent.endswith((".dist-info", ".egg-info")) else parent
