"""Notebook code cells as Python units whose lines map back to the raw .ipynb file.

A finding in a notebook must land on the raw JSON line GitHub shows, so the
notebook is decoded with a JSON scanner that remembers where each string value
starts. IPython magics and shell escapes are blanked (not removed) so that the
Python line numbers inside a cell stay aligned with the cell's source.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.code.positions import LineIndex

# Cell magics whose body is still Python; every other `%%name` makes the whole cell foreign
# (`%%bash`, `%%writefile`, `%%html` ...), so it is blanked.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "cython_inline"})
# `files = !ls` and `x = %env HOME`: an IPython assignment from a shell escape or a line magic.
_MAGIC_ASSIGN = re.compile(r"^\s*[A-Za-z_][\w.,\s]*=\s*[!%]")
_HELP = re.compile(r"^\s*(?:\?{1,2}[\w.]+|[\w.\[\]()'\"]+\?{1,2})\s*$")
_CELL_MAGIC = re.compile(r"^\s*%%([A-Za-z_][\w]*)")


class _Located(str):
    """A decoded JSON string that knows the offset of its opening quote."""

    offset: int = -1


def _parse_string(text: str, end: int, strict: bool) -> tuple[_Located, int]:
    value, new_end = json.decoder.scanstring(text, end, strict)  # type: ignore[attr-defined]
    located = _Located(value)
    located.offset = end - 1
    return located, new_end


def _positional_decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder()
    # The pure-Python scanner calls back into `parse_string` for every value, which is
    # where positions are recorded; object keys and the string contents stay C-decoded.
    decoder.parse_string = _parse_string  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


@dataclass(frozen=True)
class _LineOrigin:
    raw_line: int
    """1-based line of the JSON string holding this code line."""
    quote_column: int
    """0-based column of that string's opening quote in the raw line."""
    element: str
    """The decoded JSON string (one element of the cell's `source`)."""
    start: int
    """Offset of this code line inside `element`."""


@dataclass
class CodeUnit:
    """One piece of Python to parse: a whole `.py` file or one notebook code cell."""

    source: str
    cell: int | None = None
    """Index of the cell in the notebook's cell list (0-based), None for a `.py` file."""
    origins: list[_LineOrigin] = field(default_factory=list, repr=False)

    _index: LineIndex | None = field(default=None, repr=False)
    _escaped: dict[int, _EscapedLengths] = field(default_factory=dict, repr=False)

    @property
    def index(self) -> LineIndex:
        """Lines, offsets and per-line caches of `source`, built on first use."""
        if self._index is None:
            self._index = LineIndex(self.source)
        return self._index

    def line_text(self, line: int) -> str:
        """Code line `line` (1-based), split the way the tokenizer counts lines."""
        return self.index.text(line)

    def raw_position(self, line: int, column: int) -> tuple[int, int]:
        """1-based raw (line, column) of the 1-based code `line` and 0-based character `column`."""
        if self.cell is None or not self.origins:
            return line, column + 1
        origin = self.origins[min(max(line, 1), len(self.origins)) - 1]
        # One table per JSON string (keyed by identity: the strings live as long as the unit).
        escaped = self._escaped.get(id(origin.element))
        if escaped is None:
            escaped = self._escaped[id(origin.element)] = _EscapedLengths(origin.element)
        return origin.raw_line, origin.quote_column + 1 + escaped.length(origin.start + column) + 1


class _EscapedLengths:
    """How long a prefix of a JSON string is once escaped again (`"` -> `\\"`, tab -> `\\t`):
    the raw column of a character. Escaping is per character, so the lengths of fixed-size
    blocks add up; a lookup escapes at most one block instead of the whole prefix."""

    def __init__(self, element: str) -> None:
        self.element = element
        blocks = (element[i : i + _ESCAPE_BLOCK] for i in range(0, len(element), _ESCAPE_BLOCK))
        self.before = [0, *accumulate(_escaped_len(b) for b in blocks)]

    def length(self, prefix: int) -> int:
        prefix = min(max(prefix, 0), len(self.element))
        block = min(prefix // _ESCAPE_BLOCK, len(self.before) - 1)
        start = block * _ESCAPE_BLOCK
        return self.before[block] + _escaped_len(self.element[start:prefix])


_ESCAPE_BLOCK = 256


def _escaped_len(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False)) - 2


class _RawLines:
    def __init__(self, text: str) -> None:
        self.starts = [0]
        self.starts.extend(m.end() for m in re.finditer(r"\n", text))

    def locate(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index]


def _blank_magics(lines: list[str]) -> list[str]:
    first = next((ln for ln in lines if ln.strip()), "")
    cell_magic = _CELL_MAGIC.match(first)
    if cell_magic and cell_magic.group(1) not in _PYTHON_CELL_MAGICS:
        return ["" for _ in lines]
    out: list[str] = []
    for ln in lines:
        stripped = ln.lstrip()
        if (
            stripped.startswith(("%", "!"))
            or _MAGIC_ASSIGN.match(ln)
            # `obj?`, `obj.method??` and `?obj` ask IPython for help; not Python.
            or _HELP.match(ln)
        ):
            out.append("")
        else:
            out.append(ln)
    return out


def _cell_list(doc: Any) -> list[Any]:
    if not isinstance(doc, dict):
        raise SkipFile("not a Jupyter notebook: the top level is not a JSON object")
    cells = doc.get("cells")
    if cells is None and isinstance(doc.get("worksheets"), list):
        # nbformat 3 keeps cells in worksheets and code under `input`.
        cells = [c for ws in doc["worksheets"] if isinstance(ws, dict) for c in ws.get("cells") or []]
    if not isinstance(cells, list):
        raise SkipFile("not a Jupyter notebook: no `cells` list")
    return cells


def notebook_units(text: str) -> list[CodeUnit]:
    """The code cells of a notebook; raises SkipFile when it is not valid notebook JSON."""
    try:
        doc = _positional_decoder().decode(text)
    except json.JSONDecodeError as exc:
        raise SkipFile(f"invalid notebook JSON at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise SkipFile("invalid notebook: JSON nested too deeply") from None
    raw = _RawLines(text)
    units: list[CodeUnit] = []
    for index, cell in enumerate(_cell_list(doc)):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", cell.get("input"))
        elements = [src] if isinstance(src, str) else src if isinstance(src, list) else []
        elements = [e for e in elements if isinstance(e, str)]
        if not elements:
            continue
        unit = _cell_unit(index, elements, raw)
        if unit.source.strip():
            units.append(unit)
    return units


def _cell_unit(index: int, elements: list[str], raw: _RawLines) -> CodeUnit:
    joined = "".join(elements)
    element_starts: list[int] = []
    pos = 0
    for element in elements:
        element_starts.append(pos)
        pos += len(element)
    code_lines = joined.split("\n")
    origins: list[_LineOrigin] = []
    pos = 0
    for code_line in code_lines:
        which = max(bisect.bisect_right(element_starts, pos) - 1, 0)
        element = elements[which]
        offset = element.offset if isinstance(element, _Located) else -1
        raw_line, quote_column = raw.locate(offset) if offset >= 0 else (1, 0)
        origins.append(_LineOrigin(raw_line, quote_column, element, pos - element_starts[which]))
        pos += len(code_line) + 1
    source = "\n".join(_blank_magics(code_lines))
    return CodeUnit(source=source, cell=index, origins=origins)
