"""Line numbers for values that TOML/JSON parsers return without positions.

tomllib and json drop source positions, so after a successful parse we find
each value's line again in the text; the parse decides *what* is there, the
text only *where*.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from aisec_ci.scanners.deps.model import ManifestError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def load_toml(path: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: invalid TOML ({exc})") from None


class LineIndex:
    """Searches a file's lines for where a table, key or string value is written."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def snippet(self, line: int) -> str:
        return self.lines[line - 1].strip() if 1 <= line <= len(self.lines) else ""

    def blocks(self, header: str) -> list[tuple[int, int]]:
        """(first, last) 1-based line ranges of every `header` table (e.g. `[[package]]`)."""
        starts = [i + 1 for i, ln in enumerate(self.lines) if ln.strip() == header]
        out = []
        for n, start in enumerate(starts):
            end = len(self.lines)
            for j in range(start, len(self.lines)):
                s = self.lines[j].strip()
                if s.startswith("[") and not s.startswith("[" + header[1:-1] + "."):
                    end = j
                    break
            if n + 1 < len(starts):
                end = min(end, starts[n + 1] - 1)
            out.append((start, end))
        return out

    def section(self, name: str) -> tuple[int, int] | None:
        """Line range of the table `[name]` (the header line to the next header)."""
        pattern = re.compile(r"^\s*\[\s*" + _dotted(name) + r"\s*\]\s*(#.*)?$")
        for i, ln in enumerate(self.lines):
            if pattern.match(ln):
                end = len(self.lines)
                for j in range(i + 1, len(self.lines)):
                    if re.match(r"^\s*\[", self.lines[j]):
                        end = j
                        break
                return i + 1, end
        return None

    def key(self, key: str, first: int = 1, last: int | None = None) -> int | None:
        """Line of `key = ...` (bare or quoted key) within [first, last]."""
        pattern = re.compile(
            r"^\s*(?:" + re.escape(key) + r"|\"" + re.escape(key) + r"\"|'" + re.escape(key) + r"')\s*="
        )
        return self._search(pattern, first, last)

    def string(self, value: str, first: int = 1, last: int | None = None) -> int | None:
        """Line holding `value` as a quoted string within [first, last]."""
        pattern = re.compile(r"[\"']" + re.escape(value) + r"[\"']")
        return self._search(pattern, first, last)

    def search(self, pattern: str, first: int = 1, last: int | None = None) -> int | None:
        return self._search(re.compile(pattern), first, last)

    def _search(self, pattern: re.Pattern[str], first: int, last: int | None) -> int | None:
        stop = len(self.lines) if last is None else min(last, len(self.lines))
        for i in range(max(first, 1) - 1, stop):
            if pattern.search(self.lines[i]):
                return i + 1
        return None


def _dotted(name: str) -> str:
    return r"\s*\.\s*".join(r"(?:" + re.escape(p) + r"|\"" + re.escape(p) + r"\")" for p in name.split("."))
