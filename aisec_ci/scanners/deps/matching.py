"""Does an OSV record affect one package version? The OSV evaluation, done carefully.

Events are sorted by version before walking (real data lists them out of
order), `last_affected` is inclusive and `fixed` exclusive, explicit
`versions` lists count on their own, and versions the ecosystem cannot order
never crash the walk: such a range is skipped and only exact list matches
count. PyPI versions follow PEP 440 and its `ECOSYSTEM` ranges; Go, npm and
crates.io versions follow SemVer (versions.py), in `SEMVER` and `ECOSYSTEM`
ranges alike. A Debian, Ubuntu or Alpine entry applies only to the release its
ecosystem names (`Debian:12`): a fix for one release says nothing about another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.model import package_key
from aisec_ci.scanners.deps.versions import (
    PYPI,
    SEMVER_ECOSYSTEMS,
    audit_version,
    is_distro,
    parse_version,
    sort_key,
    version_parser,
    zero_for,
)

__all__ = ["advisory_from_osv", "fixed_versions", "is_affected", "parse_version", "smallest_fix_above"]

_EVENT_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}
# PyPI's records order versions by PEP 440 in ECOSYSTEM ranges (SEMVER ranges there are left out,
# as they always were); in the SemVer ecosystems both range types mean SemVer order.
_RANGE_TYPES = {PYPI: frozenset({"ECOSYSTEM"})}
_SEMVER_RANGE_TYPES = frozenset({"ECOSYSTEM", "SEMVER"})


def _range_types(ecosystem: str) -> frozenset[str]:
    if ecosystem in SEMVER_ECOSYSTEMS:
        return _SEMVER_RANGE_TYPES
    return _RANGE_TYPES.get(ecosystem, frozenset({"ECOSYSTEM"}))


def _entries(record: Mapping[str, Any], name: str, ecosystem: str = PYPI) -> Iterable[Mapping[str, Any]]:
    """The record's `affected` entries for this package of this ecosystem."""
    wanted = package_key(ecosystem, name)
    # A distribution's entry must name the same release; elsewhere a suffix (`PyPI:...`) is ignored.
    whole = is_distro(ecosystem)
    for entry in record.get("affected") or ():
        if not isinstance(entry, Mapping):
            continue
        pkg = entry.get("package") or {}
        if not isinstance(pkg, Mapping):
            continue
        named = str(pkg.get("ecosystem", ""))
        if (named if whole else named.split(":", 1)[0]) != ecosystem:
            continue
        if package_key(ecosystem, str(pkg.get("name", ""))) == wanted:
            yield entry


def _sorted_events(events: Iterable[Any], ecosystem: str = PYPI) -> list[tuple[Any, str]] | None:
    """(version, event type) pairs in version order, or None when one cannot be ordered."""
    parse = version_parser(ecosystem)
    out: list[tuple[Any, str]] = []
    for event in events:
        if not isinstance(event, Mapping):
            continue
        for kind in _EVENT_ORDER:
            if kind in event:
                raw = str(event[kind])
                if kind == "introduced" and raw == "0":
                    out.append((zero_for(ecosystem), kind))
                elif kind == "limit" and raw == "*":
                    continue
                else:
                    v = parse(raw)
                    if v is None:
                        return None
                    out.append((v, kind))
                break
    out.sort(key=lambda item: (item[0], _EVENT_ORDER[item[1]]))
    return out


def _in_range(events: list[tuple[Any, str]], v: Any) -> bool:
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


def _semver_equality_key(text: str) -> str:
    """SemVer versions are equal when all but their build metadata is (`v1.2.3+incompatible` is `1.2.3`)."""
    return text.removeprefix("v").split("+", 1)[0]


def is_affected(record: Mapping[str, Any], name: str, version: str, ecosystem: str = PYPI) -> bool:
    """True when `name==version` of `ecosystem` is affected; withdrawn records affect nothing.

    `version` is spelled as OSV spells it (versions.audit_version: Go's without its `v`)."""
    if record.get("withdrawn"):
        return False
    parse = version_parser(ecosystem)
    semver = ecosystem in SEMVER_ECOSYSTEMS
    distro = is_distro(ecosystem)
    v = parse(version)
    types = _range_types(ecosystem)
    for entry in _entries(record, name, ecosystem):
        listed = entry.get("versions") or ()
        if version in listed:
            return True
        if v is None:
            if any(parse(str(x)) is None and str(x).lower() == version.lower() for x in listed):
                return True
            continue
        for rng in entry.get("ranges") or ():
            if not isinstance(rng, Mapping) or rng.get("type") not in types:
                continue
            events = _sorted_events(rng.get("events") or (), ecosystem)
            if events is not None and _in_range(events, v):
                return True
        # Last, as it walks the whole list: a listed version spelled differently (`2.0` for `2.0.0`).
        if semver:
            wanted = _semver_equality_key(version)
            if any(_semver_equality_key(str(x)) == wanted for x in listed):
                return True
            continue
        if distro:
            # dpkg and apk say when two spellings are one version; PEP 440 keys would call two
            # versions it cannot read equal.
            if any(parse(str(x)) == v for x in listed):
                return True
            continue
        key = _equality_key(version)
        if any(_equality_key(str(x)) == key for x in listed):
            return True
    return False


