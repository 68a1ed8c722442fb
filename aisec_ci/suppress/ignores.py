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
from typing import TYPE_CHECKING, Any

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
        """Whether the entry covers the whole finding. An `advisory` entry never covers a finding
        that lists several advisories by itself; `advisory_ignores` handles those one by one."""
        e = self.entry
        if e.advisory is not None and (
            _listed_advisories(finding) is not None or e.advisory.upper() not in _advisory_ids(finding)
        ):
            return False
        return self._matches_place(finding)

    def ignores_advisory(self, finding: Finding, ids: set[str]) -> bool:
        """Whether this `advisory` entry ignores the listed advisory with these (upper-case) ids."""
        e = self.entry
        return e.advisory is not None and e.advisory.upper() in ids and self._matches_place(finding)

    def _matches_place(self, finding: Finding) -> bool:
        e = self.entry
        if e.rule is not None and not fnmatch.fnmatchcase(finding.rule_id, e.rule):
            return False
        if e.fingerprint is not None and finding.fingerprint != e.fingerprint:
            return False
        return self.spec is None or bool(self.spec.match_file(finding.path))


def _advisory_ids(finding: Finding) -> set[str]:
    """The advisory id and aliases a finding reports (the deps scanner's `advisory_id`/`aliases`)."""
    props = finding.properties
    ids = {props.get("advisory_id"), *(props.get("aliases") or ())}
    return {str(i).upper() for i in ids if i}


def _listed_advisories(finding: Finding) -> list[dict[str, Any]] | None:
    """The advisories a dependency finding lists one by one (its `advisories` property), if any."""
    listed = finding.properties.get("advisories")
    if isinstance(listed, list) and listed and all(isinstance(a, dict) and a.get("id") for a in listed):
        return listed
    return None


def _ids_of(advisory: dict[str, Any]) -> set[str]:
    return {str(i).upper() for i in (advisory.get("id"), *(advisory.get("aliases") or ())) if i}


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

    def advisory_ignores(self, finding: Finding) -> dict[str, IgnoreEntry]:
        """For a finding that lists its advisories: advisory id -> the first active entry that ignores it."""
        listed = _listed_advisories(finding)
        entries = [c for c in self.active if c.entry.advisory is not None]
        if listed is None or not entries:
            return {}
        out: dict[str, IgnoreEntry] = {}
        for advisory in listed:
            ids = _ids_of(advisory)
            for compiled in entries:
                if compiled.ignores_advisory(finding, ids):
                    out[str(advisory["id"])] = compiled.entry
                    break
        return out


def apply_advisory_ignores(finding: Finding, matcher: IgnoreMatcher) -> tuple[Finding, str | None]:
    """Config ignores that name advisories, applied to one finding that lists several.

    Returns `(finding, reason)` when every advisory of the finding is ignored (suppress it whole,
    for these reasons), else `(finding without the ignored advisories, None)`: its severity, fix
    version and message recomputed from the rest, and the ignored ones kept in its
    `suppressed_advisories` property with their reasons. Findings without ignored advisories are
    returned as they are.
    """
    ignored = matcher.advisory_ignores(finding)
    if not ignored:
        return finding, None
    listed = _listed_advisories(finding) or []
    if len(ignored) == len(listed):
        return finding, "; ".join(dict.fromkeys(entry.reason for entry in ignored.values()))
    # Imported here: only a config that ignores some advisories of a finding needs the deps code.
    from aisec_ci.scanners.deps.package_advisories import without_advisories

    dropped = {
        adv_id: {"kind": "config", "reason": entry.reason, "ignore": entry.describe()}
        for adv_id, entry in ignored.items()
    }
    return without_advisories(finding, dropped), None


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
