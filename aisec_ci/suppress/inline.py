"""Inline suppressions: `# aisec: ignore[rule-id] reason` comments.

A directive suppresses matching findings on its own line; when the comment
stands alone on its line it also covers the line directly below, so it can sit
above a Dockerfile instruction or a YAML key. Rule ids may be globs
(`secrets/*`, `*`). The allow-list comments of other secret scanners that users
already write (`pragma: allowlist secret`, `gitleaks:allow`, gosec's `#nosec`
and `//nolint:gosec`) are honoured as directives for `secrets/*` with the tool's
name as the reason, so what they hide is listed as suppressed, not dropped.
Notebooks are scanned as raw JSON, where a cell's comment
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
    foreign: bool = False
    """Another tool's allow-list comment: never reported as an invalid directive."""

    def matches(self, rule_id: str) -> bool:
        return any(fnmatch.fnmatchcase(rule_id, pattern) for pattern in self.rules)

    @property
    def honoured(self) -> bool:
        """Another tool's allow-list comment is its own reason; ours must give one."""
        return self.foreign or bool(self.reason)

    @property
    def text(self) -> str:
        """The directive as a user would write it (no reason: reasons may quote anything)."""
        return f"aisec: ignore[{', '.join(self.rules)}]"


def parse_directives(lines: list[str]) -> dict[int, Directive]:
    """Directives by 1-based line number; lines without one are absent."""
    found: dict[int, Directive] = {}
    for number, line in enumerate(lines, start=1):
        directive = _parse_line(line, number) if MARKER in line else None
        if directive is None and ("allow" in line or "nosec" in line or "nolint" in line):
            directive = _foreign_directive(line, number)
        if directive is not None:
            found[number] = directive
    return found


SECRETS_RULES = "secrets/*"
# Other tools' markers that mean "this line's secret is accepted". detect-secrets'
# nextline form covers the line below only; the others cover their own line.
_DETECT_SECRETS_RE = re.compile(r"pragma: ?allowlist[ -](?P<next>nextline[ -])?secret")
_GITLEAKS_RE = re.compile(r"gitleaks:allow")
# gosec: bare `#nosec` silences every rule; with a list, only if it names G101
# (hard-coded credentials). Bandit's `# nosec` with B105-B107 means the same.
_NOSEC_RE = re.compile(r"#\s?nosec\b(?P<rules>(?:[ \t,]+[A-Z]\d{3})*)")
_NOSEC_SECRET_RULES = frozenset({"G101", "B105", "B106", "B107"})
_NOLINT_RE = re.compile(r"//\s?nolint:(?P<linters>[\w,-]+)")


def _foreign_directive(line: str, number: int) -> Directive | None:
    """A `secrets/*` directive for another tool's allow-list comment on this line, if any."""
    m = _DETECT_SECRETS_RE.search(line)
    if m is not None:
        nextline = m.group("next") is not None
        return _foreign(line, number, m.start(), "detect-secrets allowlist comment", nextline)
    m = _GITLEAKS_RE.search(line)
    if m is not None:
        return _foreign(line, number, m.start(), "gitleaks:allow comment", False)
    m = _NOSEC_RE.search(line)
    if m is not None:
        listed = set(re.findall(r"[A-Z]\d{3}", m.group("rules")))
        if not listed or listed & _NOSEC_SECRET_RULES:
            return _foreign(line, number, m.start(), "#nosec comment", False)
    m = _NOLINT_RE.search(line)
    if m is not None and "gosec" in m.group("linters").split(","):
        return _foreign(line, number, m.start(), "nolint:gosec comment", False)
    return None


def _foreign(line: str, number: int, at: int, reason: str, nextline: bool) -> Directive:
    # As in the tool that defined it, only detect-secrets' nextline form reaches the line below.
    return Directive(line=number, column=at + 1, rules=(SECRETS_RULES,), reason=reason, own_line=nextline, foreign=True)


def allowlist_covers(line: str, previous: str | None) -> bool:
    """Whether another tool's allow-list comment accepts the secrets on `line` (for
    scans with no inline-suppression pass of their own, such as git history)."""
    if ("allow" in line or "nosec" in line or "nolint" in line) and _foreign_directive(line, 0) is not None:
        return True
    if previous is None or "allow" not in previous:
        return False
    above = _foreign_directive(previous, 0)
    return above is not None and above.own_line


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
    """Directives that apply to `line`: its own, then a standalone one directly above. A directive
    of ours without a reason applies to nothing, as a config ignore without `reason:` is refused
    (invalid_directives reports it)."""
    out = []
    same = directives.get(line)
    if same is not None and same.honoured:
        out.append(same)
    above = directives.get(line - 1)
    if above is not None and above.own_line and above.honoured:
        out.append(above)
    return out


def inline_reason(finding: Finding, directives: Mapping[int, Directive]) -> str | None:
    """The reason a directive gives for suppressing `finding`, or None when none does.

    Directives without a reason suppress nothing (see `covering`).
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
        if directive.foreign:
            continue
        problems: list[tuple[str, str]] = []
        if not directive.rules:
            problems.append(("", "names no rule id; write aisec: ignore[RULE-ID] reason"))
        for pattern in directive.rules:
            if not any(fnmatch.fnmatchcase(rule_id, pattern) for rule_id in known):
                problems.append((pattern, f"names unknown rule '{pattern}'{_suggest(pattern, known)}"))
        if directive.rules and not directive.reason:
            # As a config ignore without `reason:` is refused: the why is what a reviewer checks.
            problems.append(("no-reason", "gives no reason; write aisec: ignore[RULE-ID] why it is safe"))
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
