"""Does an OSV record affect one PyPI version? The OSV evaluation, done carefully.

Events are sorted by version before walking (real data lists them out of
order), `last_affected` is inclusive and `fixed` exclusive, explicit
`versions` lists count on their own, and versions that are not PEP 440 never
crash the walk: such a range is skipped and only exact list matches count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from packaging.version import InvalidVersion, Version

from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.model import canonicalize_name

_EVENT_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}
_ZERO = Version("0")


@lru_cache(maxsize=65536)
def parse_version(text: str) -> Version | None:
    # Cached: a 1,000-pin audit parses the same few thousand event versions over and over.
    try:
        return Version(text)
    except (InvalidVersion, TypeError):
        return None


def _pypi_entries(record: Mapping[str, Any], name: str) -> Iterable[Mapping[str, Any]]:
    wanted = canonicalize_name(name)
    for entry in record.get("affected") or ():
        if not isinstance(entry, Mapping):
            continue
        pkg = entry.get("package") or {}
        if not isinstance(pkg, Mapping) or str(pkg.get("ecosystem", "")).split(":", 1)[0] != "PyPI":
            continue
        if canonicalize_name(str(pkg.get("name", ""))) == wanted:
            yield entry


def _sorted_events(events: Iterable[Any]) -> list[tuple[Version, str]] | None:
    """(version, event type) pairs in version order, or None when one cannot be ordered."""
    out: list[tuple[Version, str]] = []
    for event in events:
        if not isinstance(event, Mapping):
            continue
        for kind in _EVENT_ORDER:
            if kind in event:
                raw = str(event[kind])
                if kind == "introduced" and raw == "0":
                    out.append((_ZERO, kind))
                elif kind == "limit" and raw == "*":
                    continue
                else:
                    v = parse_version(raw)
                    if v is None:
                        return None
                    out.append((v, kind))
                break
    out.sort(key=lambda item: (item[0], _EVENT_ORDER[item[1]]))
    return out


def _in_range(events: list[tuple[Version, str]], v: Version) -> bool:
    limits = [ev for ev, kind in events if kind == "limit"]
    if limits and not any(v < limit for limit in limits):
        return False
    affected = False
    for ev, kind in events:
        if kind == "introduced" and v >= ev:
            affected = True
        elif (kind == "fixed" and v >= ev) or (kind == "last_affected" and v > ev):
            affected = False
    return affected


# A normalized version string without the trailing zeros of its release (`1.2.0.0rc1` -> `1.2rc1`):
# two versions are equal exactly when these keys are, and comparing strings is far cheaper than
# comparing Version objects, which a walk over a long `versions` list would do thousands of times.
_TRAILING_ZEROS_RE = re.compile(r"^((?:\d+!)?\d+(?:\.\d+)*?)(?:\.0)+(?=a|b|rc|\.post|\.dev|\+|$)")


_PLAIN_RELEASE_RE = re.compile(r"^\d+(?:\.\d+)*$")


@lru_cache(maxsize=65536)
def _equality_key(text: str) -> str | None:
    if _PLAIN_RELEASE_RE.match(text):
        # Most listed versions are plain releases: normalize them without building a Version.
        parts = [str(int(p)) for p in text.split(".")]
        while len(parts) > 1 and parts[-1] == "0":
            parts.pop()
        return ".".join(parts)
    v = parse_version(text)
    return None if v is None else _TRAILING_ZEROS_RE.sub(r"\1", str(v))


def is_affected(record: Mapping[str, Any], name: str, version: str) -> bool:
    """True when `name==version` is affected; withdrawn records affect nothing."""
    if record.get("withdrawn"):
        return False
    v = parse_version(version)
    for entry in _pypi_entries(record, name):
        listed = entry.get("versions") or ()
        if version in listed:
            return True
        if v is None:
            if any(parse_version(str(x)) is None and str(x).lower() == version.lower() for x in listed):
                return True
            continue
        for rng in entry.get("ranges") or ():
            if not isinstance(rng, Mapping) or rng.get("type") != "ECOSYSTEM":
                continue
            events = _sorted_events(rng.get("events") or ())
            if events is not None and _in_range(events, v):
                return True
        # Last, as it walks the whole list: a listed version spelled differently (`2.0` for `2.0.0`).
        key = _equality_key(version)
        if any(_equality_key(str(x)) == key for x in listed):
            return True
    return False


def fixed_versions(record: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """Every `fixed` version of the package's ECOSYSTEM ranges, in version order."""
    found: dict[str, Version] = {}
    for entry in _pypi_entries(record, name):
        for rng in entry.get("ranges") or ():
            if not isinstance(rng, Mapping) or rng.get("type") != "ECOSYSTEM":
                continue
            for event in rng.get("events") or ():
                if isinstance(event, Mapping) and "fixed" in event:
                    v = parse_version(str(event["fixed"]))
                    if v is not None:
                        found[str(event["fixed"])] = v
    return tuple(sorted(found, key=lambda s: found[s]))


