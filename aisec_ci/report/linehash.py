"""GitHub code scanning's `primaryLocationLineHash`, computed the way codeql-action does.

Code scanning matches an alert across commits by this value. Computing it
ourselves (instead of letting the upload guess) keeps alerts stable when lines
move, and matches what codeql-action would add, so alerts do not duplicate when
a user switches between uploading with our publisher and with `upload-sarif`.

The value for a line is a rolling polynomial hash (base 37, 64-bit wrapping)
over the first 100 UTF-16 code units starting at that line, with spaces and
tabs dropped and line endings folded to LF, plus an occurrence counter.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from itertools import accumulate

_BLOCK_SIZE = 100
_MASK = (1 << 64) - 1
_BASE = 37
# 37**100 mod 2**64: the weight of the character leaving the window.
_FIRST_MOD = pow(_BASE, _BLOCK_SIZE, 1 << 64)
_TAB, _LF, _CR, _SPACE = 0x09, 0x0A, 0x0D, 0x20
# Sentinel fed after the last character so that an empty file, and a final
# empty line after a trailing newline, still get a hash.
_EOF = 65535


def _code_units(text: str) -> array[int]:
    """UTF-16 code units, as JavaScript's charCodeAt sees them (astral characters count twice)."""
    units = array("H")
    units.frombytes(text.encode("utf-16-le", "surrogatepass"))
    if sys.byteorder == "big":
        units.byteswap()
    return units


def _hashes(text: str, stop_after_line: int | None = None) -> dict[int, str]:
    """Line number -> hash for every line (or for lines up to `stop_after_line`)."""
    window = [0] * _BLOCK_SIZE
    line_at = [-1] * _BLOCK_SIZE
    out: dict[int, str] = {}
    seen: dict[str, int] = {}
    h = 0
    index = 0
    line_number = 0
    line_start = True
    prev_cr = False
    stop = stop_after_line if stop_after_line is not None else -1
    units = _code_units(text)
    # The sentinel, then a window of zeros that flushes the lines still pending.
    # Zeros are never whitespace or line ends, so they go through the same loop.
    units.append(_EOF)
    units.extend([0] * _BLOCK_SIZE)
    # One flat loop with locals only: this runs over every file that has findings.
    for c in units:
        if c in (_SPACE, _TAB) or (prev_cr and c == _LF):
            prev_cr = False
            continue
        if c == _CR:
            c = _LF
            prev_cr = True
        else:
            prev_cr = False
        pending = line_at[index]
        if pending != -1:
            value = format(h, "x")
            n = seen.get(value, 0) + 1
            seen[value] = n
            out[pending] = f"{value}:{n}"
            line_at[index] = -1
            if pending == stop:
                return out
        if line_start:
            line_start = False
            line_number += 1
            line_at[index] = line_number
        if c == _LF:
            line_start = True
        h = (_BASE * h + c - _FIRST_MOD * window[index]) & _MASK
        window[index] = c
        index += 1
        if index == _BLOCK_SIZE:
            index = 0
    return out


def line_hashes(text: str) -> list[str]:
    """The hash of every line: element `n - 1` belongs to line `n`.

    A text ending in a newline has one more (empty) line than `str.splitlines`
    reports, exactly as code scanning counts it.
    """
    by_line = _hashes(text)
    return [by_line[n] for n in sorted(by_line)]


def line_hashes_at(text: str, lines: Iterable[int]) -> dict[int, str]:
    """Hashes of the requested lines, without hashing every line before them.

    Lines out of range map to ''. The value of a line is the hash of its window (the
    100 units from its start); its counter is how many lines up to it have the same
    hash. Equal windows give equal hashes, so the counter is taken as the number of
    lines up to it with the same window, compared as strings at C speed instead of a
    Python step per character (the two differ only if two different windows of the
    file collide in 64 bits). The engine runs this on every file with findings,
    multi-MB YAML bundles included.
    """
    wanted = sorted(set(lines))
    valid = [n for n in wanted if n >= 1]
    if not valid:
        return {n: "" for n in wanted}
    units = _unit_string(text)
    rows = units.split("\n")  # a trailing LF leaves a last, empty line, as code scanning counts
    total = len(rows)
    last = min(valid[-1], total)
    ends = list(accumulate(map(len, rows[:last])))
    padded = units + _PADDING

    def window(index: int) -> str:
        start = ends[index - 1] + index if index else 0  # one LF after each line
        return padded[start : start + _BLOCK_SIZE]

    windows = {n: window(n - 1) for n in valid if n <= total}
    # A window starts with its line's first 100 units (up to the LF): a line whose head
    # differs from every wanted window's cannot share a window with it. The file's last
    # line is followed by the padding, not a LF, so it is always looked at.
    heads = {w.split("\n", 1)[0] for w in windows.values()}
    candidates = [i for i, row in enumerate(rows[:last]) if row[:_BLOCK_SIZE] in heads]
    if last == total and (not candidates or candidates[-1] != total - 1):
        candidates.append(total - 1)
    counts = dict.fromkeys(windows.values(), 0)
    occurrence: dict[int, int] = {}
    for index in candidates:
        current = window(index)
        if current in counts:
            counts[current] += 1
            if windows.get(index + 1) == current:
                occurrence[index + 1] = counts[current]
    return {n: f"{_window_hash(windows[n]):x}:{occurrence[n]}" if n in windows else "" for n in wanted}


# What follows the text: the sentinel, then zeros that fill the last windows.
_PADDING = chr(_EOF) + "\0" * _BLOCK_SIZE


def _unit_string(text: str) -> str:
    """The text as the hash sees it: line endings folded to LF, spaces and tabs
    dropped, one character per UTF-16 code unit (an astral character becomes its
    two surrogates)."""
    # CRLF first, on the raw text: a space between CR and LF keeps them two line ends.
    folded = text.replace("\r\n", "\n").replace("\r", "\n").replace(" ", "").replace("\t", "")
    if folded.isascii():
        return folded
    encoded = folded.encode("utf-16-le", "surrogatepass")
    if len(encoded) == 2 * len(folded):
        return folded  # no astral character: one unit per character already
    units = array("H")
    units.frombytes(encoded)
    big_endian = sys.byteorder == "big"
    if big_endian:
        units.byteswap()
    wide = array("I", units)
    if big_endian:
        wide.byteswap()
    return wide.tobytes().decode("utf-32-le", "surrogatepass")


def _window_hash(window: str) -> int:
    h = 0
    for ch in window:
        h = (_BASE * h + ord(ch)) & _MASK
    return h


def line_hash(text: str, line: int) -> str:
    """One line's hash, or '' when `line` is out of range."""
    return line_hashes_at(text, [line])[line]
