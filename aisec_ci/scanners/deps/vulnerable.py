"""deps/vulnerable-package and deps/malicious-package: advisories that match a pinned dependency."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.matching import smallest_fix_above
from aisec_ci.scanners.deps.model import Dependency
from aisec_ci.scanners.deps.severity import advisory_severity
from aisec_ci.severity import Severity

VULNERABLE_PACKAGE = Rule(
    id="deps/vulnerable-package",
    name="Dependency with a known vulnerability",
    short_description="A pinned Python dependency has a published security advisory.",
    severity=Severity.HIGH,
    what="Reports every advisory (PYSEC, GHSA, CVE ...) that affects the exact version a manifest or lock "
    "file pins, at the line that pins it. The severity is the CVSS base score computed from the advisory's "
    "vector, else the database's named severity, else high. Advisories reported by several sources under "
    "different ids are one finding that lists every source. Low-confidence advisories say so in the "
    "message and in the `confidence` and `low_confidence` properties: one with no fixed version is "
    "never raised above high by its score alone; one that is disputed (`** DISPUTED **` CVE), withdrawn, "
    "or that has no fix and lists affected versions that all predate the pinned one is reported at low.",
    why="A known vulnerability has a public description, often a public exploit, and scanners that look "
    "for it. ML stacks pull in large, fast-moving packages (model servers, tokenizers, notebook servers, "
    "experiment trackers) whose advisories include remote code execution and path traversal.",
    example="torch==1.13.0\npyyaml==5.3\nmlflow==2.9.1",
    fix="Upgrade to the fixed version named in the finding (or later) and re-lock. If no fix exists, "
    "remove the dependency or isolate the feature, and suppress the finding with a reason and an `until` date.",
    tags=("CWE-1395", "supply-chain"),
    precision="high",
    references=("https://osv.dev/", "https://github.com/pypa/advisory-database"),
)

MALICIOUS_PACKAGE = Rule(
    id="deps/malicious-package",
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
    out: list[tuple[str, str]] = []
    if adv.withdrawn:
        out.append(("withdrawn", "the advisory is withdrawn or its CVE rejected"))
    if adv.disputed:
        out.append(("disputed", "the CVE is marked disputed (the vendor contests that it is a vulnerability)"))
    if adv.unlisted:
        out.append(
            ("unlisted-version", "every affected version the advisory lists is older than this one; only its "
             "open-ended range matches")
        )  # fmt: skip
    if not adv.fixed:
        out.append(("no-fix", "the advisory names no fixed version"))
    return out


def findings(dep: Dependency, advisories: list[Advisory], snapshot_date: str = "") -> Iterator[Finding]:
    assert dep.version is not None
    for adv in advisories:
        rule = MALICIOUS_PACKAGE if adv.malicious else VULNERABLE_PACKAGE
        if adv.malicious:
            severity, score = Severity.CRITICAL, None
        else:
            severity, score = advisory_severity(adv, rule.severity)
        doubts = [] if adv.malicious else low_confidence(adv)
        if doubts:
            severity = min(severity, _DOUBT_CAP[doubts[0][0]])
        fix = smallest_fix_above(adv.fixed, dep.version)
        aliases = f" ({', '.join(adv.aliases)})" if adv.aliases else ""
        if adv.malicious:
            message = f"{dep.name} {dep.version} is a known malicious package {adv.id}{aliases}."
        else:
            message = f"{dep.name} {dep.version} is affected by {adv.id}{aliases}"
            message += f": {adv.summary}" if adv.summary else "."
            if not message.endswith((".", "…")):
                message += "."
            message += f" Fixed in {fix}." if fix else " No fixed version is known."
            if doubts:
                message += " Low confidence: " + "; ".join(text for _, text in doubts) + "."
        props: dict[str, Any] = {
            "package": dep.canonical,
            "version": dep.version,
            "advisory_id": adv.id,
            "aliases": list(adv.aliases),
            "summary": adv.summary,
            "fixed_versions": list(adv.fixed),
            "fix_version": fix,
            "sources": list(adv.sources),
            "manifest": dep.origin,
        }
        if doubts:
            props["confidence"] = "low"
            props["low_confidence"] = [code for code, _ in doubts]
        if score is not None:
            props["cvss_score"] = score
        if adv.cvss:
            props["cvss_vectors"] = list(adv.cvss)
        if dep.group:
            props["group"] = dep.group
        if dep.marker:
            props["marker"] = dep.marker
        if "cell" in dep.extra:
            props["cell"] = int(dep.extra["cell"])
        if "snapshot" in adv.sources and snapshot_date:
            props["snapshot_date"] = snapshot_date
        yield Finding(
            rule_id=rule.id,
            severity=severity,
            message=message,
            path=dep.path,
            start_line=dep.line,
            snippet=dep.snippet,
            key=f"{dep.canonical}=={dep.version}:{adv.id}",
            properties=props,
        )