def smallest_fix_above(fixed: Iterable[str], version: str) -> str | None:
    """The first fixed version greater than the installed one (the upgrade to suggest)."""
    v = parse_version(version)
    candidates = [(pv, s) for s in fixed if (pv := parse_version(s)) is not None and (v is None or pv > v)]
    return min(candidates)[1] if candidates else None


def advisory_from_osv(record: Mapping[str, Any], name: str, source: str, version: str = "") -> Advisory:
    """The parts of an OSV record a finding needs, for one package (and, when given, one version)."""
    vectors: list[str] = []
    db_severity = ""
    for sev in record.get("severity") or ():
        if isinstance(sev, Mapping) and str(sev.get("type", "")).startswith("CVSS_") and sev.get("score"):
            vectors.append(str(sev["score"]))
    for entry in _pypi_entries(record, name):
        for sev in entry.get("severity") or ():
            if isinstance(sev, Mapping) and str(sev.get("type", "")).startswith("CVSS_") and sev.get("score"):
                vectors.append(str(sev["score"]))
    dbs = record.get("database_specific")
    if isinstance(dbs, Mapping) and isinstance(dbs.get("severity"), str):
        db_severity = str(dbs["severity"])
    summary = str(record.get("summary") or "").strip()
    details = str(record.get("details") or "")
    if not summary:
        summary = _first_sentence(details)
    fixed = fixed_versions(record, name)
    return Advisory(
        id=str(record.get("id", "")),
        aliases=tuple(sorted(str(a) for a in record.get("aliases") or () if a)),
        summary=summary,
        fixed=fixed,
        cvss=tuple(dict.fromkeys(vectors)),
        database_severity=db_severity,
        published=str(record.get("published") or ""),
        modified=str(record.get("modified") or ""),
        disputed=is_disputed(summary) or is_disputed(details),
        withdrawn=bool(record.get("withdrawn")) or is_rejected(summary) or is_rejected(details),
        unlisted=bool(version) and not fixed and _newer_than_listed(record, name, version),
        sources=(source,),
    )


# NVD's description prefixes, carried into PYSEC/GHSA details and into pip-audit's and safety's text.
_DISPUTED_RE = re.compile(r"\*\*\s*DISPUTED\s*\*\*", re.IGNORECASE)
_REJECTED_RE = re.compile(r"^\s*(?:\*\*\s*REJECT\s*\*\*|withdrawn\b|rejected reason:)", re.IGNORECASE)


def is_disputed(text: str) -> bool:
    return bool(_DISPUTED_RE.search(text[:500]))


def is_rejected(text: str) -> bool:
    return bool(_REJECTED_RE.match(text))


def _newer_than_listed(record: Mapping[str, Any], name: str, version: str) -> bool:
    """Every entry for the package lists versions, none is this one, and this one is newer than all."""
    v = parse_version(version)
    if v is None:
        return False
    entries = list(_pypi_entries(record, name))
    if not entries:
        return False
    for entry in entries:
        listed = [parse_version(str(x)) for x in entry.get("versions") or ()]
        known = [x for x in listed if x is not None]
        if not known or any(x >= v for x in known):
            return False
        for rng in entry.get("ranges") or ():
            # A `last_affected` or `limit` bound is a statement about later versions: trust it.
            events = rng.get("events") if isinstance(rng, Mapping) else None
            if any(isinstance(e, Mapping) and ("last_affected" in e or "limit" in e) for e in events or ()):
                return False
    return True


def _first_sentence(details: str, limit: int = 200) -> str:
    text = " ".join(details.split())
    for end in (". ", ".\n"):
        cut = text.find(end)
        if 0 < cut < limit:
            return text[: cut + 1]
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
