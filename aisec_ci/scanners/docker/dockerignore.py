"""Reading `.dockerignore` and deciding whether it excludes a path, the way
the Docker builder does (patterns anchored at the context root, `*` not
crossing `/`, `**` for any depth, `!` re-including, a matching parent
directory excluding everything below it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
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


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$")


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
