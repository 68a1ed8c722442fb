"""Markdown report for PR comments and job summaries.

GitHub refuses a comment body over 65,536 characters, so the report is built
against a size budget: the verdict and counts always fit, then the top
findings, skipped files and notes, and the full per-severity listings take
what is left. Anything cut is counted in a closing note.

Every path and message is scanner input and, for paths, attacker-chosen (a PR
can add a file named `x|<img src=...>.py`), so all of it is escaped before it
reaches a table cell, a link or an HTML block.
"""

from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import quote

from aisec_ci.findings import Finding
from aisec_ci.report.hidden import hidden_lines, role_counts_line, shown_findings
from aisec_ci.result import ScanResult
from aisec_ci.rules import RuleCatalog
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import path_bytes

DEFAULT_MAX_CHARS = 65_000
TOP_FINDINGS = 15
MAX_MESSAGE = 300
MAX_PATHS_PER_REASON = 20
MAX_NOTE = 1_000
MAX_REASONS = 25
MAX_NOTES = 50

_ICON = {
    Severity.CRITICAL: "🟥",
    Severity.HIGH: "🟧",
    Severity.MEDIUM: "🟨",
    Severity.LOW: "🟦",
    Severity.INFO: "⬜",
}
# Punctuation that opens inline markdown inside one line (code, emphasis, links,
# strikethrough) or ends a table cell; `(`, `!` and `:` only matter after `]`.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
# A line starting like a list item or an ordered-list number would nest a list.
_LEADING_MARKER = re.compile(r"^(\d*)([-+.)#=])")
# `@name` at a word start pings a user or team in a PR comment.
_MENTION = re.compile(r"(?<![\w@])@(?=[\w-])")


def _flatten(text: str, limit: int | None) -> str:
    flat = _CONTROL.sub(" ", text).strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat


def _escape_inline(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # A zero-width space after `@` keeps the text readable but not a mention.
    return _MENTION.sub("@\u200b", text)


def escape(text: str, limit: int | None = None) -> str:
    """Text safe inside a table cell or a link label: one line, no HTML, no markdown syntax."""
    return _LEADING_MARKER.sub(r"\1\\\2", _escape_inline(_flatten(text, limit)))


# A backslash or pipe inside a code span interacts with table-cell splitting in
# ways renderers disagree on, so such spans are escaped as plain text instead.
_CODE_SPAN = re.compile(r"`([^`\\|]+)`")


def escape_message(text: str, limit: int | None = None) -> str:
    """Like `escape`, but balanced `code spans` in scanner messages stay code.

    Code span content is literal in markdown (no HTML, no emphasis, no
    mentions), so it needs no escaping as long as it holds no pipe or backslash.
    """
    flat = _flatten(text, limit)
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(flat):
        out.append(_escape_inline(flat[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_escape_inline(flat[pos:]))
    return _LEADING_MARKER.sub(r"\1\\\2", "".join(out))


def _size(text: str) -> int:
    # UTF-8 bytes are never fewer than characters, so staying under the budget in
    # bytes satisfies GitHub however it counts (the unit is undocumented).
    return len(text.encode("utf-8"))


def _location_cell(f: Finding, repo_url: str | None, ref: str | None) -> str:
    label = escape(f"{f.path}:{f.start_line}")
    if repo_url and ref:
        path = quote(path_bytes(f.path), safe="/")
        url = f"{repo_url.rstrip('/')}/blob/{quote(ref, safe='/')}/{path}#L{max(1, f.start_line)}"
        return f"[{label}]({url})"
    return label


def _rule_cell(rule_id: str, catalog: RuleCatalog) -> str:
    rule = catalog.get(rule_id)
    label = escape(rule_id)
    return f"[{label}]({rule.help_uri})" if rule is not None else label


def _row(f: Finding, catalog: RuleCatalog, repo_url: str | None, ref: str | None, *, severity: bool) -> str:
    cells = []
    if severity:
        cells.append(f"{_ICON[f.severity]} {f.severity.label}")
    role = f"\\[{escape(f.role)}\\] " if f.role and f.role != "source" else ""
    cells += [
        _rule_cell(f.rule_id, catalog),
        _location_cell(f, repo_url, ref),
        role + escape_message(f.message, MAX_MESSAGE),
    ]
    return "| " + " | ".join(cells) + " |\n"


def _verdict(result: ScanResult) -> tuple[str, str]:
    if result.fail_on is None:
        return "✅", "passed (gate off: fail-on none)"
    if result.passed:
        return "✅", f"passed (fail-on: {result.fail_on.label})"
    n = len(result.failing)
    noun = "finding" if n == 1 else "findings"
    return "❌", f"failed — {n} {noun} at or above {result.fail_on.label}"


def _head(result: ScanResult, title: str) -> str:
    icon, verdict = _verdict(result)
    lines = [f"## {icon} {escape(title)}: {verdict}", ""]
    scope = []
    if result.new_only_base:
        scope.append(f"Showing new findings relative to **{escape(result.new_only_base, 80)}**.")
    if result.shard is not None:
        scope.append(f"Shard {result.shard[0]} of {result.shard[1]}.")
    scanners = ", ".join(escape(s) for s in result.scanners) or "none"
    scope.append(
        f"{len(result.findings)} findings in {result.files_scanned} scanned files "
        f"({len(result.skipped)} skipped); scanners: {scanners}."
    )
    lines += [" ".join(scope), ""]
    lines += ["| Severity | Findings |", "|:--|--:|"]
    for label, count in result.counts_by_severity().items():
        sev = Severity.parse(label)
        lines.append(f"| {_ICON[sev]} {label} | {count} |")
    lines.append("")
    by_scanner = result.counts_by_scanner()
    if by_scanner:
        lines += ["| Scanner | Findings |", "|:--|--:|"]
        lines += [f"| {escape(name)} | {count} |" for name, count in by_scanner.items()]
        lines.append("")
    wider = [(p, n) for p, n in result.triage.to_dict()["out_of_profile"].items() if n]
    if wider or result.profile != "default":
        more = "".join(f" · {n} more in {escape(p)}" for p, n in wider)
        lines += [f"Profile: **{escape(result.profile)}** ({len(result.findings)} findings){more}.", ""]
    by_role = role_counts_line(result)
    if by_role:
        lines += [escape(by_role), ""]
    suppressed = {k: v for k, v in result.suppressed_counts().items() if v}
    if suppressed:
        parts = ", ".join(f"{count} {escape(kind)}" for kind, count in suppressed.items())
        lines += [f"Suppressed: {sum(suppressed.values())} ({parts}).", ""]
    hidden = hidden_lines(result)
    if hidden:
        lines += [f"- {escape_message(line)}" for line in hidden] + [""]
    return "\n".join(lines) + "\n"


def _details(summary: str, body: str) -> str:
    # The blank line after <summary> is what makes GitHub render markdown inside.
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n</details>\n\n"


def _skipped_section(result: ScanResult) -> str:
    if not result.skipped:
        return ""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for s in result.skipped:
        by_reason[s.reason].append(s.path)
    lines = []
    groups = sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for reason, paths in groups[:MAX_REASONS]:
        # Plain escaped text, not code spans: escapes are not decoded inside code spans.
        shown = ", ".join(escape(p, 200) for p in paths[:MAX_PATHS_PER_REASON])
        more = f" and {len(paths) - MAX_PATHS_PER_REASON} more" if len(paths) > MAX_PATHS_PER_REASON else ""
        lines.append(f"- **{escape(reason, 200)}** ({len(paths)}): {shown}{more}")
    if len(groups) > MAX_REASONS:
        rest = sum(len(paths) for _, paths in groups[MAX_REASONS:])
        lines.append(f"- {rest} more files skipped for {len(groups) - MAX_REASONS} other reasons")
    return _details(f"Skipped files ({len(result.skipped)})", "\n".join(lines) + "\n")


def _notes_section(result: ScanResult) -> str:
    if not result.notes:
        return ""
    lines = [f"- {escape(n, MAX_NOTE)}" for n in result.notes[:MAX_NOTES]]
    if len(result.notes) > MAX_NOTES:
        lines.append(f"- … {len(result.notes) - MAX_NOTES} more notes in the JSON report")
    body = "\n".join(lines) + "\n"
    return _details(f"Notes ({len(result.notes)})", body)


def _gate_first(findings: list[Finding], result: ScanResult) -> list[Finding]:
    """What fails the gate first, then the rest, most severe first within each."""
    failing = {id(f) for f in result.failing}
    return sorted(findings, key=lambda f: (id(f) not in failing, -int(f.severity), f.sort_key()))


def render_markdown(
    result: ScanResult,
    catalog: RuleCatalog,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    repo_url: str | None = None,
    ref: str | None = None,
    title: str = "aisec-ci",
) -> str:
    """The report as GitHub-flavoured markdown, never longer than `max_chars`
    (counted in UTF-8 bytes, which bounds the character count as well)."""
    listed = shown_findings(result)
    total = len(listed)
    ranked = _gate_first(listed, result)
    n_failing = len(result.failing)
    title_top = "### Top new findings" if result.new_only_base else "### Top findings"
    if n_failing:
        title_top += f" ({n_failing} failing the gate, listed first)"
    top_header = f"{title_top}\n\n| Severity | Rule | Location | Message |\n|:--|:--|:--|:--|\n"
    detail_header = "| Rule | Location | Message |\n|:--|:--|:--|\n"
    shown: set[int] = set()

    head = _head(result, title)
    skipped = _skipped_section(result)
    notes = _notes_section(result)
    # Worst case for the closing note; reserved up front so adding it never overflows.
    footer_reserve = _size(f"\n> … {total} more findings not shown; see the SARIF/JSON report.\n") + 2
    budget = max_chars - footer_reserve - _size(head)

    parts: list[str] = [head]
    if budget < 0:
        # Even the counts do not fit a tiny budget: keep the verdict line alone.
        parts = [head.split("\n", 1)[0] + "\n"]
        budget = max_chars - footer_reserve - _size(parts[0])

    top_rows: list[str] = []
    if ranked and budget > _size(top_header):
        used = _size(top_header)
        for i, f in enumerate(ranked[:TOP_FINDINGS]):
            row = _row(f, catalog, repo_url, ref, severity=True)
            if used + _size(row) > budget:
                break
            top_rows.append(row)
            shown.add(i)
            used += _size(row)
        if top_rows:
            parts.append(top_header + "".join(top_rows) + "\n")
            budget -= used + 1

    for section in (skipped, notes):
        if section and _size(section) <= budget:
            parts.append(section)
            budget -= _size(section)

    # The full listing, most severe first; on overflow it is cut at a row boundary.
    detail_parts: list[str] = []
    by_severity: dict[Severity, list[tuple[int, Finding]]] = defaultdict(list)
    for i, f in enumerate(ranked):
        by_severity[f.severity].append((i, f))
    # When the top table already lists everything, a second listing only adds noise.
    complete = True
    if len(top_rows) == total:
        by_severity.clear()
    for sev in sorted(by_severity, reverse=True):
        items = by_severity[sev]
        summary = f"{_ICON[sev]} {sev.label.capitalize()} ({len(items)})"
        # Sized with the longer "…, N shown" label a cut section gets.
        frame = _size(_details(f"{summary}, {len(items)} shown", detail_header))
        if not complete or frame >= budget:
            complete = False
            continue
        rows: list[str] = []
        used = frame
        for i, f in items:
            row = _row(f, catalog, repo_url, ref, severity=False)
            if used + _size(row) > budget:
                complete = False
                break
            rows.append(row)
            shown.add(i)
            used += _size(row)
        if not rows:
            complete = False
            continue
        label = summary if len(rows) == len(items) else f"{summary}, {len(rows)} shown"
        section = _details(label, detail_header + "".join(rows))
        detail_parts.append(section)
        budget -= _size(section)

    # Details go between the top table and the skipped/notes sections.
    insert_at = 2 if top_rows else 1
    parts[insert_at:insert_at] = detail_parts
    hidden = total - len(shown)
    out = "".join(parts)
    if hidden > 0:
        out += f"\n> … {hidden} more findings not shown; see the SARIF/JSON report.\n"
    elif total == 0:
        out += "\nNo findings.\n"
    if _size(out) > max_chars:
        # Only reachable with a budget too small for even the verdict line.
        out = out.encode("utf-8")[:max_chars].decode("utf-8", "ignore")
    return out