def fixed_versions(record: Mapping[str, Any], name: str, ecosystem: str = PYPI) -> tuple[str, ...]:
    """Every `fixed` version of the package's ranges (of the types the ecosystem orders), in version order."""
    parse = version_parser(ecosystem)
    types = _range_types(ecosystem)
    found: dict[str, Any] = {}
    for entry in _entries(record, name, ecosystem):
        for rng in entry.get("ranges") or ():
            if not isinstance(rng, Mapping) or rng.get("type") not in types:
                continue
            for event in rng.get("events") or ():
                if isinstance(event, Mapping) and "fixed" in event:
                    v = parse(str(event["fixed"]))
                    if v is not None:
                        found[str(event["fixed"])] = v
    return tuple(sorted(found, key=lambda s: found[s]))


def smallest_fix_above(fixed: Iterable[str], version: str, ecosystem: str = PYPI) -> str | None:
    """The first fixed version greater than the installed one (the upgrade to suggest)."""
    parse = version_parser(ecosystem)
    v = parse(audit_version(ecosystem, version))
    candidates = [(pv, s) for s in fixed if (pv := parse(s)) is not None and (v is None or pv > v)]
    return min(candidates, key=lambda c: sort_key(ecosystem)(c[1]))[1] if candidates else None


def advisory_from_osv(
    record: Mapping[str, Any], name: str, source: str, version: str = "", ecosystem: str = PYPI
) -> Advisory:
    """The parts of an OSV record a finding needs, for one package (and, when given, one version)."""
    vectors: list[str] = []
    db_severity = ""
    for sev in record.get("severity") or ():
        if isinstance(sev, Mapping) and str(sev.get("type", "")).startswith("CVSS_") and sev.get("score"):
            vectors.append(str(sev["score"]))
    for entry in _entries(record, name, ecosystem):
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
    fixed = fixed_versions(record, name, ecosystem)
    aliases = tuple(sorted(str(a) for a in record.get("aliases") or () if a))
    distro_severity = ""
    if is_distro(ecosystem):
        # Distribution records name the CVEs they fix in `upstream` (OSV 1.6) rather than in
        # `aliases`, and rate them in their own words: keep both for the OS package findings.
        upstream = [str(a) for a in record.get("upstream") or () if isinstance(a, str) and a]
        aliases = tuple(sorted({*aliases, *upstream} - {str(record.get("id", ""))}))
        distro_severity = _distro_rating(record, name, ecosystem)
    return Advisory(
        id=str(record.get("id", "")),
        aliases=aliases,
        summary=summary,
        fixed=fixed,
        cvss=tuple(dict.fromkeys(vectors)),
        database_severity=db_severity,
        published=str(record.get("published") or ""),
        modified=str(record.get("modified") or ""),
        disputed=is_disputed(summary) or is_disputed(details),
        withdrawn=bool(record.get("withdrawn")) or is_rejected(summary) or is_rejected(details),
        unlisted=bool(version) and not fixed and _newer_than_listed(record, name, version, ecosystem),
        sources=(source,),
        distro_severity=distro_severity,
    )


def _distro_rating(record: Mapping[str, Any], name: str, ecosystem: str) -> str:
    """The distribution's own word for the advisory (Ubuntu's priority, Debian's urgency), as written."""
    for sev in record.get("severity") or ():
        if isinstance(sev, Mapping) and sev.get("type") == "Ubuntu" and isinstance(sev.get("score"), str):
            return str(sev["score"])
    for entry in _entries(record, name, ecosystem):
        for field_name in ("ecosystem_specific", "database_specific"):
            extra = entry.get(field_name)
            if isinstance(extra, Mapping):
                for key in ("urgency", "priority", "severity"):
                    if isinstance(extra.get(key), str) and extra[key]:
                        return str(extra[key])
    dbs = record.get("database_specific")
    if isinstance(dbs, Mapping):
        for key in ("urgency", "priority"):
            if isinstance(dbs.get(key), str) and dbs[key]:
                return str(dbs[key])
    return ""


# NVD's description prefixes, carried into PYSEC/GHSA details and into pip-audit's and safety's text.
_DISPUTED_RE = re.compile(r"\*\*\s*DISPUTED\s*\*\*", re.IGNORECASE)
_REJECTED_RE = re.compile(r"^\s*(?:\*\*\s*REJECT\s*\*\*|withdrawn\b|rejected reason:)", re.IGNORECASE)


def is_disputed(text: str) -> bool:
    return bool(_DISPUTED_RE.search(text[:500]))


def is_rejected(text: str) -> bool:
    return bool(_REJECTED_RE.match(text))


def _newer_than_listed(record: Mapping[str, Any], name: str, version: str, ecosystem: str = PYPI) -> bool:
    """Every entry for the package lists versions, none is this one, and this one is newer than all."""
    parse = version_parser(ecosystem)
    v = parse(version)
    if v is None:
        return False
    entries = list(_entries(record, name, ecosystem))
    if not entries:
        return False
    for entry in entries:
        listed = [parse(str(x)) for x in entry.get("versions") or ()]
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
