"""Combine JSON reports of `--shard i/n` runs into the result an unsharded
scan gives (the GitHub Actions matrix is how a large monorepo scales out)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from aisec_ci.errors import UsageError
from aisec_ci.findings import Finding
from aisec_ci.result import ScanResult, Suppressed
from aisec_ci.severity import Severity
from aisec_ci.triage import TriageCounts
from aisec_ci.workspace.files import SkippedFile
from aisec_ci.workspace.reading import UnreadableFile, read_bounded

MAX_REPORT_BYTES = 1024 * 1024 * 1024
"""A shard's JSON report: generous (every finding of a huge monorepo), but never a device or an endless file."""


def load_result(path: Path) -> ScanResult:
    try:
        data = json.loads(read_bounded(path, MAX_REPORT_BYTES).decode("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UnreadableFile as exc:
        raise UsageError(f"{path}: not read: it {exc.reason}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable aisec-ci JSON report ({exc})") from None
    if not isinstance(data, dict) or (data.get("tool") or {}).get("name") != "aisec-ci":
        raise UsageError(f"{path}: not an aisec-ci JSON report (write one with --format json)")
    try:
        return ScanResult.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: malformed aisec-ci JSON report ({exc})") from None


def merge_results(
    results: Sequence[ScanResult], *, names: Sequence[str], fail_on: Severity | None, fail_on_set: bool
) -> ScanResult:
    """Union of findings, suppressions and skipped files; counts re-derived.

    Shards must be complete (1..n, each once) and from one tool version with one
    scanner set: a missing shard would silently drop findings, so it is an error.
    """
    if not results:
        raise UsageError("merge: no reports given")
    versions = {r.tool_version for r in results}
    if len(versions) > 1:
        raise UsageError(f"merge: reports come from different aisec-ci versions ({', '.join(sorted(versions))})")
    sharded = [(n, r) for n, r in zip(names, results, strict=True) if r.shard is not None]
    if sharded:
        if len(sharded) != len(results):
            raise UsageError("merge: mix of sharded and unsharded reports")
        counts = {r.shard[1] for _, r in sharded if r.shard}
        if len(counts) != 1:
            raise UsageError(f"merge: reports come from different shard counts ({sorted(counts)})")
        count = counts.pop()
        seen: dict[int, str] = {}
        for name, r in sharded:
            assert r.shard is not None
            if r.shard[0] in seen:
                raise UsageError(f"merge: shard {r.shard[0]}/{count} given twice ({seen[r.shard[0]]} and {name})")
            seen[r.shard[0]] = name
        missing = [str(i) for i in range(1, count + 1) if i not in seen]
        if missing:
            raise UsageError(f"merge: missing shard(s) {', '.join(missing)} of {count}")
        if len({tuple(r.scanners) for r in results}) > 1:
            raise UsageError("merge: shards ran different scanners")
        commits = sorted({r.shard_commit for r in results if r.shard_commit})
        if len(commits) > 1:
            raise UsageError(
                "merge: shards scanned different commits (" + ", ".join(c[:12] for c in commits) + "); "
                "merge the shards of one run"
            )
        bases = {r.new_only_base for r in results}
        if len(bases) > 1:
            raise UsageError("merge: shards used different new-only base revisions")
    profiles = {r.profile for r in results}
    if len(profiles) > 1:
        raise UsageError(f"merge: reports come from different profiles ({', '.join(sorted(profiles))})")
    if not fail_on_set:
        gates = {r.fail_on for r in results}
        if len(gates) > 1:
            raise UsageError("merge: reports disagree on fail-on; pass --fail-on")
        fail_on = gates.pop()

    findings: dict[str, Finding] = {}
    suppressed: dict[str, Suppressed] = {}
    skipped: set[SkippedFile] = set()
    notes: list[str] = []
    by_kind: dict[str, int] = {}
    triage = TriageCounts()
    for r in results:
        triage.add(r.triage)
        for f in r.findings:
            findings.setdefault(f.fingerprint, f)
        for s in r.suppressed:
            suppressed.setdefault(s.finding.fingerprint, s)
        skipped.update(r.skipped)
        for n in r.notes:
            if n not in notes:
                notes.append(n)
        for k, v in r.files_by_kind.items():
            by_kind[k] = by_kind.get(k, 0) + v
    return ScanResult(
        findings=list(findings.values()),
        suppressed=list(suppressed.values()),
        skipped=list(skipped),
        scanners=sorted({s for r in results for s in r.scanners}),
        files_scanned=sum(r.files_scanned for r in results),
        files_by_kind=by_kind,
        fail_on=fail_on,
        shard=None,
        new_only_base=results[0].new_only_base,
        notes=notes,
        tool_version=results[0].tool_version,
        profile=results[0].profile,
        triage=triage,
    )
