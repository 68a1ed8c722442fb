"""pylock.toml / pylock.*.toml (PEP 751): `[[packages]]` with version, or vcs/directory/archive."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aisec_ci.scanners.deps.model import ManifestError, Parsed, PinKind
from aisec_ci.scanners.deps.sources.tomllock import parse_package_array


def _source(pkg: Mapping[str, Any]) -> tuple[PinKind, str] | None:
    vcs = pkg.get("vcs")
    if isinstance(vcs, dict):
        url = vcs.get("url") or vcs.get("path") or ""
        commit = vcs.get("commit-id", "")
        return PinKind.VCS, f"{vcs.get('type', 'git')}+{url}@{commit}"
    directory = pkg.get("directory")
    if isinstance(directory, dict):
        return PinKind.LOCAL, str(directory.get("path", ""))
    archive = pkg.get("archive")
    if isinstance(archive, dict) and not pkg.get("version"):
        return PinKind.URL, str(archive.get("url") or archive.get("path") or "")
    return None


def parse(path: str, text: str) -> Parsed:
    parsed, data = parse_package_array(path, text, "pylock.toml", "packages", _source)
    version = str(data.get("lock-version", ""))
    if not version.split(".")[0] == "1":
        raise ManifestError(f"{path}: unsupported lock-version {version or '(missing)'!r}; PEP 751 defines 1.x")
    return parsed
