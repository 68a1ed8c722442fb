"""poetry.lock: `[[package]]` tables; git/url/directory sources are not registry releases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aisec_ci.scanners.deps.model import Parsed, PinKind
from aisec_ci.scanners.deps.sources.tomllock import parse_package_array


def _source(pkg: Mapping[str, Any]) -> tuple[PinKind, str] | None:
    src = pkg.get("source")
    if not isinstance(src, dict):
        return None
    kind = str(src.get("type", ""))
    url = str(src.get("url", ""))
    if kind == "git":
        ref = src.get("resolved_reference") or src.get("reference") or ""
        return PinKind.VCS, f"git+{url}@{ref}" if ref else f"git+{url}"
    if kind == "url":
        return PinKind.URL, url
    if kind in ("directory", "file"):
        return PinKind.LOCAL, url
    return None  # legacy/custom indexes still serve registry releases


def _group(pkg: Mapping[str, Any]) -> str:
    groups = pkg.get("groups")
    if isinstance(groups, list):
        return ",".join(str(g) for g in groups)
    return str(pkg.get("category", ""))


def parse(path: str, text: str) -> Parsed:
    return parse_package_array(path, text, "poetry.lock", "package", _source, _group)[0]
