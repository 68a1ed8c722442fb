"""Finding severity from an advisory: the CVSS base score of its vector, else the database's word."""

from __future__ import annotations

from functools import lru_cache

from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.severity import Severity

_NAMED = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}


@lru_cache(maxsize=4096)
def base_score(vector: str) -> float | None:
    """CVSS base score of a vector string (v2, v3.x or v4), or None when it does not parse."""
    # Imported on first use: many audits meet no advisory with a vector at all.
    from cvss import CVSS2, CVSS3, CVSS4
    from cvss.exceptions import CVSSError

    try:
        if vector.startswith("CVSS:4"):
            return float(CVSS4(vector).base_score)
        if vector.startswith("CVSS:3"):
            return float(CVSS3(vector).base_score)
        return float(CVSS2(vector).base_score)
    except (CVSSError, ValueError, KeyError, IndexError):
        return None


def advisory_severity(advisory: Advisory, default: Severity) -> tuple[Severity, float | None]:
    """(severity, score): the highest-version vector wins; a named database severity next; else `default`."""
    scores = [(v, s) for v in advisory.cvss if (s := base_score(v)) is not None]
    if scores:
        # Prefer the newest CVSS version the record offers; v2 scores run high.
        scores.sort(key=lambda item: (_cvss_version(item[0]), item[1]), reverse=True)
        score = scores[0][1]
        return Severity.from_cvss(score), score
    named = _NAMED.get(advisory.database_severity.strip().upper())
    if named is not None:
        return named, None
    return default, None


def _cvss_version(vector: str) -> int:
    if vector.startswith("CVSS:4"):
        return 4
    if vector.startswith("CVSS:3"):
        return 3
    return 2
