"""One finding per vulnerable package version: its advisories, and what they add up to.

A pin with fourteen advisories is one thing to fix (one upgrade), so it is one
finding. Each advisory is a plain JSON entry in the finding's `advisories`
property; the finding's severity, fix version and message are computed from
those entries alone. That lets a config ignore that names one advisory drop it
after the scan (in the suppress stage, or in another process reading the JSON
report) and recompute the finding from what is left.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.scanners.deps.locks import declared_suffix
from aisec_ci.scanners.deps.versions import version_parser
from aisec_ci.severity import Severity

DOUBT_TEXT = {
    "withdrawn": "the advisory is withdrawn or its CVE rejected",
    "disputed": "the CVE is marked disputed (the vendor contests that it is a vulnerability)",
    "unlisted-version": "every affected version the advisory lists is older than this one; only its "
    "open-ended range matches",
    "no-fix": "the advisory names no fixed version",
}
"""What each low-confidence code means, for messages."""

_SHOWN_IDS = 6
MALICIOUS_RULE_ID = "deps/malicious-package"
"""`deps/malicious-package` (declared with its rule in vulnerable.py, which imports this module)."""


def entry_order(entry: Mapping[str, Any]) -> tuple[int, float, tuple[tuple[str, int], ...]]:
    """Most severe first (then the higher CVSS score), then by id with its numbers compared as
    numbers (PYSEC-2023-91 before PYSEC-2023-109): the first entry is the one a finding names
    as its `advisory_id`."""
    parts = tuple((text, int(number or 0)) for text, number in _ID_PARTS.findall(str(entry["id"])))
    return (-Severity.parse(str(entry["severity"])), -float(entry.get("cvss_score") or 0.0), parts)


_ID_PARTS = re.compile(r"(\D*)(\d*)")


def combined_fix(entries: Sequence[Mapping[str, Any]], ecosystem: str = "PyPI") -> str | None:
    """The lowest version that fixes every advisory that has a fix: the highest of their own
    smallest fixes above the pinned version. None when no advisory has one."""
    parse = version_parser(ecosystem)
    best: tuple[Any, str] | None = None
    for entry in entries:
        fix = entry.get("fix_version")
        parsed = parse(str(fix)) if fix else None
        if fix and parsed is not None and (best is None or parsed > best[0]):
            best = (parsed, str(fix))
    return best[1] if best else None


def entry_ids(entry: Mapping[str, Any]) -> set[str]:
    """An advisory's id and aliases, upper-cased (how config ignores name it)."""
    return {str(i).upper() for i in (entry.get("id"), *(entry.get("aliases") or ())) if i}


def _ids(entries: Sequence[Mapping[str, Any]]) -> str:
    ids = [str(e["id"]) for e in entries]
    more = len(ids) - _SHOWN_IDS
    return ", ".join(ids[:_SHOWN_IDS]) + (f" and {more} more" if more > 0 else "")


def _single_message(name: str, version: str, entry: Mapping[str, Any], malicious: bool) -> str:
    aliases = f" ({', '.join(entry.get('aliases') or ())})" if entry.get("aliases") else ""
    if malicious:
        return f"{name} {version} is a known malicious package {entry['id']}{aliases}."
    summary = str(entry.get("summary") or "")
    message = f"{name} {version} is affected by {entry['id']}{aliases}" + (f": {summary}" if summary else ".")
    if not message.endswith((".", "…")):
        message += "."
    fix = entry.get("fix_version")
    message += f" Fixed in {fix}." if fix else " No fixed version is known."
    doubts = entry.get("low_confidence") or ()
    if doubts:
        message += " Low confidence: " + "; ".join(DOUBT_TEXT.get(str(c), str(c)) for c in doubts) + "."
    return message


