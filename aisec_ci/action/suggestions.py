"""GitHub ```suggestion``` blocks for findings whose fix is mechanical.

A suggestion replaces the commented line with the lines given, and the
author applies it with one click, so it must be exactly right: each builder
derives the replacement from the current text of that one line (and, for a
workflow step, the lines of the step around it) and gives up whenever the
text is not in the simple shape it knows. A wrong suggestion is worse than
none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aisec_ci.findings import Finding
from aisec_ci.redaction import scrub, secret_values


@dataclass(frozen=True)
class Suggestion:
    """Replacement lines for the finding's start line (a one-line comment range)."""

    lines: tuple[str, ...]

    def block(self) -> str:
        # A fence longer than any backtick run in the text, so a line cannot close it early.
        longest = max((len(m) for line in self.lines for m in re.findall(r"`+", line)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}suggestion\n" + "\n".join(self.lines) + f"\n{fence}"


Builder = Callable[[Finding, Sequence[str]], "tuple[str, ...] | None"]

# `pip install`, `pip3.11 install`, `python -m pip install`: the subcommand after which an option goes.
_PIP_INSTALL = re.compile(r"(?<![\w./-])(?:pip[\d.]*|python[\d.]*\s+-m\s+pip)\s+install(?=\s|$)")
_UV = re.compile(r"\buv\s+$")
_APT_INSTALL = re.compile(r"(?<![\w./-])(?:apt-get|apt)(?:\s+-{1,2}[\w=.:-]+)*\s+install(?=\s|$)")
_PRIV_ESC = re.compile(r"""(["']?allowPrivilegeEscalation["']?\s*:\s*)true\b""")
_USES = re.compile(r"^(\s*)(?:-\s+)?uses:\s*\S")
_STEP_START = re.compile(r"\s*-\s+")


def _single_line_finding(f: Finding) -> bool:
    # A finding folded over several commands of one RUN step (properties["lines"]) has more
    # than one place to fix: one suggestion cannot fix them all.
    lines = f.properties.get("lines")
    return f.last_line == f.start_line and (not isinstance(lines, list) or len(lines) <= 1)


def _insert_after_once(pattern: re.Pattern[str], line: str, option: str) -> str | None:
    matches = list(pattern.finditer(line))
    if len(matches) != 1 or option in line:
        return None
    m = matches[0]
    if _UV.search(line[: m.start()]):
        return None  # `uv pip install` has its own cache and options
    return f"{line[: m.end()]} {option}{line[m.end() :]}"


def _pip_no_cache(f: Finding, lines: Sequence[str]) -> tuple[str, ...] | None:
    line = lines[f.start_line - 1]
    if "--no-cache" in line:
        return None
    new = _insert_after_once(_PIP_INSTALL, line, "--no-cache-dir")
    return (new,) if new is not None else None


def _apt_no_recommends(f: Finding, lines: Sequence[str]) -> tuple[str, ...] | None:
    line = lines[f.start_line - 1]
    if "install-recommends" in line.lower():
        return None
    new = _insert_after_once(_APT_INSTALL, line, "--no-install-recommends")
    return (new,) if new is not None else None


def _privilege_escalation(f: Finding, lines: Sequence[str]) -> tuple[str, ...] | None:
    line = lines[f.start_line - 1]
    if len(_PRIV_ESC.findall(line)) != 1:
        return None
    return (_PRIV_ESC.sub(r"\1false", line),)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _persist_credentials(f: Finding, lines: Sequence[str]) -> tuple[str, ...] | None:
    """`uses: actions/checkout@...` -> the same line plus `with: persist-credentials: false`.

    Only for a block-style step without a `with:` key: with one, the new key belongs
    inside it, on a line the comment does not cover.
    """
    at = f.start_line - 1
    line = lines[at]
    if _USES.match(line) is None or "\t" in line or "{" in line or line.rstrip().endswith(("|", ">", "|-", ">-")):
        return None
    col = line.index("uses:")
    # The step's first line is the one with `- ` before its first key, at the same column.
    start = at
    while not _STEP_START.fullmatch(lines[start][:col]):
        if lines[start][:col].strip():
            return None
        start -= 1
        while start >= 0 and (not _is_content(lines[start]) or _indent(lines[start]) > col):
            start -= 1  # comments, blank lines and the nested values of earlier keys
        if start < 0 or (_indent(lines[start]) < col and not _STEP_START.fullmatch(lines[start][:col])):
            return None
    end = at + 1
    while end < len(lines) and (not _is_content(lines[end]) or _indent(lines[end]) >= col):
        if end == at + 1 and _is_content(lines[end]) and _indent(lines[end]) > col:
            return None  # the uses value continues on the next line
        end += 1
    keys = [lines[start][col:]] + [ln[col:] for ln in lines[start + 1 : end] if _is_content(ln) and _indent(ln) == col]
    if any(re.match(r"with\s*:", k) for k in keys):
        return None
    pad = " " * col
    return (lines[at], f"{pad}with:", f"{pad}  persist-credentials: false")


_BUILDERS: dict[str, Builder] = {
    "docker/pip-cache": _pip_no_cache,
    "docker/apt-install-recommends": _apt_no_recommends,
    "k8s/privilege-escalation-allowed": _privilege_escalation,
    "workflows/persist-credentials": _persist_credentials,
}


def suggestion_for(f: Finding, lines: Sequence[str]) -> Suggestion | None:
    """The replacement of the finding's start line, when its fix is mechanical; `lines`
    are the file's current lines (what the pull request's head holds)."""
    build = _BUILDERS.get(f.rule_id)
    if build is None or not _single_line_finding(f) or not 1 <= f.start_line <= len(lines):
        return None
    new = build(f, lines)
    if new is None:
        return None
    text = "\n".join(new)
    # The replacement repeats the line: a line that carries a credential (a token in an index
    # URL, a password), as the provider shapes or the secrets engine judge it, gets no suggestion
    # rather than a redacted, wrong one. Commit SHAs and hashes are not credentials.
    if scrub(text) != text or secret_values(text):
        return None
    return Suggestion(new)
