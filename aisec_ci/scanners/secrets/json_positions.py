"""A JSON walker that keeps the file offset of every string value.

`json.loads` forgets positions; notebooks need them so a secret in a cell
output is reported on the raw line GitHub shows. Strings are decoded with the
C-accelerated `json.decoder.scanstring`; structure is walked iteratively so a
deeply nested file cannot exhaust the stack.
"""

from __future__ import annotations

import json.decoder
import re
from collections.abc import Iterator
from dataclasses import dataclass

_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
MAX_DEPTH = 512

PathItem = str | int


@dataclass(frozen=True)
class JsonString:
    path: tuple[PathItem, ...]
    value: str
    offset: int
    """Offset of the opening quote in the source text."""


class JsonPositionError(ValueError):
    def __init__(self, message: str, offset: int, text: str) -> None:
        line = text.count("\n", 0, offset) + 1
        super().__init__(f"invalid JSON at line {line}: {message}")
        self.line = line
        self.reason = message


def iter_strings(text: str) -> Iterator[JsonString]:
    """Every string *value* (not object keys) with its JSON path and offset.
    Raises JsonPositionError on malformed input."""
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    # Stack of (container kind, path, next index / pending key).
    stack: list[tuple[str, tuple[PathItem, ...], list[int]]] = []
    path: tuple[PathItem, ...] = ()
    expect_value = True
    n = len(text)
    while True:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            raise JsonPositionError("unexpected end of file", pos, text)
        ch = text[pos]
        if expect_value:
            if ch == "{" or ch == "[":
                if len(stack) >= MAX_DEPTH:
                    raise JsonPositionError("nesting too deep", pos, text)
                stack.append(("o" if ch == "{" else "a", path, [0]))
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
                if pos < n and text[pos] == ("}" if ch == "{" else "]"):
                    stack.pop()
                    pos += 1
                    expect_value = False
                    continue
                if ch == "{":
                    pos, key = _read_key(text, pos, scanstring)
                    path = (*path, key)
                else:
                    path = (*path, 0)
                continue
            if ch == '"':
                try:
                    value, end = scanstring(text, pos + 1, True)
                except ValueError as exc:
                    raise JsonPositionError(str(exc).split(":")[0], pos, text) from None
                yield JsonString(path, value, pos)
                pos = end
            else:
                m = _SCALAR.match(text, pos)
                if not m:
                    raise JsonPositionError(f"unexpected character {ch!r}", pos, text)
                pos = m.end()
            expect_value = False
            continue
        # After a value: `,` or a closing bracket of the current container.
        if not stack:
            if text[pos:].strip():
                raise JsonPositionError("extra data after the document", pos, text)
            return
        kind, parent, counter = stack[-1]
        if ch == ",":
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            if kind == "o":
                pos, key = _read_key(text, pos, scanstring)
                path = (*parent, key)
            else:
                counter[0] += 1
                path = (*parent, counter[0])
            expect_value = True
            continue
        if (kind == "o" and ch == "}") or (kind == "a" and ch == "]"):
            stack.pop()
            path = parent
            pos += 1
            if not stack:
                if text[pos:].strip():
                    raise JsonPositionError("extra data after the document", pos, text)
                return
            continue
        raise JsonPositionError(f"expected ',' or a closing bracket, found {ch!r}", pos, text)


def _read_key(text: str, pos: int, scanstring: object) -> tuple[int, str]:
    if pos >= len(text) or text[pos] != '"':
        raise JsonPositionError("expected an object key", pos, text)
    try:
        key, end = scanstring(text, pos + 1, True)  # type: ignore[operator]
    except ValueError as exc:
        raise JsonPositionError(str(exc).split(":")[0], pos, text) from None
    colon = _WS.match(text, end).end()  # type: ignore[union-attr]
    if colon >= len(text) or text[colon] != ":":
        raise JsonPositionError("expected ':' after an object key", colon, text)
    return colon + 1, str(key)