def _several_message(
    name: str, version: str, entries: Sequence[Mapping[str, Any]], malicious: bool, ecosystem: str = "PyPI"
) -> str:
    if malicious:
        return f"{name} {version} is a known malicious package ({_ids(entries)})."
    # What to do comes before the summary, which reports and PR comments may shorten.
    message = f"{name} {version} is affected by {len(entries)} advisories ({_ids(entries)})."
    fix = combined_fix(entries, ecosystem)
    unfixed = [e for e in entries if not e.get("fix_version")]
    if fix and not unfixed:
        message += f" Upgrading to {fix} fixes all of them."
    elif fix:
        have = "has" if len(unfixed) == 1 else "have"
        message += (
            f" Upgrading to {fix} fixes {len(entries) - len(unfixed)} of them; {len(unfixed)} ({_ids(unfixed)}) "
            f"{have} no fixed version."
        )
    else:
        message += " No fixed version is known for any of them."
    doubtful = [e for e in entries if e.get("low_confidence")]
    if doubtful and len(doubtful) == len(entries):
        codes = sorted({str(c) for e in entries for c in e["low_confidence"]}, key=_doubt_rank)
        message += " Low confidence: " + "; ".join(DOUBT_TEXT.get(c, c) for c in codes) + "."
    elif doubtful:
        message += f" Low confidence for {len(doubtful)} of them ({_ids(doubtful)})."
    first = entries[0]
    summary = str(first.get("summary") or "").rstrip(".")
    if summary:
        message += f" The most severe, {first['id']}: {summary}" + ("" if summary.endswith("…") else ".")
    return message


def summarise(
    base: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], malicious: bool
) -> tuple[Severity, str, dict[str, Any]]:
    """(severity, message, properties) of the finding for one package version and its advisories.

    `base` holds the package's own properties (`name`, `package`, `version`, `manifest` ...);
    `entries` are non-empty. Deterministic: entries are sorted here.
    """
    ordered = sorted(entries, key=entry_order)
    first = ordered[0]
    name, version = str(base.get("name") or base["package"]), str(base["version"])
    ecosystem = str(base.get("ecosystem") or "PyPI")
    if ecosystem != "PyPI":
        # `lodash 4.17.20 (npm) is affected by ...`: the same name can exist in several ecosystems.
        version = f"{version} ({ecosystem})"
    if len(ordered) == 1:
        message = _single_message(name, version, first, malicious)
    else:
        message = _several_message(name, version, ordered, malicious, ecosystem)
    severity = max(Severity.parse(str(e["severity"])) for e in ordered)
    props: dict[str, Any] = dict(base)
    # `advisory_id` and `aliases` as before one finding listed every advisory: the most severe
    # advisory's id, and every id and alias of all of them (what `ignores: - advisory:` matched).
    props["advisory_id"] = first["id"]
    props["aliases"] = sorted({i for e in ordered for i in (e["id"], *(e.get("aliases") or ()))} - {first["id"]})
    props["advisory_count"] = len(ordered)
    props["summary"] = first.get("summary", "")
    props["fix_version"] = combined_fix(ordered, ecosystem)
    props["unfixed_advisories"] = [e["id"] for e in ordered if not e.get("fix_version")]
    props["sources"] = sorted({s for e in ordered for s in e.get("sources") or ()})
    scores = [float(e["cvss_score"]) for e in ordered if e.get("cvss_score") is not None]
    if scores:
        props["cvss_score"] = max(scores)
    if all(e.get("low_confidence") for e in ordered):
        props["confidence"] = "low"
        props["low_confidence"] = sorted({str(c) for e in ordered for c in e["low_confidence"]}, key=_doubt_rank)
    props["advisories"] = [dict(e) for e in ordered]
    return severity, message, props


def _doubt_rank(code: str) -> int:
    order = list(DOUBT_TEXT)
    return order.index(code) if code in order else len(order)


BASE_KEYS = (
    "name",
    "package",
    "version",
    "manifest",
    "ecosystem",
    "group",
    "marker",
    "cell",
    "snapshot_date",
    "declared_in",
)
"""The package-level properties a recomputed finding keeps."""


def without_advisories(finding: Finding, dropped: Mapping[str, Mapping[str, str]]) -> Finding:
    """The finding with the advisories whose id is in `dropped` removed, severity, fix version and
    message recomputed from the rest, and the dropped ones kept under `suppressed_advisories` with
    the suppression (`{"kind": ..., "reason": ...}`) each got. At least one advisory must remain.
    Location, key and fingerprint are unchanged: it is still the same finding."""
    props = finding.properties
    entries = [e for e in props["advisories"] if e["id"] not in dropped]
    if not entries:
        raise ValueError("without_advisories would drop every advisory; suppress the finding instead")
    removed = [dict(e) | {"suppression": dict(dropped[e["id"]])} for e in props["advisories"] if e["id"] in dropped]
    base = {k: props[k] for k in BASE_KEYS if k in props}
    severity, message, new_props = summarise(base, entries, finding.rule_id == MALICIOUS_RULE_ID)
    if "declared_in" in props:
        message += declared_suffix(list(props["declared_in"]))
    new_props["suppressed_advisories"] = [*props.get("suppressed_advisories", ()), *removed]
    return finding.evolve(severity=severity, message=message, properties=new_props)
