"""The sentences every human-facing report carries about what it does not show as-is: findings
of wider profiles, findings the role policy lowered or left out, and findings below the display
threshold, each with the way to see them. Plain text: callers escape for their format."""

from __future__ import annotations

from aisec_ci.findings import Finding
from aisec_ci.result import ScanResult
from aisec_ci.triage import profile_rank


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _by(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {role}" for role, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def shown_findings(result: ScanResult) -> list[Finding]:
    """The findings a text or markdown report lists: at or above `min_severity`."""
    if result.min_severity is None:
        return result.findings
    floor = result.min_severity
    return [f for f in result.findings if f.severity >= floor]


def hidden_lines(result: ScanResult) -> list[str]:
    """One sentence per kind of finding the report leaves out or lowers."""
    lines: list[str] = []
    t = result.triage
    for profile, n in sorted(t.out_of_profile.items(), key=lambda kv: profile_rank(kv[0])):
        if n:
            lines.append(f"{_plural(n, 'more finding')} in the {profile} profile (see them with --profile {profile}).")
    lowered = sum(t.lowered.values())
    if lowered:
        lines.append(
            f"{_plural(lowered, 'finding')} outside source files lowered to low and kept out of the gate "
            f"({_by(t.lowered)}; report one role as-is with `roles: <role>: policy: report` in .aisec.yml)."
        )
    skipped = sum(t.skipped.values())
    if skipped:
        lines.append(
            f"{_plural(skipped, 'finding')} left out by the role policy ({_by(t.skipped)}; "
            "see them with `roles: <role>: policy: report` or `lower`)."
        )
    if result.min_severity is not None:
        below = len(result.findings) - len(shown_findings(result))
        if below:
            lines.append(
                f"{_plural(below, 'finding')} below {result.min_severity.label} not listed (--min-severity); "
                "the gate and the SARIF/JSON reports include them."
            )
    return lines


def role_counts_line(result: ScanResult) -> str:
    """`By role: 12 source, 40 test, 3 docs` or "" when every finding is in source."""
    counts = result.counts_by_role()
    if not counts or set(counts) == {"source"}:
        return ""
    return "By role: " + _by(counts) + "."
