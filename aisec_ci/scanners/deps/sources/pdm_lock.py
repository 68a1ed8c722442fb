"""pdm.lock: `[[package]]` tables; VCS/URL/path packages carry `git`, `url` or `path` keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aisec_ci.scanners.deps.model import Parsed, PinKind
from aisec_ci.scanners.deps.sources.tomllock import parse_package_array


def _source(pkg: Mapping[str, Any]) -> tuple[PinKind, str] | None:
    for key, prefix in (("git", "git+"), ("hg", "hg+"), ("svn", "svn+")):
        if key in pkg:
            return PinKind.VCS, prefix + str(pkg[key])
    if "url" in pkg:
        return PinKind.URL, str(pkg["url"])
    if "path" in pkg:
        return PinKind.LOCAL, str(pkg["path"])
    return None


def _group(pkg: Mapping[str, Any]) -> str:
    groups = pkg.get("groups")
    return ",".join(str(g) for g in groups) if isinstance(groups, list) else ""


def parse(path: str, text: str) -> Parsed:
    return parse_package_array(path, text, "pdm.lock", "package", _source, _group)[0]
