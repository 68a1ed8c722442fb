"""Config ignores: `ignores:` entries of `.aisec.yml` matched against findings.

An entry matches when every field it sets matches: the rule id by fnmatch
glob, the path by a gitignore-style glob, the fingerprint exactly. An entry
whose `until` date has passed suppresses nothing and is reported instead, so
a temporary exception cannot quietly become permanent.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aisec_ci.config.model import IgnoreEntry
from aisec_ci.core_rules import EXPIRED_IGNORE
from aisec_ci.findings import Finding, assign_fingerprints

if TYPE_CHECKING:
    import pathspec


def is_expired(entry: IgnoreEntry, today: dt.date) -> bool:
    """`until` is the last day the entry applies."""
    return entry.until is not None and entry.until < today


@dataclass(frozen=True)
class _CompiledIgnore:
    entry: IgnoreEntry
    spec: pathspec.GitIgnoreSpec | None

    def matches(self, finding: Finding) -> bool:
        e = self.entry
        if e.rule is not None and not fnmatch.fnmatchcase(finding.rule_id, e.rule):
            return False
        if e.fingerprint is not None and finding.fingerprint != e.fingerprint:
            return False
        if e.advisory is not None and e.advisory.upper() not in _advisory_ids(finding):
            return False
        return self.spec is None or bool(self.spec.match_file(finding.path))


def _advisory_ids(finding: Finding) -> set[str]:
    """The advisory id and aliases a finding reports (the deps scanner's `advisory_id`/`aliases`)."""
    props = finding.properties
    ids = {props.get("advisory_id"), *(props.get("aliases") or ())}
    return {str(i).upper() for i in ids if i}


class IgnoreMatcher:
    """The entries of one config, split into active and expired as of `today`."""

    def __init__(self, entries: Iterable[IgnoreEntry], today: dt.date) -> None:
        self.active: list[_CompiledIgnore] = []
        self.expired: list[IgnoreEntry] = []
        for entry in entries:
            if is_expired(entry, today):
                self.expired.append(entry)
                continue
            spec = None
            if entry.path is not None:
                import pathspec  # only a config with path ignores needs it

                spec = pathspec.GitIgnoreSpec.from_lines([entry.path])
            self.active.append(_CompiledIgnore(entry, spec))

    def match(self, finding: Finding) -> IgnoreEntry | None:
        """The first active entry (in file order) that covers `finding`."""
        for compiled in self.active:
            if compiled.matches(finding):
                return compiled.entry
        return None


def expired_ignore_findings(expired: Iterable[IgnoreEntry], config_relpath: str) -> list[Finding]:
    """One `core/expired-ignore` finding per expired entry, at its line in the config file."""
    out = []
    for entry in expired:
        assert entry.until is not None
        out.append(
            Finding(
                rule_id=EXPIRED_IGNORE.id,
                severity=EXPIRED_IGNORE.severity,
                message=(
                    f"The ignore for {entry.describe()} was valid until {entry.until.isoformat()} and has expired; "
                    "the findings it suppressed are reported again."
                ),
                path=config_relpath,
                start_line=max(entry.line, 1),
                # Keyed by what the entry says, not its line, so editing the
                # config above it keeps the fingerprint.
                key=f"expired-ignore:{entry.rule}|{entry.path}|{entry.fingerprint}|{entry.until.isoformat()}"
                + (f"|{entry.advisory}" if entry.advisory is not None else ""),
                scanner="core",
            )
        )
    return assign_fingerprints(out, None)
