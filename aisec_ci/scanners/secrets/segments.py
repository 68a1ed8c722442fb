"""Segments: decoded text pulled out of a structured file (notebook cells and
outputs, base64 values), each line mapped back to the raw line of the file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aisec_ci.scanners.secrets.engine import LineIndex
from aisec_ci.scanners.secrets.json_positions import JsonPositionError, JsonString, iter_strings

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_SKIP_MIME_PREFIXES = ("image/", "application/vnd.jupyter.widget", "application/pdf", "video/", "audio/")
_SKIP_TOP_METADATA = frozenset({"widgets"})


@dataclass
class Segment:
    text: str
    line_map: list[int]
    """0-based line of `text` -> 1-based raw line of the file."""
    cell: int | None = None
    region: str = ""
    encoding: str = ""
    parts: list[str] = field(default_factory=list, repr=False)

    def raw_line(self, index: int) -> int:
        return self.line_map[min(index, len(self.line_map) - 1)]


def _classify(path: tuple[str | int, ...]) -> tuple[tuple[object, ...], int | None, str] | None:
    """Group key, cell index and region for a notebook string; None to skip it."""
    if len(path) >= 3 and path[0] == "worksheets" and path[2] == "cells":
        # nbformat 3: cells live in worksheets and code is under `input`.
        path = ("cells", *path[3:])
        if len(path) >= 3 and path[2] == "input":
            path = (*path[:2], "source", *path[3:])
    if path and path[0] == "metadata":
        if len(path) > 1 and (path[1] in _SKIP_TOP_METADATA or path[1:3] == ("interpreter", "hash")):
            return None
        return (path,), None, "notebook metadata"
    if len(path) < 3 or path[0] != "cells" or not isinstance(path[1], int):
        return (path,), None, "notebook"
    cell = path[1]
    field_name = path[2]
    if field_name == "source":
        return ("src", cell), cell, "source"
    if field_name in ("id", "attachments", "execution_count"):
        return None
    if field_name == "metadata":
        return (path,), cell, "cell metadata"
    if field_name == "outputs" and len(path) >= 5:
        out, key = path[3], path[4]
        if key == "data" and len(path) >= 6:
            mime = str(path[5])
            if mime.startswith(_SKIP_MIME_PREFIXES):
                return None
            return ("out", cell, out, mime, len(path) > 7 and path[6:-1]), cell, "output"
        if key in ("text", "traceback"):
            return ("out", cell, out, key), cell, "traceback" if key == "traceback" else "output"
        if key == "metadata":
            return None
        return (path,), cell, "output"
    return (path,), cell, "notebook"


def notebook_segments(text: str) -> list[Segment]:
    """Segments of a notebook; raises JsonPositionError when it is not valid JSON."""
    lines = LineIndex(text)
    segments: list[Segment] = []
    current: Segment | None = None
    current_key: tuple[object, ...] | None = None
    for item in iter_strings(text):
        cls = _classify(item.path)
        if cls is None:
            continue
        key, cell, region = cls
        value = item.value
        if region == "traceback":
            value = _ANSI_RE.sub("", value)
            if not value.endswith("\n"):
                value += "\n"
        raw = lines.locate(item.offset)[0] + 1
        if current is None or key != current_key:
            current = Segment("", [], cell, region)
            current_key = key
            segments.append(current)
        _append(current, value, raw)
    for seg in segments:
        seg.text = "".join(seg.parts)
        seg.parts = []
        if not seg.line_map:
            seg.line_map = [1]
    return segments


def _append(seg: Segment, value: str, raw: int) -> None:
    """Record the raw line of every segment line that starts inside `value`."""
    if not seg.parts or seg.parts[-1].endswith("\n"):
        seg.line_map.append(raw)
    inner = value.count("\n") - (1 if value.endswith("\n") else 0)
    seg.line_map.extend([raw] * inner)
    seg.parts.append(value)


def json_string_items(text: str) -> list[JsonString]:
    try:
        return list(iter_strings(text))
    except JsonPositionError:
        return []
