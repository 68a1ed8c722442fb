"""SARIF 2.1.0 for GitHub code scanning.

Valid against the OASIS schema, and shaped to GitHub's supported subset: one
run, rule metadata GitHub displays (security-severity, precision, tags),
repo-relative URIs, `partialFingerprints`, `automationDetails.id` for the
category, and GitHub's upload limits, cutting the least severe results first
and saying so in the log rather than letting the upload be rejected.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aisec_ci.core_rules import CORE_RULES
from aisec_ci.findings import Finding
from aisec_ci.result import ScanResult, Suppressed
from aisec_ci.rules import Rule, RuleCatalog
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import path_bytes

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "aisec-ci"
INFORMATION_URI = "https://github.com/aisec-ci/aisec-ci"
SRCROOT = "%SRCROOT%"

# GitHub's limits (sarif-support-for-code-scanning): above these an upload is rejected or truncated.
MAX_RESULTS = 25_000
MAX_GZIP_BYTES = 10 * 1024 * 1024
MAX_TAGS = 10
MAX_NAME = 255
MAX_DESCRIPTION = 1024
# Thousands of skipped files would crowd out results under the gzip cap; the
# JSON report keeps the full list.
MAX_SKIPPED_NOTIFICATIONS = 1_000
FINGERPRINT_KEY = "aisecFingerprint/v1"

_PROBLEM_SEVERITY = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "recommendation",
    Severity.INFO: "recommendation",
}
# inline comments live in the scanned file; baseline and config ignores do not.
_SUPPRESSION_KIND = {"inline": "inSource", "baseline": "external", "config": "external"}


@dataclass(frozen=True)
class _Entry:
    finding: Finding
    suppression: Suppressed | None


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def artifact_uri(path: str) -> str:
    """A repo-relative path as a relative URI reference.

    Everything outside unreserved characters and `/` is percent-encoded, so a
    space, `%`, `#`, `?` or a `:` in the first segment (which would read as a
    scheme) cannot change what GitHub resolves.
    """
    clean = path
    while clean.startswith("./"):
        clean = clean[2:]
    clean = clean.lstrip("/")
    # The bytes of the name on disk: a non-UTF-8 byte shown as `\xe9` is `%E9` in the URI.
    return quote(path_bytes(clean), safe="/") or "."


def _json_safe(value: Any) -> Any:
    """Scanner properties as plain JSON with a stable order (sets sorted, unknowns as text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_json_safe(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return str(value)


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    tags: list[str] = ["security"]
    for tag in rule.tags:
        if tag not in tags:
            tags.append(tag)
    properties: dict[str, Any] = {
        "tags": tags[:MAX_TAGS],
        "precision": rule.precision,
        "problem.severity": _PROBLEM_SEVERITY[rule.severity],
        "profile": rule.profile,
        "confidence": rule.confidence,
    }
    if rule.severity > Severity.INFO:
        properties["security-severity"] = rule.severity.security_severity
    full = rule.what if not rule.why else f"{rule.what} {rule.why}"
    return {
        "id": rule.id,
        "name": _cut(rule.name or rule.id, MAX_NAME),
        "shortDescription": {"text": _cut(rule.short_description or rule.name or rule.id, MAX_DESCRIPTION)},
        "fullDescription": {"text": _cut(full or rule.short_description or rule.id, MAX_DESCRIPTION)},
        "defaultConfiguration": {"level": rule.severity.sarif_level},
        "help": {"text": rule.help_text(), "markdown": rule.help_markdown()},
        "helpUri": rule.help_uri,
        "properties": properties,
    }


def _unknown_rule(rule_id: str, severity: Severity) -> Rule:
    """Stand-in for a finding whose rule is missing from the catalog (a merged
    report from a newer version, a removed plugin): SARIF needs a descriptor."""
    return Rule(
        id=rule_id,
        name=rule_id,
        short_description=f"Finding of rule {rule_id}, which this version of aisec-ci does not know.",
        severity=severity,
        what=f"Reported by a scanner as {rule_id}; no rule metadata is available.",
        why="The scanner that produced it judged it a security problem.",
        precision="medium",
    )


def _collect_rules(result: ScanResult, catalog: RuleCatalog, entries: Iterable[_Entry]) -> list[dict[str, Any]]:
    # Every rule of the scanners that ran comes from the catalog the caller built
    # (the registry builds it): reports never discover scanners themselves.
    rules: dict[str, Rule] = {r.id: r for r in CORE_RULES}
    for name in result.scanners:
        rules.update((r.id, r) for r in catalog.rules_of(name))
    descriptors: dict[str, dict[str, Any]] = {rid: _rule_descriptor(r) for rid, r in rules.items()}
    for entry in entries:
        rid = entry.finding.rule_id
        if rid in descriptors:
            continue
        known = catalog.get(rid)
        if known is not None:
            descriptors[rid] = _rule_descriptor(known)
            continue
        try:
            stand_in = _unknown_rule(rid, entry.finding.severity)
        except ValueError:
            stand_in = _unknown_rule("unknown/rule", entry.finding.severity)
        desc = _rule_descriptor(stand_in)
        # The result must still name the id the scanner used.
        desc["id"] = rid
        descriptors[rid] = desc
    return [descriptors[rid] for rid in sorted(descriptors)]


def _region(f: Finding) -> dict[str, Any]:
    start_line = max(1, f.start_line)
    start_col = max(1, f.start_column)
    end_line = max(start_line, f.last_line)
    region: dict[str, Any] = {"startLine": start_line, "startColumn": start_col, "endLine": end_line}
    # An end before the start on one line is a scanner slip; a whole-line region beats a reversed one.
    if f.end_column is not None and f.end_column >= 1 and (end_line > start_line or f.end_column >= start_col):
        region["endColumn"] = f.end_column
    if f.snippet:
        region["snippet"] = {"text": f.snippet}
    return region


def _location(path: str) -> dict[str, Any]:
    return {"artifactLocation": {"uri": artifact_uri(path), "uriBaseId": SRCROOT}}


def _baseline_state(entry: _Entry) -> str:
    """SARIF `baselineState` in new-only mode: `unchanged` when the base revision's scan had
    the finding (kept for code scanning, hidden from the gate), `new` when this change brings it."""
    sup = entry.suppression
    if sup is None:
        return "new"
    return "unchanged" if sup.kind == "new-only" or sup.in_base else "new"


def _result(entry: _Entry, rule_index: int, any_suppressed: bool, new_only: bool = False) -> dict[str, Any]:
    f = entry.finding
    properties: dict[str, Any] = {str(k): _json_safe(v) for k, v in sorted(f.properties.items())}
    properties["severity"] = f.severity.label
    if f.severity > Severity.INFO:
        properties["security-severity"] = f.severity.security_severity
    if f.scanner:
        properties["scanner"] = f.scanner
    for name, value in (("role", f.role), ("profile", f.profile), ("confidence", f.confidence)):
        if value:
            properties[name] = value
    if f.lowered_from is not None:
        # Out of the gate: GitHub's own threshold must not fail a check on it either.
        properties["loweredFrom"] = f.lowered_from.label
    fingerprints: dict[str, str] = {}
    if f.line_hash:
        fingerprints["primaryLocationLineHash"] = f.line_hash
    if f.fingerprint:
        fingerprints[FINGERPRINT_KEY] = f.fingerprint
    physical = _location(f.path)
    physical["region"] = _region(f)
    out: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": f.severity.sarif_level,
        "message": {"text": f.message or f.rule_id},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": fingerprints,
    }
    if new_only:
        # What the change introduced, for SARIF viewers; code scanning computes its own alert states.
        out["baselineState"] = _baseline_state(entry)
    sup = entry.suppression
    if sup is not None and sup.kind in _SUPPRESSION_KIND:
        suppression: dict[str, Any] = {"kind": _SUPPRESSION_KIND[sup.kind], "status": "accepted"}
        if sup.reason:
            suppression["justification"] = sup.reason
        suppression["properties"] = {"aisecKind": sup.kind}
        out["suppressions"] = [suppression]
    elif any_suppressed:
        # SARIF §3.27.23: within a run, suppressions are all absent or all present.
        out["suppressions"] = []
    if sup is not None and sup.kind == "new-only":
        properties["preexisting"] = True
        properties["newOnlyReason"] = sup.reason
    out["properties"] = properties
    return out


def _entries(result: ScanResult, include_suppressed: bool) -> list[_Entry]:
    entries = [_Entry(f, None) for f in result.findings]
    if include_suppressed:
        entries += [_Entry(s.finding, s) for s in result.suppressed]
    return entries


def _priority(entry: _Entry) -> tuple[Any, ...]:
    """Which results survive a cut: reported, then pre-existing (new-only), then
    suppressed; within each, most severe first, then a stable order."""
    sup = entry.suppression
    tier = 0 if sup is None else (1 if sup.kind not in _SUPPRESSION_KIND else 2)
    return (tier, -int(entry.finding.severity), entry.finding.sort_key())


def _notification(text: str, level: str, path: str | None = None) -> dict[str, Any]:
    note: dict[str, Any] = {"level": level, "message": {"text": text}}
    if path is not None:
        note["locations"] = [{"physicalLocation": _location(path)}]
    return note


def _category_id(category: str, result: ScanResult) -> str:
    base = category.strip().strip("/") or TOOL_NAME
    if result.shard is not None:
        # Same tool + same category on one commit overwrites the earlier upload,
        # so each shard gets its own category unless the shards are merged first.
        base = f"{base}/shard-{result.shard[0]}-of-{result.shard[1]}"
    return f"{base}/"


def _serialise(log: Mapping[str, Any]) -> str:
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def gzip_size(text: str) -> int:
    """Size of the log as GitHub measures it: gzip-compressed UTF-8."""
    return len(gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0))


