"""uv.lock: `[[package]]` tables with a `source` table (registry, git, url, path, editable, virtual)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aisec_ci.scanners.deps.model import Parsed, PinKind
from aisec_ci.scanners.deps.sources.tomllock import parse_package_array


def _source(pkg: Mapping[str, Any]) -> tuple[PinKind, str] | None:
    src = pkg.get("source")
    if not isinstance(src, dict) or "registry" in src:
        return None
    if "git" in src:
        return PinKind.VCS, "git+" + str(src["git"])
    if "url" in src:
        return PinKind.URL, str(src["url"])
    for key in ("editable", "virtual", "path", "directory"):
        if key in src:
            return PinKind.LOCAL, str(src[key])
    return None


# A basic string with nothing to unescape, and a TOML integer (no leading zeros).
_STR = r'"[^"\\\x00-\x1f\x7f]*"'
_ARTIFACT = rf"\{{ url = {_STR}, hash = {_STR}, size = (?:0|[1-9][0-9]*)(?:, upload-time = {_STR})? \}}"
_WHEEL_LINE_RE = re.compile(rf"(?m)^([ \t]*){_ARTIFACT}(,?)[ \t]*$")
_SDIST_LINE_RE = re.compile(rf"(?m)^sdist = ({_ARTIFACT})[ \t]*$")


def _blank_sdist(m: re.Match[str]) -> str:
    # Same length: tomllib reports a repeated key at the end of its value.
    return "sdist = {" + " " * (len(m.group(1)) - 2) + "}"


def without_artifact_details(text: str) -> str:
    """The lock with each wheel entry written by uv emptied to `{}` and each sdist entry
    blanked, line for line.

    Most of a uv.lock is those entries (URL, hash, size of every wheel), and tomllib, in pure
    Python, spends most of its time on them; nothing here reads them. Only entries that are
    valid inline tables whatever surrounds them are emptied, and an empty inline table is valid
    exactly where they were: the parse succeeds, or fails with the same message at the same
    line and column, as on the full text (an array element is never the place of an error;
    a key's value is, at its end, so an sdist keeps its length). Multi-line strings could
    hold such lines as text: a lock with any is parsed whole."""
    if '"""' in text or "'''" in text:
        return text
    return _SDIST_LINE_RE.sub(_blank_sdist, _WHEEL_LINE_RE.sub(r"\1{}\2", text))


def parse(path: str, text: str) -> Parsed:
    return parse_package_array(path, text, "uv.lock", "package", _source, toml_text=without_artifact_details(text))[0]
