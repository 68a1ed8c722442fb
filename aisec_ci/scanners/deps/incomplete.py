"""deps/audit-incomplete and deps/stale-advisory-data: what the audit could not vouch for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.deps.model import Dependency, Problem
from aisec_ci.scanners.deps.versions import ecosystem_family
from aisec_ci.severity import Severity

AUDIT_INCOMPLETE = Rule(
    id="deps/audit-incomplete",
    name="Dependency could not be audited",
    short_description="No vulnerability source could check this dependency; it is not known to be safe.",
    severity=Severity.MEDIUM,
    what="Reports a pinned dependency that no configured source (OSV API, offline database, pip-audit, "
    "safety, embedded snapshot) could check, with each source's reason (pip-audit, safety and the snapshot "
    "know PyPI alone, and an offline database answers only for the ecosystems it holds); a manifest line "
    "or include that could not be read (`-r` outside the repository, an include loop, an invalid requirement); with "
    "`check_pypi: true`, a pin PyPI does not list (advisory sources call an unknown package clean); and, "
    "at low severity, the conda packages of an environment file, which PyPI advisory data does not cover.",
    why="An audit tool that cannot reach its database and then reports 'no known vulnerabilities' "
    "fails open: the gate passes while nothing was checked. This finding keeps the gap visible.",
    example="-r ../../shared/requirements.txt\nintel-openmp==2024.0.2  # when the OSV API is unreachable",
    fix="Restore the source (network access, `aisec-ci db update` for the offline database), fix the "
    "manifest line, or move conda-only packages to pinned pip requirements where possible.",
    tags=("reliability", "supply-chain"),
    precision="very-high",
)

STALE_ADVISORY_DATA = Rule(
    id="deps/stale-advisory-data",
    name="Dependencies checked only against the embedded snapshot",
    short_description="No live source answered; these pins were checked against the snapshot shipped with aisec-ci.",
    severity=Severity.INFO,
    what="Reports, once per manifest, the pinned packages whose only audit was the advisory snapshot "
    "embedded in aisec-ci, with the snapshot's date.",
    why="The snapshot knows nothing published after its date, so a clean result from it is not a clean "
    "bill of health; reviewers need to see which packages got the weaker check.",
    fix="Let the scan reach the OSV API, or configure an offline database and refresh it with "
    "`aisec-ci db update` (cache it between CI runs).",
    tags=("reliability",),
    precision="very-high",
)


def unaudited(dep: Dependency, reason: str) -> Iterator[Finding]:
    yield Finding(
        rule_id=AUDIT_INCOMPLETE.id,
        severity=AUDIT_INCOMPLETE.severity,
        message=f"{dep.name} {dep.version} was not audited: {reason}",
        path=dep.path,
        start_line=dep.line,
        snippet=dep.snippet,
        key=f"unaudited:{dep.canonical}=={dep.version}",
        properties={
            "package": dep.canonical,
            "version": dep.version,
            "reason": reason,
            "manifest": dep.origin,
            "ecosystem": dep.ecosystem,
        },
    )


def unaudited_lock(path: str, deps: Sequence[Dependency], reasons: Sequence[str]) -> Iterator[Finding]:
    """The packages of one Go, npm or Cargo lock file (or an image's OS package database) that no
    source could audit, as one finding."""
    ecosystem = deps[0].ecosystem
    names = sorted({f"{d.canonical}@{d.version}" for d in deps})
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    why = sorted(set(reasons))
    first = min(deps, key=lambda d: d.line)
    message = (
        f"{len(names)} {ecosystem} package(s) were not audited ({why[0]}"
        + (f"; and {len(why) - 1} other reason(s)" if len(why) > 1 else "")
        + f"): {shown}."
    )
    if "--ecosystem" not in message:
        # The first reason may be about another ecosystem's database (PyPI's): name this one's fix
        # (one archive holds every release of a distribution: `Debian`, not `Debian:12`).
        message += (
            f" To audit them offline, run `aisec-ci db update --ecosystem {ecosystem_family(ecosystem)}`; "
            "a scan that can reach the OSV API audits them."
        )
    yield Finding(
        rule_id=AUDIT_INCOMPLETE.id,
        severity=AUDIT_INCOMPLETE.severity,
        message=message,
        path=path,
        start_line=first.line,
        snippet=first.snippet,
        key=f"unaudited-lock:{ecosystem}",
        properties={"packages": names, "ecosystem": ecosystem, "reasons": why, "manifest": first.origin},
    )


def problem(item: Problem) -> Iterator[Finding]:
    yield Finding(
        rule_id=AUDIT_INCOMPLETE.id,
        severity=AUDIT_INCOMPLETE.severity,
        message=f"Not audited: {item.message}.",
        path=item.path,
        start_line=item.line,
        snippet=item.snippet,
        key=f"problem:{item.message}",
        properties={"reason": item.message},
    )


def conda_packages(path: str, deps: Sequence[Dependency]) -> Iterator[Finding]:
    names = sorted({d.name for d in deps})
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    yield Finding(
        rule_id=AUDIT_INCOMPLETE.id,
        severity=Severity.LOW,
        message=f"{len(names)} conda package(s) are not covered by PyPI advisory data and were not audited: {shown}.",
        path=path,
        start_line=min(d.line for d in deps),
        snippet=deps[0].snippet,
        key="conda-packages",
        properties={"packages": names, "reason": "conda packages are outside the PyPI ecosystem"},
    )


def snapshot_only(path: str, deps: Sequence[Dependency], date: str, reasons: Sequence[str] = ()) -> Iterator[Finding]:
    names = sorted({f"{d.canonical}=={d.version}" for d in deps})
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    why = sorted({r for r in reasons if r})
    because = f" ({why[0]})" if len(why) == 1 else ""
    yield Finding(
        rule_id=STALE_ADVISORY_DATA.id,
        severity=STALE_ADVISORY_DATA.severity,
        message=f"{len(names)} package(s) were checked only against the embedded advisory snapshot of {date}, "
        f"because no configured source answered{because}: {shown}.",
        path=path,
        start_line=min(d.line for d in deps),
        snippet=deps[0].snippet,
        key="snapshot-only",
        properties={"packages": names, "snapshot_date": date, "reasons": why},
    )


def not_on_index(dep: Dependency, reason: str) -> Iterator[Finding]:
    yield Finding(
        rule_id=AUDIT_INCOMPLETE.id,
        severity=AUDIT_INCOMPLETE.severity,
        message=f"{dep.name} {dep.version} is not a release on PyPI, so no advisory source can vouch for it "
        "(a typo, a made-up version, or a private name a public upload could shadow).",
        path=dep.path,
        start_line=dep.line,
        snippet=dep.snippet,
        key=f"not-on-index:{dep.canonical}=={dep.version}",
        properties={"package": dep.canonical, "version": dep.version, "reason": reason, "manifest": dep.origin},
    )
