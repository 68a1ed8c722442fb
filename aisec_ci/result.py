"""ScanResult: what the pipeline hands to every report and to the gate.

Its JSON form (`to_dict`) is the public JSON report format documented in the
README, and `merge` rebuilds results from it, so the two must round-trip.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aisec_ci import __version__
from aisec_ci.findings import Finding
from aisec_ci.severity import Severity
from aisec_ci.triage import TriageCounts
from aisec_ci.workspace.files import SkippedFile

if TYPE_CHECKING:
    from aisec_ci.cache import CacheStats

JSON_SCHEMA_VERSION = 2
"""2 added per finding `role`, `profile`, `confidence` and `lowered_from`, and at the top
`profile`, `summary.by_role` and `summary.hidden` (see README, "JSON report")."""
SUPPRESSION_KINDS = ("inline", "baseline", "config", "new-only")


@dataclass(frozen=True)
class Suppressed:
    """A finding that was hidden, by what, and why."""

    finding: Finding
    kind: str
    """inline, baseline, config, or new-only (present in the base commit)."""
    reason: str
    in_base: bool | None = None
    """New-only mode: whether the base revision's scan had this finding too (always
    true for kind new-only); None when no base was compared."""

    def to_dict(self) -> dict[str, Any]:
        d = self.finding.to_dict()
        d["suppression"] = {"kind": self.kind, "reason": self.reason}
        if self.in_base is not None:
            d["suppression"]["in_base"] = self.in_base
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suppressed:
        sup = data.get("suppression") or {}
        in_base = sup.get("in_base")
        return cls(
            Finding.from_dict(data),
            str(sup.get("kind", "")),
            str(sup.get("reason", "")),
            in_base if isinstance(in_base, bool) else None,
        )


@dataclass
class ScanResult:
    """Everything a report needs. Lists are kept sorted (determinism)."""

    findings: list[Finding]
    """Reported findings: after suppression and selection."""
    suppressed: list[Suppressed] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    scanners: list[str] = field(default_factory=list)
    """Scanners that ran (their rules are listed in SARIF)."""
    files_scanned: int = 0
    files_by_kind: dict[str, int] = field(default_factory=dict)
    fail_on: Severity | None = Severity.HIGH
    shard: tuple[int, int] | None = None
    """(index, count), 1-based, when this is one shard of a scan."""
    new_only_base: str | None = None
    """The base revision when only new findings are reported."""
    notes: list[str] = field(default_factory=list)
    """Warnings for the reader (truncation, expired ignores, degraded sources)."""
    tool_version: str = __version__
    profile: str = "default"
    """The profile the scan reported (default, strict, audit)."""
    triage: TriageCounts = field(default_factory=TriageCounts)
    """Findings left out by the profile, and lowered or left out by the role policy."""
    min_severity: Severity | None = None
    """Display only: the lowest severity the text and markdown reports list."""
    shard_commit: str | None = None
    """For a shard of a git checkout: the commit it scanned (merge refuses to mix commits)."""
    cache: CacheStats | None = field(default=None, compare=False, repr=False)
    """What the result cache saved, for the progress line; never part of a report."""

    def __post_init__(self) -> None:
        self.sort()

    def sort(self) -> None:
        self.findings.sort(key=Finding.sort_key)
        self.suppressed.sort(key=lambda s: s.finding.sort_key())
        self.skipped.sort(key=lambda s: (s.path, s.reason))
        self.notes = sorted(dict.fromkeys(self.notes))

    # --- gate -------------------------------------------------------------
    @property
    def failing(self) -> list[Finding]:
        """Findings at or above the threshold; empty when the gate is off."""
        if self.fail_on is None:
            return []
        threshold = self.fail_on
        return [f for f in self.findings if f.severity >= threshold and f.gates]

    @property
    def passed(self) -> bool:
        return not self.failing

    # --- counts -----------------------------------------------------------
    def counts_by_severity(self) -> dict[str, int]:
        c = Counter(f.severity for f in self.findings)
        return {s.label: c.get(s, 0) for s in sorted(Severity, reverse=True)}

    def counts_by_scanner(self) -> dict[str, int]:
        c = Counter(f.scanner or f.rule_id.split("/", 1)[0] for f in self.findings)
        return dict(sorted(c.items()))

    def counts_by_role(self) -> dict[str, int]:
        c = Counter(f.role or "source" for f in self.findings)
        return dict(sorted(c.items()))

    def suppressed_counts(self) -> dict[str, int]:
        c = Counter(s.kind for s in self.suppressed)
        return {k: c.get(k, 0) for k in SUPPRESSION_KINDS}

    # --- JSON -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": JSON_SCHEMA_VERSION,
            "tool": {"name": "aisec-ci", "version": self.tool_version},
            "scanners": list(self.scanners),
            "shard": self._shard_dict(),
            "new_only_base": self.new_only_base,
            "profile": self.profile,
            "gate": {
                "fail_on": self.fail_on.label if self.fail_on is not None else "none",
                "passed": self.passed,
                "failing": len(self.failing),
            },
            "summary": {
                "findings": len(self.findings),
                "by_severity": self.counts_by_severity(),
                "by_scanner": self.counts_by_scanner(),
                "by_role": self.counts_by_role(),
                "hidden": self.triage.to_dict(),
                "suppressed": self.suppressed_counts(),
                "files_scanned": self.files_scanned,
                "files_skipped": len(self.skipped),
                "files_by_kind": dict(sorted(self.files_by_kind.items())),
            },
            "findings": [f.to_dict() for f in self.findings],
            "suppressed": [s.to_dict() for s in self.suppressed],
            "skipped": [s.to_dict() for s in self.skipped],
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        """The JSON report as written to a file: one line, UTF-8 kept as is.

        No indent: Python's C encoder only runs without one, and a large report then takes a
        fraction of the time (`jq .` pretty-prints it)."""
        return json.dumps(self.to_dict(), ensure_ascii=False) + "\n"

    def _shard_dict(self) -> dict[str, Any] | None:
        if self.shard is None:
            return None
        out: dict[str, Any] = {"index": self.shard[0], "count": self.shard[1]}
        if self.shard_commit:
            out["commit"] = self.shard_commit
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanResult:
        gate = data.get("gate") or {}
        fail_on_text = str(gate.get("fail_on", "high"))
        shard = data.get("shard")
        summary = data.get("summary") or {}
        return cls(
            findings=[Finding.from_dict(d) for d in data.get("findings", [])],
            suppressed=[Suppressed.from_dict(d) for d in data.get("suppressed", [])],
            skipped=[SkippedFile(str(d["path"]), str(d["reason"])) for d in data.get("skipped", [])],
            scanners=[str(s) for s in data.get("scanners", [])],
            files_scanned=int(summary.get("files_scanned", 0)),
            files_by_kind={str(k): int(v) for k, v in (summary.get("files_by_kind") or {}).items()},
            fail_on=None if fail_on_text == "none" else Severity.parse(fail_on_text),
            shard=(int(shard["index"]), int(shard["count"])) if shard else None,
            new_only_base=data.get("new_only_base"),
            notes=[str(n) for n in data.get("notes", [])],
            tool_version=str((data.get("tool") or {}).get("version", __version__)),
            profile=str(data.get("profile") or "default"),
            triage=TriageCounts.from_dict(summary.get("hidden")),
            shard_commit=str(shard["commit"]) if shard and shard.get("commit") else None,
        )
