"""Terminal report: findings grouped by severity, then skipped files, suppressions,
notes, and one closing line with the totals and the gate verdict.

Paths, messages and snippets come from scanned files; control characters are
shown escaped so a crafted filename cannot move the cursor, clear the screen
or forge a "gate: passed" line with ANSI sequences.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from collections.abc import Mapping
from typing import TextIO

from aisec_ci.findings import Finding
from aisec_ci.report.hidden import hidden_lines, role_counts_line, shown_findings
from aisec_ci.result import ScanResult
from aisec_ci.rules import RuleCatalog
from aisec_ci.severity import Severity

MAX_SNIPPET_LINES = 3
MAX_SNIPPET_WIDTH = 160
SKIPPED_PATHS_PER_REASON = 3
SKIPPED_REASONS = 10
PER_RULE_LISTED = 5
"""Past this many findings of one rule at one severity, the rest are a count with their files."""
PATHS_IN_GROUP = 3

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_GREEN = "\x1b[32m"
_RED = "\x1b[31m"
_COLOUR = {
    Severity.CRITICAL: "\x1b[1;97;41m",
    Severity.HIGH: "\x1b[1;31m",
    Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m",
    Severity.INFO: "\x1b[2m",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def use_color(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour policy: NO_COLOR (any non-empty value) disables, FORCE_COLOR
    (non-empty) enables, otherwise only a TTY that is not TERM=dumb gets colour."""
    if env.get("NO_COLOR", ""):
        return False
    if env.get("FORCE_COLOR", ""):
        return True
    if env.get("TERM", "") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        # Closed or file-like streams without a terminal behind them.
        return False


def _clean(text: str) -> str:
    text = text.replace("\t", " ").replace("\r\n", "\n")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _one_line(text: str) -> str:
    return _clean(text).replace("\n", " ")


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text


def _finding_lines(f: Finding, style: _Style) -> list[str]:
    where = f"{_one_line(f.path)}:{f.start_line}:{f.start_column}"
    tag = ""
    if f.role and f.role != "source":
        lowered = f", lowered from {f.lowered_from.label}" if f.lowered_from not in (None, f.severity) else ""
        tag = style(f"[{f.role}{lowered}] ", _DIM)
    lines = [f"  {style(where, _BOLD)}  {style(_one_line(f.rule_id), _DIM)}  {tag}{_one_line(f.message)}"]
    if f.snippet:
        snippet = textwrap.dedent(_clean(f.snippet)).strip("\n").split("\n")
        for line in snippet[:MAX_SNIPPET_LINES]:
            cut = line if len(line) <= MAX_SNIPPET_WIDTH else line[: MAX_SNIPPET_WIDTH - 1] + "…"
            lines.append(f"      {style(cut, _DIM)}")
        if len(snippet) > MAX_SNIPPET_LINES:
            lines.append(f"      {style('…', _DIM)}")
    return lines


def _severity_section(items: list[Finding], style: _Style) -> list[str]:
    """The findings of one severity in path order; a rule with more than a handful has its
    first few listed and the rest summed up in one line, so one noisy rule cannot bury the others."""
    per_rule: dict[str, list[Finding]] = defaultdict(list)
    for f in items:
        per_rule[f.rule_id].append(f)
    listed = {id(f) for group in per_rule.values() for f in group[:PER_RULE_LISTED]}
    lines: list[str] = []
    for f in items:
        if id(f) in listed:
            lines += _finding_lines(f, style)
    for rule_id, group in sorted(per_rule.items()):
        rest = group[PER_RULE_LISTED:]
        if not rest:
            continue
        paths = sorted({f.path for f in rest})
        sample = ", ".join(_one_line(p) for p in paths[:PATHS_IN_GROUP])
        more = f", … {len(paths) - PATHS_IN_GROUP} more" if len(paths) > PATHS_IN_GROUP else ""
        lines.append(
            f"  {style(f'… {len(rest)} more {_one_line(rule_id)}', _BOLD)} in {_plural(len(paths), 'file')}: "
            f"{sample}{more} (all of them: --format json)"
        )
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def gate_line(result: ScanResult) -> str:
    """The verdict alone, e.g. `gate: FAILED — 3 findings at or above high`."""
    if result.fail_on is None:
        return "gate: off (fail-on: none)"
    if result.passed:
        return f"gate: passed (fail-on: {result.fail_on.label})"
    return f"gate: FAILED — {_plural(len(result.failing), 'finding')} at or above {result.fail_on.label}"


def render_text(result: ScanResult, catalog: RuleCatalog, *, color: bool) -> str:
    """The terminal report; ANSI colour only when `color` is true."""
    style = _Style(color)
    out: list[str] = []
    if result.new_only_base:
        out += [f"New findings relative to {_one_line(result.new_only_base)}.", ""]
    grouped: dict[Severity, list[Finding]] = defaultdict(list)
    for f in shown_findings(result):
        grouped[f.severity].append(f)
    for sev in sorted(grouped, reverse=True):
        items = grouped[sev]
        out.append(style(f"{sev.label.upper()} ({len(items)})", _COLOUR[sev]))
        out += _severity_section(items, style)
        out.append("")

    if result.skipped:
        by_reason: dict[str, list[str]] = defaultdict(list)
        for s in result.skipped:
            by_reason[s.reason].append(s.path)
        out.append(f"Skipped {_plural(len(result.skipped), 'file')}:")
        groups = sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        for reason, paths in groups[:SKIPPED_REASONS]:
            sample = ", ".join(_one_line(p) for p in paths[:SKIPPED_PATHS_PER_REASON])
            more = f", … {len(paths) - SKIPPED_PATHS_PER_REASON} more" if len(paths) > SKIPPED_PATHS_PER_REASON else ""
            out.append(f"  {len(paths):>5}  {_one_line(reason)}: {sample}{more}")
        if len(groups) > SKIPPED_REASONS:
            rest = sum(len(paths) for _, paths in groups[SKIPPED_REASONS:])
            out.append(f"  {rest:>5}  for {len(groups) - SKIPPED_REASONS} other reasons (see the JSON report)")
        out.append("")

    suppressed = {k: v for k, v in result.suppressed_counts().items() if v}
    if suppressed:
        parts = ", ".join(f"{v} {k}" for k, v in suppressed.items())
        out += [f"Suppressed {_plural(sum(suppressed.values()), 'finding')}: {parts}", ""]

    hidden = hidden_lines(result)
    by_role = role_counts_line(result)
    if by_role:
        out += [by_role, ""]
    if hidden:
        out.append("Not shown as-is:")
        out += [f"  - {line}" for line in hidden]
        out.append("")

    if result.notes:
        out.append("Notes:")
        out += [f"  - {_one_line(n)}" for n in result.notes]
        out.append("")

    counts = {k: v for k, v in result.counts_by_severity().items() if v}
    breakdown = f" ({', '.join(f'{v} {k}' for k, v in counts.items())})" if counts else ""
    totals = f"{_plural(len(result.findings), 'finding')}{breakdown} in {_plural(result.files_scanned, 'file')}"
    if result.shard is not None:
        totals += f" (shard {result.shard[0]}/{result.shard[1]})"
    verdict = gate_line(result)
    verdict_style = _GREEN if result.passed else _RED
    out.append(f"{totals} · {style(verdict, _BOLD + verdict_style)}")
    return "\n".join(out) + "\n"
