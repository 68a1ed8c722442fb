"""Python packages installed in an image, read from the metadata the installers leave behind.

pip (and uv, poetry, conda's pip builds) write `NAME-VERSION.dist-info/METADATA`;
setuptools' older installs write `NAME.egg-info/PKG-INFO` (or a single
`NAME-VERSION.egg-info` file holding the same headers); conda records every
package it installed as `conda-meta/NAME-VERSION-BUILD.json`. Only the headers
are read (`Name`, `Version`), never the package's code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from aisec_ci.scanners.deps.model import Dependency, PinKind

# Metadata headers end at the first blank line; the description after it can be megabytes.
MAX_METADATA_BYTES = 256 * 1024
MAX_CONDA_META_BYTES = 8 * 1024 * 1024
_HEADER_RE = re.compile(r"^(Name|Version):[ \t]*(.*?)\s*$", re.IGNORECASE)

# Debian's own Python packages (python3-yaml ...) live here and are audited as Debian packages,
# with Debian's backported fixes; checking them against PyPI's version ranges would call a
# patched `5.4.1-1+deb12u1` vulnerable because its upstream number is old.
DISTRO_PYTHON_DIRS = ("usr/lib/python3/dist-packages/", "usr/lib/python2.7/dist-packages/")


@dataclass(frozen=True)
class MetadataKind:
    name: str
    origin: str


DIST_INFO = MetadataKind("dist-info", "installed (dist-info)")
EGG_INFO = MetadataKind("egg-info", "installed (egg-info)")
CONDA_META = MetadataKind("conda-meta", "installed (conda-meta)")


def metadata_kind(path: str) -> MetadataKind | None:
    """Which installer record `path` is, if any."""
    directory, _, base = path.rpartition("/")
    parent = directory.rpartition("/")[2]
    if base == "METADATA" and parent.endswith(".dist-info"):
        return DIST_INFO
    if base == "PKG-INFO" and parent.endswith(".egg-info"):
        return EGG_INFO
    if base.endswith(".egg-info") and ("site-packages" in directory or "dist-packages" in directory):
        return EGG_INFO  # distutils' single-file form
    if parent == "conda-meta" and base.endswith(".json"):
        return CONDA_META
    return None


def is_distro_python(path: str) -> bool:
    return path.startswith(DISTRO_PYTHON_DIRS)


def parse_metadata(path: str, data: bytes, kind: MetadataKind) -> Dependency | None:
    """The installed distribution a metadata file records, located at its `Version` header."""
    if kind is CONDA_META:
        return _conda(path, data)
    text = data.decode("utf-8", errors="replace")
    name = version = None
    version_line = name_line = 1
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            break  # the headers end here
        m = _HEADER_RE.match(line)
        if not m:
            continue
        field, value = m.group(1).lower(), m.group(2)
        if field == "name" and name is None:
            name, name_line = value, number
        elif field == "version" and version is None:
            version, version_line = value, number
    if not name or not version:
        return None
    return Dependency(
        name=name,
        path=path,
        line=version_line or name_line,
        kind=PinKind.PINNED,
        version=version,
        specifier=f"=={version}",
        origin=kind.origin,
        snippet=f"Version: {version}",
    )


def _conda(path: str, data: bytes) -> Dependency | None:
    try:
        record = json.loads(data)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    name, version = record.get("name"), record.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    return Dependency(
        name=name,
        path=path,
        line=1,
        kind=PinKind.CONDA,
        version=version,
        specifier=f"={version}",
        origin=CONDA_META.origin,
        snippet=f'"name": "{name}", "version": "{version}"',
    )
