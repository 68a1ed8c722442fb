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


# The key a line assigns (`name =`, `"name" =`, `'name' =`), for the key map below.
_KEY_LINE_RE = re.compile(r"""^\s*(?:([^\s="'\[#]+)|"([^"\\]*)"|'([^']*)')\s*=""")
# Keys that can be looked up in the map: what the patterns above capture in full.
_MAPPABLE_KEY_RE = re.compile(r"""^[^\s="'\[#\\]+$""")
_QUOTE_RE = re.compile(r"[\"']")


class LineIndex:
    """Searches a file's lines for where a table, key or string value is written."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self._keys: dict[tuple[int, int], dict[str, int] | None] = {}
        """Ranges searched for a key so far, with their key map once one was built."""
        self._strings: dict[int, dict[str, int] | None] = {}
        """First lines searched from for a quoted string so far, with their map once built."""

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
        stop = len(self.lines) if last is None else min(last, len(self.lines))
        bounds = (max(first, 1), stop)
        if _MAPPABLE_KEY_RE.match(key):
            # A table of thousands of keys (a Pipfile section, Poetry dependencies) would cost one
            # scan of the table per key. The second lookup in a range builds a map of it in one
            # pass, which every later lookup uses; a range searched once (a lock's package table,
            # whose `name` is near the top) keeps the direct search that stops at the match.
            if bounds in self._keys:
                return self._key_map(bounds).get(key)
            self._keys[bounds] = None
        pattern = re.compile(
            r"^\s*(?:" + re.escape(key) + r"|\"" + re.escape(key) + r"\"|'" + re.escape(key) + r"')\s*="
        )
        return self._search(pattern, first, last)

    def _key_map(self, bounds: tuple[int, int]) -> dict[str, int]:
        """{key: its first `key =` line} within the (first, last) line range."""
        found = self._keys.get(bounds)
        if found is None:
            found = self._keys[bounds] = {}
            for i in range(bounds[0] - 1, bounds[1]):
                m = _KEY_LINE_RE.match(self.lines[i])
                if m is not None:
                    found.setdefault(m.group(1) or m.group(2) or m.group(3) or "", i + 1)
        return found

    def string(self, value: str, first: int = 1, last: int | None = None) -> int | None:
        """Line holding `value` as a quoted string within [first, last]."""
        if last is None and value and "'" not in value and '"' not in value:
            # Each entry of a long array (pyproject dependencies) is looked for from its section's
            # start: one scan per entry. A value without quote characters is quoted exactly when
            # it is the text between two neighbouring quote characters of a line, so the second
            # lookup from one line maps those texts to their first line in one pass.
            start = max(first, 1)
            if start in self._strings:
                return self._string_map(start).get(value)
            self._strings[start] = None
        pattern = re.compile(r"[\"']" + re.escape(value) + r"[\"']")
        return self._search(pattern, first, last)

    def _string_map(self, start: int) -> dict[str, int]:
        """{text between two neighbouring quote characters: its first line} from line `start` on."""
        found = self._strings.get(start)
        if found is None:
            found = self._strings[start] = {}
            for i in range(start - 1, len(self.lines)):
                line = self.lines[i]
                if '"' not in line and "'" not in line:
                    continue
                for segment in _QUOTE_RE.split(line)[1:-1]:
                    found.setdefault(segment, i + 1)
        return found

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
