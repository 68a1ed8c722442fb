"""The records discovery produces: files to scan and files skipped with a reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from aisec_ci.workspace.kinds import FileKind
from aisec_ci.workspace.reading import DEFAULT_READ_LIMIT, read_bounded

_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def report_path(fs_path: str) -> str:
    """The path as reports show it, one to one with the name on disk.

    A name that is not valid UTF-8 arrives from the file system (and from git)
    with lone surrogates, which no report can encode; each such byte is shown
    as `\\xff`, the way the text report shows control characters. So that no
    other name can read the same, a backslash in a name is shown doubled
    (`a\\\\b`); every other name is shown unchanged. `path_bytes` undoes it.
    """
    if "\\" not in fs_path:
        if fs_path.isascii():
            return fs_path
        try:
            fs_path.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return fs_path
    raw = fs_path.encode("utf-8", "surrogateescape")
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def path_bytes(shown: str) -> bytes:
    """The name on disk, as bytes, of a path `report_path` produced (for URIs)."""
    if "\\" not in shown:
        return shown.encode("utf-8", "surrogateescape")
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(shown):
        out += shown[pos : m.start()].encode("utf-8", "surrogateescape")
        token = m.group(1)
        out += b"\\" if token == "\\" else bytes([int(token[1:], 16)])
        pos = m.end()
    out += shown[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)


@dataclass(frozen=True)
class SkippedFile:
    """A path that was not scanned, and why. Reaches every report."""

    path: str
    """Repository-relative path with `/`; a directory ends with `/`."""
    reason: str
    """Human-readable reason, e.g. `larger than the 10 MiB cap (212 MiB)`."""

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class SourceFile:
    """A regular file inside the root that will be scanned.

    Content is read lazily and at most once per process; scanners call
    `data` or `text` and never open the path themselves, so one read serves
    every scanner.
    """

    path: str
    """Repository-relative path with `/` separators (what reports show)."""
    abspath: Path
    """Absolute path on disk."""
    kind: FileKind
    """What the classifier decided."""
    size: int
    """Size in bytes at discovery time."""
    limit: int = 0
    """The size cap the file was admitted under; a read never takes more (a file that
    grew past it since discovery is unreadable, not read whole). 0: the default cap."""
    _data: bytes | None = field(default=None, repr=False, compare=False)
    _text: str | None = field(default=None, repr=False, compare=False)
    _lines: list[str] | None = field(default=None, repr=False, compare=False)

    @property
    def data(self) -> bytes:
        if self._data is None:
            # The one bounded reader: never a FIFO or device swapped in since discovery.
            self._data = read_bounded(self.abspath, self.limit or max(self.size, DEFAULT_READ_LIMIT))
        return self._data

    @property
    def text(self) -> str:
        """Content decoded as UTF-8 (BOM stripped); undecodable bytes become U+FFFD."""
        if self._text is None:
            raw = self.data
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            self._text = raw.decode("utf-8", errors="replace")
        return self._text

    @property
    def lines(self) -> list[str]:
        """Text split into lines without their endings; `lines[n-1]` is line n."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    def line(self, number: int) -> str:
        """Line `number` (1-based), or '' when out of range."""
        lines = self.lines
        return lines[number - 1] if 1 <= number <= len(lines) else ""

    @property
    def has_content(self) -> bool:
        """Whether the content is already read (and cached) in this process."""
        return self._data is not None

    def release(self) -> None:
        """Drop cached content (the engine calls this after all scanners ran)."""
        self._data = None
        self._text = None
        self._lines = None
