"""image/vulnerable-os-package: advisories that affect the OS packages an image installed.

Debian, Ubuntu and Alpine publish their advisories (DSA/DLA, USN and Ubuntu's
per-CVE records, Alpine's secdb) for source packages, per release. So every
installed binary package is audited as its source at the source's version, in
the ecosystem of the image's release (`Debian:12`), through the same sources as
the deps scanner (OSV API, offline database). One finding per source package
and advisory: glibc's advisory is one thing to fix however many binaries
(libc6, libc-bin ...) it built.

Distribution records often carry no CVSS vector; their severity is the CVSS
score when there is one, else the record's named severity, else the
distribution's own rating (Ubuntu's priority, Debian's urgency), else medium.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.image.ospackages import Distro, OsPackage
from aisec_ci.rules import Rule
from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.audit import build_services, run_audit
from aisec_ci.scanners.deps.incomplete import AUDIT_INCOMPLETE, unaudited_lock
from aisec_ci.scanners.deps.matching import smallest_fix_above
from aisec_ci.scanners.deps.model import Dependency, PinKind, redacted_finding
from aisec_ci.scanners.deps.services.interface import PackageVersion
from aisec_ci.scanners.deps.severity import advisory_severity
from aisec_ci.scanners.deps.versions import version_parser
from aisec_ci.severity import Severity

VULNERABLE_OS_PACKAGE = Rule(
    id="image/vulnerable-os-package",
    name="OS package with a known vulnerability",
    short_description="A package the image's distribution installed (dpkg or apk) has a published security "
    "advisory for its release.",
    severity=Severity.HIGH,
    what="Reads the image's distribution and release from os-release and its installed packages from the "
    "dpkg status database (including distroless images' status.d) or apk's installed database, and audits "
    "each package's source package at its version against the advisories for that release (Debian DSA/DLA "
    "and per-CVE records, Ubuntu USN and per-CVE records, Alpine's secdb), comparing versions by dpkg's or "
    "apk's rules. Reports one finding per source package and advisory, at the stanza of the first binary "
    "package built from that source, naming every affected binary package and the version that fixes it. "
    "Severity is the advisory's CVSS score, else its named severity, else the distribution's own rating "
    "(Ubuntu priority, Debian urgency; `unimportant` and `negligible` count as low), else medium; a "
    "disputed or withdrawn advisory counts as low.",
    why="Base images age: the glibc, OpenSSL or zlib they shipped get advisories with public exploits "
    "(CVE-2023-4911 'Looney Tunables' gives local root through the dynamic loader), and every image "
    "built on them inherits the flaw until it is rebuilt on a patched base.",
    example="# var/lib/dpkg/status of an image built FROM debian:12.1\nPackage: libc6\n"
    "Status: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u1",
    fix="Rebuild the image on a current tag of its base image, or upgrade the package in the "
    "Dockerfile (`apt-get upgrade`, `apk upgrade`) to the fixed version the finding names. If the "
    "distribution ships no fix yet, ignore that advisory with a reason and an `until` date.",
    tags=("CWE-1395", "supply-chain", "container"),
    precision="high",
    references=(
        "https://osv.dev/",
        "https://security-tracker.debian.org/tracker/",
        "https://ubuntu.com/security/cves",
        "https://security.alpinelinux.org/",
    ),
)

# Debian's urgency and Ubuntu's priority words (and a record's named severity); Debian marks a
# rating it has not confirmed with a trailing `*`.
_DISTRO_RATINGS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.LOW,
    "unimportant": Severity.LOW,
}
_DEFAULT = Severity.MEDIUM
"""Without any rating: the advisory is real (the distribution shipped a fix) but unscored."""


def os_advisory_severity(adv: Advisory) -> tuple[Severity, float | None]:
    """(severity, CVSS score): CVSS, else the record's named severity, else the distribution's
    rating, else medium. Disputed or withdrawn advisories count as low."""
    severity, score = advisory_severity(adv, Severity.INFO)  # INFO marks "neither CVSS nor named"
    if score is None and severity is Severity.INFO:
        severity = _DISTRO_RATINGS.get(adv.distro_severity.strip().rstrip("*").strip().lower(), _DEFAULT)
    if adv.disputed or adv.withdrawn:
        severity = min(severity, Severity.LOW)
    return severity, score


def audit_os_packages(
    packages: Sequence[OsPackage],
    distro: Distro | None,
    options: Mapping[str, Any],
    env: Mapping[str, str],
    offline: bool,
    root: Path,
) -> tuple[list[Finding], list[str]]:
    """Findings for the image's OS packages (vulnerabilities, and the packages no source could
    audit), and notes for the report. `options` are the deps scanner's options."""
    if not packages:
        return [], []
    if distro is None:
        why = "no os-release file names the distribution, so no advisory data applies"
        return _not_audited(packages, why), [f"image: OS packages not audited: {why} ({_counted(packages)})"]
    if distro.ecosystem is None:
        why = (
            f"OSV has no advisories for {distro.pretty} (Debian and Ubuntu releases and Alpine branches are supported)"
        )
        return _not_audited(packages, why), [f"image: OS packages not audited: {why} ({_counted(packages)})"]
    ecosystem = distro.ecosystem
    # Binary packages by the source package (and version) advisories name, in database order.
    groups: dict[tuple[str, str], list[OsPackage]] = {}
    for pkg in packages:
        groups.setdefault((pkg.source, pkg.source_version), []).append(pkg)
    wanted = [PackageVersion(source, version, ecosystem) for source, version in groups]

    services, notes = build_services(options, env, offline, root)
    # The embedded snapshot holds PyPI advisories alone.
    result = run_audit(wanted, services, use_snapshot=False)
    notes = [*notes, *result.notes]

    parse = version_parser(ecosystem)
    findings: list[Finding] = []
    unaudited: dict[str, list[tuple[OsPackage, str, str]]] = {}
    for (source, version), binaries in groups.items():
        pv = PackageVersion(source, version, ecosystem)
        first = binaries[0]
        reason = result.unaudited.get(pv)
        if reason is None and parse(version) is None and "osv-api" not in result.audited_by.get(pv, ()):
            # A local database compares versions here; one it cannot order matches no range, which
            # would read as clean. (The OSV API orders them itself.)
            reason = f"{ecosystem} version {version} cannot be ordered by {_rules(first.kind)} rules"
        if reason is not None:
            unaudited.setdefault(first.path, []).append((first, version, reason))
            continue
        for adv in result.advisories.get(pv, ()):
            findings.append(_finding(first, binaries, version, adv, ecosystem))
    for path, items in sorted(unaudited.items()):
        deps = [
            Dependency(
                name=pkg.source,
                path=path,
                line=pkg.line,
                kind=PinKind.PINNED,
                version=version,
                origin=_origin(pkg.kind),
                snippet=_snippet(pkg),
                ecosystem=ecosystem,
            )
            for pkg, version, _reason in items
        ]
        findings.extend(unaudited_lock(path, deps, [reason for _pkg, _version, reason in items]))
    return [redacted_finding(f) for f in findings], notes


