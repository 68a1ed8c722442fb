"""Config-level suppression: rule settings, config ignores and the baseline.

Runs in the parent process on every finding the scanners produced (inline
comments were already applied in the workers, where the file text is at hand).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from aisec_ci.config.model import Config
from aisec_ci.findings import Finding
from aisec_ci.result import Suppressed
from aisec_ci.rules import RuleCatalog
from aisec_ci.suppress.baseline import baselined_line
from aisec_ci.suppress.ignores import IgnoreMatcher, apply_advisory_ignores, expired_ignore_findings


@dataclass
class SuppressionOutcome:
    kept: list[Finding] = field(default_factory=list)
    """Findings still reported."""
    suppressed: list[Suppressed] = field(default_factory=list)
    """Findings hidden by a config ignore or the baseline, with the reason."""
    extra_findings: list[Finding] = field(default_factory=list)
    """Findings about the configuration itself (expired ignores), fingerprinted."""


def rule_enabled(rule_id: str, config: Config, catalog: RuleCatalog | None = None) -> bool:
    """Config `enabled` wins; otherwise the rule's default (unknown rules are on)."""
    override = config.rules.get(rule_id)
    if override is not None and override.enabled is not None:
        return override.enabled
    if catalog is None:
        return True
    rule = catalog.get(rule_id)
    return rule.enabled_by_default if rule is not None else True


def apply_suppressions(
    findings: Iterable[Finding],
    *,
    config: Config,
    baseline: frozenset[str],
    today: dt.date,
    config_relpath: str | None,
    baseline_name: str | None = None,
    catalog: RuleCatalog | None = None,
) -> SuppressionOutcome:
    """Apply, in order: disabled rules (dropped, not suppressed), severity
    overrides, config ignores (kind `config`), the baseline (kind `baseline`).

    Expired ignores become `core/expired-ignore` findings in `extra_findings`;
    those pass through the rule settings only, never through ignores or the
    baseline, or a baseline could silence the reminder forever.
    `catalog` defaults to the installed registry (for rules that ship disabled).
    """
    if catalog is None:
        from aisec_ci.scanners.registry import catalog as registry_catalog

        catalog = registry_catalog()
    matcher = IgnoreMatcher(config.ignores, today)
    baseline_reason = f"in baseline {baseline_name or config.baseline or 'file'}"
    outcome = SuppressionOutcome()
    for finding in _apply_rules(findings, config, catalog):
        entry = matcher.match(finding)
        if entry is not None:
            outcome.suppressed.append(Suppressed(finding, "config", entry.reason))
            continue
        reduced, all_ignored_because = apply_advisory_ignores(finding, matcher)
        if all_ignored_because is not None:
            outcome.suppressed.append(Suppressed(finding, "config", all_ignored_because))
            continue
        if reduced is not finding:
            # Severity was recomputed from the advisories left; a configured severity still wins.
            finding = _with_override(reduced, config)
        if (finding.fingerprint and finding.fingerprint in baseline) or baselined_line(finding, baseline):
            outcome.suppressed.append(Suppressed(finding, "baseline", baseline_reason))
        else:
            outcome.kept.append(finding)
    if matcher.expired:
        location = config_relpath or (config.path.name if config.path is not None else ".aisec.yml")
        outcome.extra_findings = list(_apply_rules(expired_ignore_findings(matcher.expired, location), config, catalog))
    outcome.kept.sort(key=Finding.sort_key)
    outcome.suppressed.sort(key=lambda s: s.finding.sort_key())
    outcome.extra_findings.sort(key=Finding.sort_key)
    return outcome


def _apply_rules(findings: Iterable[Finding], config: Config, catalog: RuleCatalog) -> Iterable[Finding]:
    for finding in findings:
        if not rule_enabled(finding.rule_id, config, catalog):
            continue
        yield _with_override(finding, config)


def _with_override(finding: Finding, config: Config) -> Finding:
    override = config.rules.get(finding.rule_id)
    if override is not None and override.severity is not None and override.severity != finding.severity:
        return finding.with_severity(override.severity)
    return finding
