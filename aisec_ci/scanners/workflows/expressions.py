"""GitHub Actions `${{ }}` expressions: where they are and which contexts they read.

This is not a full evaluator. It finds each expression, strips string
literals, and lists the context paths it references in a normal form
(`github.event.pull_request.title`, indexes as `*`), plus whether the whole
expression can only produce a boolean (then nothing attacker-written can be
spliced into a script by it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN = "${{"
_CLOSE = "}}"

_STRING = re.compile(r"'(?:[^']|'')*'")
_REF = re.compile(
    r"(?<![\w.\-\]])([A-Za-z_][A-Za-z0-9_\-]*(?:\s*(?:\.\s*(?:[A-Za-z_][A-Za-z0-9_\-]*|\*)|\[[^\[\]]*\]))*)(\s*\()?"
)
_INDEX = re.compile(r"\[\s*'((?:[^']|'')*)'\s*\]")
_OTHER_INDEX = re.compile(r"\[[^\[\]]*\]")
_SPACE = re.compile(r"\s+")
# Functions whose result is a boolean whatever their arguments hold.
_BOOLEAN_FUNCTIONS = frozenset({"contains", "startswith", "endswith", "success", "failure", "always", "cancelled"})
# Functions whose result is a fixed-format string (a hash), never the argument text.
_OPAQUE_FUNCTIONS = frozenset({"hashfiles"})
_LITERALS = frozenset({"true", "false", "null", "nan", "infinity"})
_COMPARISON = re.compile(r"==|!=|<=|>=|<|>|!(?!=)")
_LOGICAL = re.compile(r"&&|\|\|")


@dataclass(frozen=True)
class Expression:
    """One `${{ ... }}` occurrence inside a string."""

    body: str
    """The text between the delimiters, stripped."""
    offset: int
    """Index of `${{` in the containing string."""
    refs: tuple[str, ...]
    """Context paths read by the expression whose value can reach its result."""


def find_expressions(text: str) -> list[Expression]:
    """Every `${{ }}` in `text`, in order (unterminated ones are ignored)."""
    out: list[Expression] = []
    pos = text.find(_OPEN)
    while pos != -1:
        end = _find_close(text, pos + len(_OPEN))
        if end == -1:
            break
        body = text[pos + len(_OPEN) : end].strip()
        out.append(Expression(body=body, offset=pos, refs=tuple(value_refs(body))))
        pos = text.find(_OPEN, end + len(_CLOSE))
    return out


def _find_close(text: str, start: int) -> int:
    """Index of the `}}` closing an expression, skipping `}}` inside string literals."""
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            j = text.find("'", i + 1)
            while j != -1 and j + 1 < n and text[j + 1] == "'":
                j = text.find("'", j + 2)
            if j == -1:
                return text.find(_CLOSE, i)
            i = j + 1
            continue
        if ch == "}" and text.startswith(_CLOSE, i):
            return i
        i += 1
    return -1


def normalise_ref(raw: str) -> str:
    """`github.event['pull_request'].labels[0].name` -> `github.event.pull_request.labels.*.name`."""
    text = _SPACE.sub("", raw)
    text = _INDEX.sub(lambda m: "." + m.group(1).replace("''", "'"), text)
    text = _OTHER_INDEX.sub(".*", text)
    return text.lower()


def _strip_strings(body: str) -> str:
    """Blank out string literals, after turning `['key']` indexes into `.key` so paths survive."""
    body = _INDEX.sub(lambda m: "." + m.group(1).replace("''", "'"), body)
    return _STRING.sub("''", body)


def all_refs(body: str) -> list[str]:
    """Every context path mentioned in an expression body (function names and literals excluded)."""
    stripped = _strip_strings(body)
    refs: list[str] = []
    for m in _REF.finditer(stripped):
        if m.group(2):  # a function call, not a context
            continue
        ref = normalise_ref(m.group(1))
        if ref in _LITERALS or ref[:1].isdigit():
            continue
        refs.append(ref)
    return refs


def value_refs(body: str) -> list[str]:
    """The context paths whose text can appear in the expression's result.

    A top-level comparison or negation yields a boolean, and so do
    `contains()`/`startsWith()`/`endsWith()`; `hashFiles()` yields a hash.
    Their arguments cannot be spliced into a script, so they are dropped.
    """
    stripped = _strip_strings(body)
    stripped = _drop_calls(stripped, _BOOLEAN_FUNCTIONS | _OPAQUE_FUNCTIONS)
    parts = _split_top_level(stripped, _LOGICAL)
    refs: list[str] = []
    for part in parts:
        if _has_top_level(part, _COMPARISON):
            continue
        refs.extend(all_refs(part))
    return refs


def _drop_calls(text: str, names: frozenset[str]) -> str:
    """Replace calls of the named functions by `true` (their arguments do not reach the result)."""
    out: list[str] = []
    i = 0
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", text):
        if m.start() < i or m.group(1).lower() not in names:
            continue
        depth = 0
        j = m.end() - 1
        while j < len(text):
            if text[j] == "(":
                depth += 1
            elif text[j] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        out.append(text[i : m.start()])
        out.append("true")
        i = j + 1
    out.append(text[i:])
    return "".join(out)


def _top_level_mask(text: str) -> list[bool]:
    depth = 0
    mask: list[bool] = []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        mask.append(depth == 0)
    return mask


def _has_top_level(text: str, pattern: re.Pattern[str]) -> bool:
    mask = _top_level_mask(text)
    return any(mask[m.start()] for m in pattern.finditer(text))


def _split_top_level(text: str, pattern: re.Pattern[str]) -> list[str]:
    mask = _top_level_mask(text)
    parts: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        if mask[m.start()]:
            parts.append(text[last : m.start()])
            last = m.end()
    parts.append(text[last:])
    return parts
