"""The Finding record every scanner yields, and its stable fingerprint."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from aisec_ci.severity import Severity


@dataclass(frozen=True)
class Finding:
    """One problem at one place. Scanners fill the location and message; the
    engine fills `fingerprint` (and `line_hash` for text files)."""

    rule_id: str
    """The `Rule.id` this finding belongs to."""
    severity: Severity
    """Normalised severity (rule default unless the scanner knows better, e.g. CVSS)."""
    message: str
    """One sentence a developer can act on; never contains a secret value."""
    path: str
    """Repository-relative path with `/` separators."""
    start_line: int = 1
    """1-based; findings without a line point at line 1."""
    end_line: int | None = None
    """1-based, inclusive; None means the same as start_line."""
    start_column: int = 1
    """1-based column."""
    end_column: int | None = None
    """1-based, exclusive end column, or None for the whole line."""
    snippet: str = ""
    """The offending text, redacted by the scanner where it could hold a secret."""
    key: str = ""
    """What identifies this problem inside the file independent of its line
    (e.g. `package==version:advisory`). Empty: the offending line's text is used."""
    properties: dict[str, Any] = field(default_factory=dict)
    """Scanner-specific data: package, version, fixed versions, advisories,
    secret type, model member, notebook cell index ..."""
    scanner: str = ""
    """Name of the scanner that produced it (set by the engine)."""
    fingerprint: str = ""
    """Stable id of this finding, independent of line shifts (set by the engine)."""
    line_hash: str = ""
    """GitHub's primaryLocationLineHash of the start line (text files only)."""
    role: str = ""
    """The file's role (aisec_ci.roles.Role value: source, test, docs ...), set by the pipeline."""
    profile: str = ""
    """The profile the rule belongs to (default, strict, audit), set by the pipeline."""
    confidence: str = ""
    """How sure the rule is (high, medium, low), set by the pipeline."""
    lowered_from: Severity | None = None
    """Set when the role policy lowered the finding (outside source): its severity before.
    A lowered finding never counts toward the gate. None for findings reported as they are."""

    @property
    def last_line(self) -> int:
        return self.end_line if self.end_line is not None else self.start_line

    def sort_key(self) -> tuple[Any, ...]:
        """Deterministic order: path, then position, then rule, then fingerprint."""
        return (self.path, self.start_line, self.start_column, self.rule_id, self.fingerprint)

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    @property
    def gates(self) -> bool:
        """Whether the finding may fail the gate: a finding the role policy lowered never does."""
        return self.lowered_from is None

    def evolve(self, **changes: Any) -> Finding:
        """A copy with some fields changed, for the engine's per-finding steps (owner,
        fingerprint, line hash). `dataclasses.replace` re-runs the whole constructor, which
        was a visible share of a scan with many findings; the values here are already valid."""
        unknown = changes.keys() - self.__dict__.keys()
        if unknown:
            raise TypeError(f"Finding has no field {sorted(unknown)[0]!r}")
        new = object.__new__(Finding)
        # Writing the instance dict directly is how a frozen dataclass gets its fields set.
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's finding object (a public contract, see README)."""
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.label,
            "message": self.message,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.last_line,
            "start_column": self.start_column,
            "end_column": self.end_column,
            "snippet": self.snippet,
            "scanner": self.scanner,
            "fingerprint": self.fingerprint,
            "line_hash": self.line_hash,
            "role": self.role or None,
            "profile": self.profile or None,
            "confidence": self.confidence or None,
            "lowered_from": self.lowered_from.label if self.lowered_from is not None else None,
            "properties": self.properties,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of to_dict, used by `merge` and baselines."""
        return cls(
            rule_id=str(data["rule_id"]),
            severity=Severity.parse(str(data["severity"])),
            message=str(data["message"]),
            path=str(data["path"]),
            start_line=int(data.get("start_line") or 1),
            end_line=int(data["end_line"]) if data.get("end_line") is not None else None,
            start_column=int(data.get("start_column") or 1),
            end_column=int(data["end_column"]) if data.get("end_column") is not None else None,
            snippet=str(data.get("snippet") or ""),
            properties=dict(data.get("properties") or {}),
            scanner=str(data.get("scanner") or ""),
            fingerprint=str(data.get("fingerprint") or ""),
            line_hash=str(data.get("line_hash") or ""),
            role=str(data.get("role") or ""),
            profile=str(data.get("profile") or ""),
            confidence=str(data.get("confidence") or ""),
            lowered_from=Severity.parse(str(data["lowered_from"])) if data.get("lowered_from") else None,
        )


def normalise_line(text: str) -> str:
    """Whitespace-insensitive form of a line, so re-indenting keeps fingerprints."""
    return "".join(text.split())


def assign_fingerprints(findings: Iterable[Finding], lines: list[str] | None) -> list[Finding]:
    """Give every finding of one file a fingerprint.

    The fingerprint hashes rule id, path and the finding's key (or, without a
    key, the normalised text of its start line), plus an occurrence counter so
    two identical problems in one file stay distinct. Line numbers are not
    hashed: inserting lines above a finding keeps its fingerprint.
    """
    ordered = sorted(findings, key=lambda f: (f.path, f.start_line, f.start_column, f.rule_id, f.key, f.message))
    seen: dict[tuple[str, str, str], int] = {}
    out: list[Finding] = []
    for f in ordered:
        if f.fingerprint:
            out.append(f)
            continue
        key = f.key
        if not key:
            if lines is not None and 1 <= f.start_line <= len(lines):
                key = "line:" + normalise_line(lines[f.start_line - 1])
            else:
                key = "msg:" + f.message
        ident = (f.rule_id, f.path, key)
        n = seen.get(ident, 0)
        seen[ident] = n + 1
        digest = hashlib.sha256("\0".join((f.rule_id, f.path, key, str(n))).encode("utf-8", "surrogatepass"))
        out.append(f.evolve(fingerprint=digest.hexdigest()[:32]))
    return out
