"""Reading `.dockerignore` and deciding whether it excludes a path, the way
the Docker builder does (patterns anchored at the context root, `*` not
crossing `/`, `**` for any depth, `!` re-including, a matching parent
directory excluding everything below it)."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Pattern:
    regex: _Matcher
    negated: bool
    text: str


def parse_dockerignore(text: str, limit: int | None = None) -> list[Pattern]:
    """The patterns of a .dockerignore, in order; with `limit`, at most `limit + 1` of them, so
    the caller can tell that there were more without compiling every one."""
    patterns: list[Pattern] = []
    for raw in text.splitlines():
        if limit is not None and len(patterns) > limit:
            break
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:].strip()
        line = _clean(line)
        if not line:
            continue
        patterns.append(Pattern(_compile(line), negated, raw.strip()))
    return patterns


def _clean(pattern: str) -> str:
    """Like Go's filepath.Clean on a slash path, then relative to the context root."""
    parts: list[str] = []
    for part in pattern.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


# Tokens of a glob: a literal character, `?`, a `[...]` class, `*` (within one path segment),
# `**` (anything) and `**/` (any number of whole directories, possibly none).
_LITERAL, _ONE, _CLASS, _STAR, _DSTAR, _DSTAR_SLASH = range(6)
_Token = tuple[int, str, "re.Pattern[str] | None"]
_STARS = (_STAR, _DSTAR, _DSTAR_SLASH)
_MAX_REGEX_STARS = 2
"""A backtracking regex with k stars costs up to len(path)**k on a failing match: a line such as
`*a*a*a*a*a*a*a*a*b` against a long file name takes minutes. Up to this many stars the regex is
used (fast, and at worst quadratic in a path); beyond it the state-set matcher below."""


def _tokens(pattern: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                    out.append((_DSTAR_SLASH, "", None))
                else:
                    out.append((_DSTAR, "", None))
                continue
            out.append((_STAR, "", None))
        elif ch == "?":
            out.append((_ONE, "", None))
        elif ch == "[":
            j = pattern.find("]", i + 1)
            klass = _class(pattern[i + 1 : j]) if j >= 0 else None
            if klass is None:
                out.append((_LITERAL, ch, None))
            else:
                out.append((_CLASS, "", klass))
                i = j
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append((_LITERAL, pattern[i], None))
        else:
            out.append((_LITERAL, ch, None))
        i += 1
    return out


def _class(body: str) -> re.Pattern[str] | None:
    if body.startswith("^") or body.startswith("!"):
        body = "^" + body[1:]
    try:
        with warnings.catch_warnings():
            # `[[a]` is a valid class with a FutureWarning: nothing for the scan's output.
            warnings.simplefilter("ignore")
            return re.compile("[" + body.replace("\\", "\\\\") + "]")
    except re.error:
        # `[z-a]` and the like: the builder rejects the pattern; here the `[` is taken literally.
        return None


def _regex(tokens: list[_Token]) -> re.Pattern[str]:
    out: list[str] = []
    for kind, text, klass in tokens:
        if kind == _LITERAL:
            out.append(re.escape(text))
        elif kind == _ONE:
            out.append("[^/]")
        elif kind == _CLASS:
            assert klass is not None
            out.append(klass.pattern)
        elif kind == _STAR:
            out.append("[^/]*")
        elif kind == _DSTAR:
            out.append(".*")
        else:
            out.append("(?:.*/)?")
    return re.compile("^" + "".join(out) + "$")


class _StateSet:
    """Glob matching by simulating all positions at once: len(path) x len(pattern) at worst,
    whatever the stars. State 2*i is "before token i"; 2*i+1 is "inside the `**/` at i"."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens

    def _closure(self, states: set[int]) -> set[int]:
        todo = [s for s in states if s % 2 == 0]
        while todo:
            i = todo.pop() // 2
            if i < len(self.tokens) and self.tokens[i][0] in _STARS and 2 * (i + 1) not in states:
                states.add(2 * (i + 1))
                todo.append(2 * (i + 1))
        return states

    def match(self, path: str) -> bool:
        tokens = self.tokens
        end = 2 * len(tokens)
        states = self._closure({0})
        for ch in path:
            nxt: set[int] = set()
            for state in states:
                i = state // 2
                if state % 2:
                    nxt.add(state)
                    if ch == "/":
                        nxt.add(2 * (i + 1))
                    continue
                if state == end:
                    continue
                kind, text, klass = tokens[i]
                if kind == _LITERAL:
                    if ch == text:
                        nxt.add(2 * (i + 1))
                elif kind == _ONE:
                    if ch != "/":
                        nxt.add(2 * (i + 1))
                elif kind == _CLASS:
                    assert klass is not None
                    if klass.fullmatch(ch):
                        nxt.add(2 * (i + 1))
                elif kind == _STAR:
                    if ch != "/":
                        nxt.add(state)
                elif kind == _DSTAR:
                    nxt.add(state)
                else:
                    nxt.add(state + 1)
                    if ch == "/":
                        nxt.add(2 * (i + 1))
            if not nxt:
                return False
            states = self._closure(nxt)
        return end in states


class _Matcher:
    """Whether a path matches one cleaned pattern (the whole path: anchored at both ends)."""

    def __init__(self, pattern: str) -> None:
        tokens = _tokens(pattern)
        stars = sum(1 for kind, _, _ in tokens if kind in _STARS)
        self._regex = _regex(tokens) if stars <= _MAX_REGEX_STARS else None
        self._states = _StateSet(tokens) if self._regex is None else None

    def match(self, path: str) -> bool:
        if self._regex is not None:
            return self._regex.match(path) is not None
        assert self._states is not None
        return self._states.match(path)


@lru_cache(maxsize=512)
def _compile(pattern: str) -> _Matcher:
    return _Matcher(pattern)


def is_excluded(path: str, patterns: list[Pattern]) -> bool:
    """Whether the builder leaves `path` (relative, `/`-separated) out of the context."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    excluded = False
    for pattern in patterns:
        if pattern.negated != excluded:
            # Only a pattern that could flip the current answer matters.
            continue
        if any(pattern.regex.match(p) for p in prefixes):
            excluded = not pattern.negated
    return excluded
