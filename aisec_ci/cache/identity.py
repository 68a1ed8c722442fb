"""Which aisec-ci wrote a cache: its version, its own files, and what else shapes a result.

A development change to any file of the package (a rule, the embedded advisory snapshot)
must invalidate every cached result, so the identity hashes the package's files, not only
`__version__`. Hashing their contents (about 5 MB, a few milliseconds) rather than their
times keeps the identity of an image that is rebuilt from the same sources for every
workflow run (the action's `image: Dockerfile`) the same from run to run.
"""

from __future__ import annotations

import hashlib
import os
import sys
from functools import lru_cache

import aisec_ci

# Third-party libraries whose behaviour reaches findings: the secrets filters, YAML and
# TOML parsing, version matching, CVSS scores, gitignore-style globs.
RESULT_DEPENDENCIES = ("detect-secrets", "PyYAML", "packaging", "cvss", "pathspec", "tomli")
ENTRY_POINT_GROUP = "aisec_ci.scanners"
_SKIP_DIRS = frozenset({"__pycache__"})
_SKIP_SUFFIXES = (".pyc", ".pyo")


@lru_cache(maxsize=1)
def tool_identity() -> str:
    """Hex digest of everything in this installation that can change a scan's result."""
    h = hashlib.sha256()
    h.update(f"aisec-ci {aisec_ci.__version__}\0python {sys.version}\0{sys.platform}\0".encode())
    package = os.path.dirname(os.path.abspath(aisec_ci.__file__))
    for base, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(names):
            if name.endswith(_SKIP_SUFFIXES):
                continue
            path = os.path.join(base, name)
            h.update(os.path.relpath(path, package).encode("utf-8", "surrogateescape") + b"\0")
            try:
                with open(path, "rb") as handle:
                    h.update(hashlib.sha256(handle.read()).digest())
            except OSError:
                h.update(b"unreadable")
    h.update(_dependency_versions().encode())
    return h.hexdigest()


def _dependency_versions() -> str:
    from importlib.metadata import PackageNotFoundError, entry_points, version

    parts = []
    for name in RESULT_DEPENDENCIES:
        try:
            parts.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} absent")
    # Plugin scanners add rule ids, and an inline directive naming an unknown rule is a finding.
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        dist = getattr(ep, "dist", None)
        parts.append(f"plugin {ep.name}={ep.value} {getattr(dist, 'version', '')}")
    return "\n".join(parts)