def _build(
    result: ScanResult,
    catalog: RuleCatalog,
    *,
    category: str = "aisec-ci",
    repo_root_uri: str | None = None,
    include_suppressed: bool = True,
    max_results: int = MAX_RESULTS,
    max_gzip_bytes: int = MAX_GZIP_BYTES,
) -> tuple[dict[str, Any], str]:
    """The SARIF log of one scan (one run), and its text as `render_sarif` gives it.

    `include_suppressed` keeps inline/baseline/config-suppressed findings as
    results carrying `suppressions`, so code scanning can record them as
    dismissed; findings hidden by new-only mode are pre-existing problems and
    stay plain results, so a PR upload does not show base-branch alerts as fixed.
    """
    entries = _entries(result, include_suppressed)
    rules = _collect_rules(result, catalog, entries)
    index = {r["id"]: i for i, r in enumerate(rules)}
    ranked = sorted(entries, key=_priority)
    order = {id(e): i for i, e in enumerate(entries)}

    def assemble(keep: int) -> dict[str, Any]:
        kept = sorted(ranked[:keep], key=lambda e: order[id(e)])
        any_suppressed = any(e.suppression is not None and e.suppression.kind in _SUPPRESSION_KIND for e in kept)
        new_only = bool(result.new_only_base)
        results = [_result(e, index[e.finding.rule_id], any_suppressed, new_only) for e in kept]
        dropped = len(entries) - keep
        notes: list[dict[str, Any]] = []
        if dropped:
            floor = ranked[keep - 1].finding.severity.label if keep else "none"
            notes.append(
                _notification(
                    f"{dropped} of {len(entries)} results were left out to stay within GitHub's upload limits "
                    f"({max_results} results, {max_gzip_bytes} bytes gzipped); the most severe were kept "
                    f"(least severe kept: {floor}). The JSON report lists every finding.",
                    "warning",
                )
            )
        notes += [_notification(n, "warning") for n in result.notes]
        skipped = result.skipped[:MAX_SKIPPED_NOTIFICATIONS]
        notes += [_notification(f"skipped: {s.reason}", "note", s.path) for s in skipped]
        if len(result.skipped) > len(skipped):
            more = len(result.skipped) - len(skipped)
            notes.append(_notification(f"{more} more skipped files are listed in the JSON report.", "note"))
        invocation: dict[str, Any] = {"executionSuccessful": True, "toolExecutionNotifications": notes}
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": TOOL_NAME,
                    "version": result.tool_version,
                    "semanticVersion": result.tool_version,
                    "informationUri": INFORMATION_URI,
                    "rules": rules,
                }
            },
            "automationDetails": {"id": _category_id(category, result)},
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }
        if repo_root_uri:
            root = repo_root_uri if repo_root_uri.endswith("/") else repo_root_uri + "/"
            run["originalUriBaseIds"] = {SRCROOT: {"uri": root}}
            invocation["workingDirectory"] = {"uri": root}
        properties: dict[str, Any] = {
            "scanners": list(result.scanners),
            "profile": result.profile,
            "byRole": result.counts_by_role(),
        }
        hidden = {k: v for k, v in result.triage.to_dict().items() if v}
        if hidden:
            properties["hidden"] = hidden
        if result.shard is not None:
            properties["shard"] = {"index": result.shard[0], "count": result.shard[1]}
        if result.new_only_base:
            properties["newOnlyBase"] = result.new_only_base
        if dropped:
            properties["truncated"] = {"droppedResults": dropped, "totalResults": len(entries)}
        run["properties"] = properties
        return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}

    keep = min(len(entries), max(0, max_results))
    log = assemble(keep)
    text = _serialise(log)
    size = gzip_size(text)
    while size > max_gzip_bytes and keep > 0:
        # Results dominate the size; scale the count down by the overshoot with a
        # margin, so this converges in a few compressions instead of a bisection.
        keep = max(0, min(keep - 1, int(keep * max_gzip_bytes / size * 0.95)))
        log = assemble(keep)
        text = _serialise(log)
        size = gzip_size(text)
    return log, text


