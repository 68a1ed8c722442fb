"""Notebook handling that is not segment extraction: a raw-text test that proves a
notebook holds nothing any detector could match (so the position-keeping JSON
walk is skipped), and the note for a notebook that is not valid JSON."""

from __future__ import annotations

import json
import re

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.secrets.engine import Prefilter, prefilter_hits
from aisec_ci.severity import Severity

UNPARSED_NOTEBOOK = Rule(
    id="secrets/unparsed-notebook",
    name="Notebook is not valid JSON",
    short_description="A notebook could not be parsed, so it was scanned for secrets as raw text.",
    severity=Severity.INFO,
    what="Reports an `.ipynb` file that is not valid JSON, at the line of the first syntax error. The file is "
    "still scanned as raw text, so secrets in it are reported, but lines are the raw file's and cell indexes, "
    'notebook regions and JSON-escaped values (`\\"`, `\\u…`) are not available.',
    why="A truncated or hand-edited notebook is also one where a secret can sit in a form the raw-text scan "
    "decodes less well (escaped quotes around a password); the note says the scan was weaker there, instead of "
    "passing the file silently.",
    example='{"cells": [{"cell_type": "code", "source": ["token = \\"…\\""]  <- file ends here',
    example_language="json",
    fix="Repair the notebook (open and save it in Jupyter, or `nbformat.validate` it), or delete it if it is a "
    "stale copy.",
    tags=("secrets",),
    precision="high",
)

RULES = (UNPARSED_NOTEBOOK,)

# Adjacent JSON strings of one list (`"a",\n "b"`): segments join a cell's
# source lines, so a token split over two list items must be joined here too.
# The lookbehind keeps an escaped quote (`\"`) from counting as a string end.
_STRING_JOIN = re.compile(r'(?<!\\)"[ \t\r\n]*,[ \t\r\n]*"')


def may_hold_secrets(text: str, prefilter: Prefilter, generic_enabled: bool) -> bool:
    """False only when no detector could fire on any decoded string of the notebook.

    The raw JSON is a superset view of every segment: keywords and entropy
    candidates contain no characters JSON must escape except `"` (restored
    below) and `/` (escapable as `\\/`), so a match in a decoded segment is a
    match in the flattened raw text. `\\u` escapes can spell anything (and ANSI
    colour codes in tracebacks are stored so), so their presence sends the
    notebook down the full path.
    """
    if "\\u" in text or "\\/" in text:
        return True
    flat = _STRING_JOIN.sub("", text).replace('\\"', '"')
    return prefilter_hits(flat, prefilter, generic_enabled)


def json_error(text: str) -> tuple[int, str] | None:
    """(line, message) of the first JSON syntax error, or None for valid JSON."""
    try:
        json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return exc.lineno, exc.msg
    except _NonJsonConstant as exc:
        # The position walker rejects NaN/Infinity too: both paths agree on what is valid.
        return 1, str(exc)
    except RecursionError:
        return 1, "nesting too deep"
    return None


class _NonJsonConstant(ValueError):
    pass


def _reject_constant(name: str) -> object:
    raise _NonJsonConstant(f"{name} is not JSON")


def unparsed_finding(path: str, line: int, message: str) -> Finding:
    return Finding(
        rule_id=UNPARSED_NOTEBOOK.id,
        severity=UNPARSED_NOTEBOOK.severity,
        message=f"Notebook is not valid JSON ({message} at line {line}); it was scanned for secrets as raw text.",
        path=path,
        start_line=line,
        key="unparsed-notebook",
    )
