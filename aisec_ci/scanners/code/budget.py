"""How much Python one file may hold before `ast.parse` is not worth its memory.

CPython's parser keeps every token, its memo and its C tree, and then builds the
Python tree, all at once: about 400-800 bytes per token whatever the shape, so
a 5 MB file of `1+1+1+...` costs over a gigabyte before any check runs. A
deeply nested expression is refused by the parser only after it has built
everything. Counting tokens first is cheap (one regular-expression pass at C
speed, strings and comments counted as one token each), so a file over the
budget is skipped with a reason instead of taking the worker down.
"""

from __future__ import annotations

import re

TOKEN_BUDGET = 400_000
"""Tokens per file (all notebook cells together). About 2.5 MB of ordinary Python,
several times the largest hand-written modules of big ML projects; at the worst
measured cost per token the parse stays near 300 MB."""

# One alternative per token: a string literal with its prefix (the body matched
# possessively, so a megabyte string is one token and leaves no backtracking
# state), a comment, a name or number, or one punctuation character (`**=`
# counts three: an over-estimate only errs towards skipping sooner).
_TOKEN = re.compile(
    r"""
    [A-Za-z]{0,3}
    (?: \"\"\" [^"\\]*+ (?: (?: \\[\s\S] | "(?!"") ) [^"\\]*+ )*+ \"\"\"
      | ''' [^'\\]*+ (?: (?: \\[\s\S] | '(?!'') ) [^'\\]*+ )*+ '''
      | " [^"\\\n]*+ (?: \\[\s\S] [^"\\\n]*+ )*+ "
      | ' [^'\\\n]*+ (?: \\[\s\S] [^'\\\n]*+ )*+ '
    )
    | \#[^\n]*+
    | \w++
    | [^\s\w]
    """,
    re.VERBOSE,
)


def tokens_over_budget(sources: list[str]) -> int | None:
    """About how many tokens `sources` (one file's units) hold together when that is over
    `TOKEN_BUDGET`, else None."""
    if sum(len(s) for s in sources) <= TOKEN_BUDGET:
        # A token takes at least one character: nothing to count.
        return None
    tokens = sum(_TOKEN.subn("", s)[1] for s in sources)
    return tokens if tokens > TOKEN_BUDGET else None


def over_budget_reason(tokens: int, notebook: bool) -> str:
    what = "in the notebook's code cells" if notebook else ""
    return (
        f"Python source too large to parse safely: about {tokens:,} tokens{' ' + what if what else ''}, "
        f"over the {TOKEN_BUDGET:,}-token budget (generated code or data?)"
    )


def too_deep_reason(stage: str) -> str:
    return (
        f"Python source nests too deeply to {stage}: an expression or attribute chain thousands of levels deep "
        "(generated code?)"
    )
