"""deps/vulnerable-package and deps/malicious-package: advisories that match a pinned dependency."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.matching import smallest_fix_above
from aisec_ci.scanners.deps.model import Dependency
from aisec_ci.scanners.deps.package_advisories import DOUBT_TEXT, MALICIOUS_RULE_ID, summarise
from aisec_ci.scanners.deps.severity import advisory_severity
from aisec_ci.severity import Severity

VULNERABLE_PACKAGE = Rule(
    id="deps/vulnerable-package",
    name="Dependency with a known vulnerability",
    short_description="A pinned dependency (Python, Go, npm or Cargo) has a published security advisory.",
    severity=Severity.HIGH,
    what="Reports a pinned package version that advisories (PYSEC, GO, RUSTSEC, GHSA, CVE ...) affect, once, "
    "at the line of the manifest or lock file that pins it, listing every advisory in the `advisories` "
    "property; the `ecosystem` property (and, outside PyPI, the message) names the package's ecosystem. "
    "Python manifests and locks, go.mod (go.sum for modules an old go.mod leaves out), package-lock.json, "
    "npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml and Cargo.lock are read; versions are compared by the "
    "ecosystem's own rules (PEP 440, or SemVer with Go pseudo-versions). Each "
    "advisory's severity is the CVSS base score computed from its vector, else the database's named "
    "severity, else high; the finding takes the highest. The message names the advisories and the lowest "
    "version that fixes all of them, and says which have no fix. Advisories reported by several sources "
    "under different ids count once and list every source. Low-confidence advisories say so in the "
    "message and in their `confidence` and `low_confidence` properties: one with no fixed version is "
    "never raised above high by its score alone; one that is disputed (`** DISPUTED **` CVE), withdrawn, "
    "or that has no fix and lists affected versions that all predate the pinned one counts as low. A "
    "config ignore naming one advisory (`ignores: - advisory: CVE-...`) removes that advisory from the "
    "finding (listed under `suppressed_advisories` with its reason); the finding is suppressed when all "
    "of its advisories are.",
    why="A known vulnerability has a public description, often a public exploit, and scanners that look "
    "for it. ML stacks pull in large, fast-moving packages (model servers, tokenizers, notebook servers, "
    "experiment trackers) whose advisories include remote code execution and path traversal.",
    example="torch==1.13.0\npyyaml==5.3\nmlflow==2.9.1\n"
    "# go.mod\nrequire golang.org/x/net v0.0.0-20220225172249-27dd8689420f",
    fix="Upgrade to the version the finding names as fixing all of its advisories (or later) and re-lock. "
    "If an advisory has no fix, remove the dependency or isolate the feature, and ignore that advisory "
    "with a reason and an `until` date.",
    tags=("CWE-1395", "supply-chain"),
    precision="high",
    references=("https://osv.dev/", "https://github.com/pypa/advisory-database"),
)

MALICIOUS_PACKAGE = Rule(
    id=MALICIOUS_RULE_ID,
    name="Known malicious package",
    short_description="A dependency matches an OSV malicious-package (MAL-) advisory.",
    severity=Severity.CRITICAL,
    what="Reports a dependency whose name and version match an OSV `MAL-` advisory: a package published "
    "to steal credentials or run code on install (typosquats, dependency confusion, hijacked releases).",
    why="Installing it is already the compromise: its install hooks or import-time code run on developer "
    "laptops and CI runners, where cloud keys, model-hub tokens and signing secrets live.",
    example="reqeusts==2.28.1",
    fix="Remove the package, rotate every credential the affected machines could reach, and check "
    "how it got in (typo, a compromised upstream, an index with higher priority).",
    tags=("CWE-506", "CWE-829", "supply-chain"),
    precision="very-high",
    references=("https://github.com/ossf/malicious-packages",),
)


# The most severe finding each doubt allows, strongest doubt first. An advisory whose premise is
# contested (disputed, withdrawn) or that only an open-ended range applies to should not fail a
# gate on its own; one with no known fix is real but imprecise, so its score alone does not make it
# critical.
_DOUBT_CAP = {
    "withdrawn": Severity.LOW,
    "disputed": Severity.LOW,
    "unlisted-version": Severity.LOW,
    "no-fix": Severity.HIGH,
}


def low_confidence(adv: Advisory) -> list[tuple[str, str]]:
    """(code, explanation) for each reason to doubt an advisory, the one that caps severity most first."""
    codes: list[str] = []
    if adv.withdrawn:
        codes.append("withdrawn")
    if adv.disputed:
        codes.append("disputed")
    if adv.unlisted:
        codes.append("unlisted-version")
    if not adv.fixed:
        codes.append("no-fix")
    return [(code, DOUBT_TEXT[code]) for code in codes]


def advisory_entry(adv: Advisory, version: str, ecosystem: str = "PyPI") -> dict[str, Any]:
    """One advisory as the finding lists it (plain JSON), with the severity it warrants on its own."""
    if adv.malicious:
        severity, score = Severity.CRITICAL, None
    else:
        severity, score = advisory_severity(adv, VULNERABLE_PACKAGE.severity)
    doubts = [] if adv.malicious else low_confidence(adv)
    if doubts:
        severity = min(severity, _DOUBT_CAP[doubts[0][0]])
    entry: dict[str, Any] = {
        "id": adv.id,
        "aliases": list(adv.aliases),
        "severity": severity.label,
        "summary": adv.summary,
        "fixed_versions": list(adv.fixed),
        "fix_version": smallest_fix_above(adv.fixed, version, ecosystem),
        "sources": list(adv.sources),
    }
    if score is not None:
        entry["cvss_score"] = score
    if adv.cvss:
        entry["cvss_vectors"] = list(adv.cvss)
    if doubts:
        entry["confidence"] = "low"
        entry["low_confidence"] = [code for code, _ in doubts]
    url = advisory_url(adv.id)
    if url:
        entry["url"] = url
    return entry


def advisory_url(advisory_id: str) -> str:
    """Where to read an advisory: osv.dev serves the ids of the databases it imports; others have no known page."""
    if advisory_id.startswith(_OSV_PREFIXES):
        return f"https://osv.dev/vulnerability/{advisory_id}"
    return ""


_OSV_PREFIXES = ("PYSEC-", "GHSA-", "MAL-", "OSV-", "CVE-", "GO-", "RUSTSEC-")


def findings(dep: Dependency, advisories: list[Advisory], snapshot_date: str = "") -> Iterator[Finding]:
    """One finding per rule for the pinned package version: every advisory that affects it, listed
    in its `advisories` property (malicious-package advisories apart from vulnerabilities)."""
    assert dep.version is not None
    base: dict[str, Any] = {
        "name": dep.name,
        "package": dep.canonical,
        "version": dep.version,
        "manifest": dep.origin,
        "ecosystem": dep.ecosystem,
    }
    if dep.group:
        base["group"] = dep.group
    if dep.marker:
        base["marker"] = dep.marker
    if "cell" in dep.extra:
        base["cell"] = int(dep.extra["cell"])
    for rule in (MALICIOUS_PACKAGE, VULNERABLE_PACKAGE):
        mine = [adv for adv in advisories if adv.malicious == (rule is MALICIOUS_PACKAGE)]
        if not mine:
            continue
        props = dict(base)
        if snapshot_date and any("snapshot" in adv.sources for adv in mine):
            props["snapshot_date"] = snapshot_date
        severity, message, props = summarise(
            props, [advisory_entry(adv, dep.version, dep.ecosystem) for adv in mine], rule is MALICIOUS_PACKAGE
        )
        yield Finding(
            rule_id=rule.id,
            severity=severity,
            message=message,
            path=dep.path,
            start_line=dep.line,
            snippet=dep.snippet,
            # One finding per package version (issue #12); before, one per advisory (`...:{id}`).
            key=f"{dep.canonical}=={dep.version}",
            properties=props,
        )