def build_sarif(
    result: ScanResult,
    catalog: RuleCatalog,
    *,
    category: str = "aisec-ci",
    repo_root_uri: str | None = None,
    include_suppressed: bool = True,
    max_results: int = MAX_RESULTS,
    max_gzip_bytes: int = MAX_GZIP_BYTES,
) -> dict[str, Any]:
    """The SARIF log of one scan as a dict; see `_build` for the options."""
    return _build(
        result,
        catalog,
        category=category,
        repo_root_uri=repo_root_uri,
        include_suppressed=include_suppressed,
        max_results=max_results,
        max_gzip_bytes=max_gzip_bytes,
    )[0]


def render_sarif(
    result: ScanResult,
    catalog: RuleCatalog,
    *,
    category: str = "aisec-ci",
    repo_root_uri: str | None = None,
    include_suppressed: bool = True,
    max_results: int = MAX_RESULTS,
    max_gzip_bytes: int = MAX_GZIP_BYTES,
) -> str:
    """The SARIF log as JSON text; the same result always gives the same bytes."""
    return _build(
        result,
        catalog,
        category=category,
        repo_root_uri=repo_root_uri,
        include_suppressed=include_suppressed,
        max_results=max_results,
        max_gzip_bytes=max_gzip_bytes,
    )[1]
