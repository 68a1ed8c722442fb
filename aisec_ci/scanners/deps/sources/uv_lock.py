"""uv.lock: `[[package]]` tables with a `source` table (registry, git, url, path, editable, virtual)."""

from __future__ import annotations

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


def parse(path: str, text: str) -> Parsed:
    return parse_package_array(path, text, "uv.lock", "package", _source)[0]
