"""Inline suppressions: `# aisec: ignore[rule-id] reason` comments.

A directive suppresses matching findings on its own line; when the comment
stands alone on its line it also covers the line directly below, so it can sit
above a Dockerfile instruction or a YAML key. Rule ids may be globs
(`secrets/*`, `*`). Notebooks are scanned as raw JSON, where a cell's comment
appears inside a JSON string (`"x = 1  # aisec: ignore[...] why\\n",`); such
lines are decoded first so the reason does not carry the JSON quoting.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from aisec_ci.core_rules import INVALID_SUPPRESSION
from aisec_ci.findings import Finding

MARKER = "aisec:"
NO_REASON = "(no reason given)"

# The directive may follow other comment text (`# type: ignore  aisec: ignore[...]`),
# but it must sit inside a comment: a `#` at the line start or after
# whitespace somewhere before it (so `https://host/#aisec: ...` is not one).
_COMMENT_START_RE = re.compile(r"(?:^|(?<=\s))#")
_DIRECTIVE_RE = re.compile(r"aisec:\s*ignore\s*\[(?P<ids>[^\]]*)\](?P<reason>.*)$")
# A pretty-printed notebook source line: one JSON string, maybe followed by a comma.
_JSON_STRING_LINE_RE = re.compile(r'^\s*(?P<s>"(?:[^"\\]|\\.)*")\s*,?\s*$')
# A reason ends where another tool's trailing comment starts (`# type: ignore`);
# `#123` without a following space is kept, it is usually an issue number.
_REASON_END_RE = re.compile(r"\s#\s")


@dataclass(frozen=True)
class Directive:
    """One `aisec: ignore[...]` comment."""

    line: int
    """1-based line of the comment."""
    column: int
    """1-based column of `aisec:` in the line as stored (raw JSON for notebooks)."""
    rules: tuple[str, ...]
    """Rule ids or fnmatch globs; empty when the brackets hold nothing."""
    reason: str
    """Text after the brackets; '' when none was given."""
    own_line: bool
    """The comment is alone on its line, so it also covers the next line."""

    def matches(self, rule_id: str) -> bool:
        return any(fnmatch.fnmatchcase(rule_id, pattern) for pattern in self.rules)

    @property
    def text(self) -> str:
        """The directive as a user would write it (no reason: reasons may quote anything)."""
        return f"aisec: ignore[{', '.join(self.rules)}]"


def parse_directives(lines: list[str]) -> dict[int, Directive]:
    """Directives by 1-based line number; lines without one are absent."""
    found: dict[int, Directive] = {}
    for number, line in enumerate(lines, start=1):
        if MARKER not in line:
            continue
        directive = _parse_line(line, number)
        if directive is not None:
            found[number] = directive
    return found


def _parse_line(line: str, number: int) -> Directive | None:
    text = line
    offset = 0
    m_json = _JSON_STRING_LINE_RE.match(line)
    if m_json is not None:
        try:
            decoded = json.loads(m_json.group("s"))
        except ValueError:
            decoded = None
        if isinstance(decoded, str):
            text = decoded.rstrip("\r\n")
            offset = m_json.start("s") + 1
    m = _DIRECTIVE_RE.search(text)
    if m is None:
        return None
    comment = _COMMENT_START_RE.search(text, 0, m.start())
    if comment is None:
        return None
    hash_pos = comment.start()
    rules = tuple(r.strip() for r in m.group("ids").split(",") if r.strip())
    reason = _REASON_END_RE.split(m.group("reason"), maxsplit=1)[0].strip()
    column = m.start() + 1
    if offset:
        # Report the column in the raw JSON line, where an editor shows it.
        raw = _DIRECTIVE_RE.search(line)
        column = raw.start() + 1 if raw is not None else offset
    own_line = not text[:hash_pos].strip()
    return Directive(line=number, column=column, rules=rules, reason=reason, own_line=own_line)


def covering(directives: Mapping[int, Directive], line: int) -> list[Directive]:
    """Directives that apply to `line`: its own, then a standalone one directly above."""
    out = []
    same = directives.get(line)
    if same is not None:
        out.append(same)
    above = directives.get(line - 1)
    if above is not None and above.own_line:
        out.append(above)
    return out


def inline_reason(finding: Finding, directives: Mapping[int, Directive]) -> str | None:
    """The reason a directive gives for suppressing `finding`, or None when none does.

    An empty string means suppressed without a reason (reports show `NO_REASON`).
    Core findings about suppressions themselves cannot be suppressed inline,
    or a broken directive could hide its own warning.
    """
    if finding.rule_id == INVALID_SUPPRESSION.id:
        return None
    for directive in covering(directives, finding.start_line):
        if directive.matches(finding.rule_id):
            return directive.reason
    return None


def invalid_directives(
    path: str, directives: Mapping[int, Directive], known_rule_ids: Collection[str]
) -> list[Finding]:
    """`core/invalid-suppression` findings for directives naming no known rule."""
    known = sorted(known_rule_ids)
    out: list[Finding] = []
    for number in sorted(directives):
        directive = directives[number]
        problems: list[tuple[str, str]] = []
        if not directive.rules:
            problems.append(("", "names no rule id; write aisec: ignore[RULE-ID] reason"))
        for pattern in directive.rules:
            if not any(fnmatch.fnmatchcase(rule_id, pattern) for rule_id in known):
                problems.append((pattern, f"names unknown rule '{pattern}'{_suggest(pattern, known)}"))
        for pattern, problem in problems:
            out.append(
                Finding(
                    rule_id=INVALID_SUPPRESSION.id,
                    severity=INVALID_SUPPRESSION.severity,
                    message=f"Inline suppression {problem}, so it suppresses nothing.",
                    path=path,
                    start_line=number,
                    start_column=directive.column,
                    snippet=directive.text,
                    key=f"invalid-suppression:{pattern}",
                    scanner="core",
                )
            )
    return out


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
