"""Positions inside one unit of Python source, computed once per unit.

A finding needs its node's text (for the fingerprint key), its columns in
characters (`ast` counts UTF-8 bytes) and a masked one-line snippet. Done
naively each of these costs the size of the file or of the line per finding:
`ast.get_source_segment` re-splits the whole source on every call, and a
byte-to-character conversion re-encodes the whole line. A generated file with
thousands of findings, or one multi-megabyte line with hundreds of thousands of
calls, then takes quadratic time. Here the split is done once, lines are
re-encoded at most once, and a column costs a bounded slice.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

# Only these end a line for `ast` line numbers (str.splitlines also splits on \f, \x1c, U+2028 ...).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CHECKPOINT = 256
"""Characters between two remembered byte offsets of a non-ASCII line: a column
lookup decodes at most this many characters."""


class _ByteColumns:
    """Byte offset -> character offset on one non-ASCII line, from checkpoints
    every `_CHECKPOINT` characters (a few bytes per 256 characters of line)."""

    def __init__(self, line: str) -> None:
        self.encoded = line.encode("utf-8", "surrogatepass")
        chunks = (line[i : i + _CHECKPOINT] for i in range(0, len(line), _CHECKPOINT))
        self.byte_at = [0, *accumulate(len(c.encode("utf-8", "surrogatepass")) for c in chunks)]

    def char_column(self, byte_offset: int) -> int:
        # The last checkpoint is the line's end, not the start of a block.
        block = min(max(bisect_right(self.byte_at, byte_offset) - 1, 0), len(self.byte_at) - 2)
        start = self.byte_at[block]
        tail = self.encoded[start:byte_offset].decode("utf-8", "replace")
        return block * _CHECKPOINT + len(tail)


class LineIndex:
    """Lines of a source split the way the tokenizer counts them, their start
    offsets, and per-line caches for columns and snippets."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = _LINE_BREAK.split(source)
        self._starts: list[int] | None = None
        self._columns: dict[int, _ByteColumns | None] = {}
        self._snippets: dict[int, str] = {}

    def text(self, line: int) -> str:
        """Line `line` (1-based) without its ending, or '' when out of range."""
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else ""

    def starts(self) -> list[int]:
        """Offset in `source` of the first character of each line."""
        if self._starts is None:
            if "\r" in self.source:
                self._starts = [0, *(m.end() for m in _LINE_BREAK.finditer(self.source))]
            else:
                # Every break is one `\n`: the starts follow from the line lengths alone, at C speed.
                self._starts = [0, *accumulate(len(ln) + 1 for ln in self.lines[:-1])]
        return self._starts

    def char_column(self, line: int, byte_offset: int) -> int:
        """`ast` column (UTF-8 bytes into the line) as a character count."""
        columns = self._columns.get(line, False)
        if columns is False:
            text = self.text(line)
            columns = None if text.isascii() else _ByteColumns(text)
            self._columns[line] = columns
        if columns is None:
            return byte_offset
        assert isinstance(columns, _ByteColumns)
        return columns.char_column(byte_offset)

    def segment(self, line: int, byte_col: int, end_line: int, end_byte_col: int) -> str:
        """The source text between two `ast` positions: what `ast.get_source_segment`
        returns, at the cost of the segment instead of the file."""
        starts = self.starts()
        if not (1 <= line <= end_line <= len(starts)):
            return ""
        begin = starts[line - 1] + self.char_column(line, byte_col)
        end = starts[end_line - 1] + self.char_column(end_line, end_byte_col)
        return self.source[begin:end]

    def snippet(self, line: int, make: Callable[[str], str]) -> str:
        """`make(text of line)`, computed once per line however many findings it has."""
        cached = self._snippets.get(line)
        if cached is None:
            cached = make(self.text(line))
            self._snippets[line] = cached
        return cached