def _finding(first: OsPackage, binaries: Sequence[OsPackage], version: str, adv: Advisory, ecosystem: str) -> Finding:
    names = list(dict.fromkeys(b.name for b in binaries))
    severity, score = os_advisory_severity(adv)
    fix = smallest_fix_above(adv.fixed, version, ecosystem)
    cves = [a for a in adv.aliases if a.startswith("CVE-")] or list(adv.aliases)
    shown = f" ({', '.join(cves)})" if cves else ""
    built = "" if names == [first.source] else f" ({', '.join(names)})"
    summary = adv.summary.rstrip(".")
    message = (
        f"{first.source} {version}{built} is affected by {adv.id}{shown}"
        + (f": {summary}" if summary else "")
        + (f"; fixed in {fix}." if fix else "; no fixed version is known.")
    )
    props: dict[str, Any] = {
        "package": first.source,
        "version": version,
        "binaries": names,
        "ecosystem": ecosystem,
        "advisory_id": adv.id,
        "aliases": list(adv.aliases),
        "advisory_ids": [adv.id, *adv.aliases],
        "summary": adv.summary,
        "fixed": fix,
        "fixed_versions": list(adv.fixed),
        "severity_source": _severity_source(adv, score),
        "sources": list(adv.sources),
        "database": first.path,
    }
    if score is not None:
        props["cvss_score"] = score
    if adv.distro_severity:
        props["distro_severity"] = adv.distro_severity
    if adv.id:
        # osv.dev serves the distributions' ids (DSA-, USN-, ALPINE-CVE-...) as well.
        props["url"] = f"https://osv.dev/vulnerability/{adv.id}"
    return Finding(
        rule_id=VULNERABLE_OS_PACKAGE.id,
        severity=severity,
        message=message,
        path=first.path,
        start_line=first.line,
        snippet=_snippet(first),
        key=f"{first.source}=={version}:{adv.id}",
        properties=props,
    )


def _severity_source(adv: Advisory, score: float | None) -> str:
    if score is not None:
        return "cvss"
    if adv.database_severity:
        return "database"
    return "distribution" if adv.distro_severity else "default"


def _snippet(pkg: OsPackage) -> str:
    return f"Package: {pkg.name}" if pkg.kind == "deb" else f"P:{pkg.name}"


def _origin(kind: str) -> str:
    return "dpkg-status" if kind == "deb" else "apk-installed"


def _rules(kind: str) -> str:
    return "dpkg" if kind == "deb" else "apk"


def _counted(packages: Sequence[OsPackage]) -> str:
    paths = sorted({p.path for p in packages})
    return f"{len(packages)} package(s) in {', '.join(paths)}"


def _not_audited(packages: Sequence[OsPackage], why: str) -> list[Finding]:
    """One finding per package database: an image whose packages nobody could check must not pass
    the way a checked, clean one does."""
    by_path: dict[str, list[OsPackage]] = {}
    for pkg in packages:
        by_path.setdefault(pkg.path, []).append(pkg)
    out = []
    for path, items in sorted(by_path.items()):
        first = min(items, key=lambda p: p.line)
        out.append(
            Finding(
                rule_id=AUDIT_INCOMPLETE.id,
                severity=AUDIT_INCOMPLETE.severity,
                message=f"{len(items)} OS package(s) were not audited: {why}.",
                path=path,
                start_line=first.line,
                snippet=f"Package: {first.name}",
                key=f"unaudited-os:{path}",
                properties={"packages": sorted({f"{p.name}={p.version}" for p in items}), "reason": why},
            )
        )
    return out
