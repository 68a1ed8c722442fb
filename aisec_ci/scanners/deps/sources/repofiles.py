"""Reading files a manifest refers to (`-r other.txt`) without leaving the repository."""

from __future__ import annotations

import posixpath
from pathlib import Path

from aisec_ci.workspace.reading import UnreadableFile, read_bounded_text

# A requirements include chain deeper than this is a loop in disguise or an attack.
MAX_INCLUDE_DEPTH = 16
# Included files are read outside the workspace's own size cap, so they get one of their own.
MAX_INCLUDE_BYTES = 10 * 1024 * 1024


class IncludeError(Exception):
    """An include that cannot be followed; the message names the target."""


class RepoFiles:
    """Resolves and reads repository-relative paths, refusing anything that
    escapes the root (`../`, absolute paths, symlinks pointing outside)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[str, str] = {}

    def resolve(self, including: str, target: str) -> str:
        """Repository-relative path of `target` as written in the file `including`."""
        if "://" in target:
            raise IncludeError(f"remote include {target!r} is not followed")
        if target.startswith(("/", "\\")) or (len(target) > 1 and target[1] == ":"):
            raise IncludeError(f"include {target!r} is an absolute path outside the repository")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(including), target.replace("\\", "/")))
        if joined == ".." or joined.startswith("../"):
            raise IncludeError(f"include {target!r} escapes the repository")
        real = (self.root / joined).resolve()
        try:
            real.relative_to(self.root)
        except ValueError:
            raise IncludeError(f"include {target!r} resolves outside the repository") from None
        return joined

    def read(self, relpath: str) -> str:
        if relpath in self._cache:
            return self._cache[relpath]
        real = self.root / relpath
        try:
            text = read_bounded_text(real, MAX_INCLUDE_BYTES)
        except FileNotFoundError:
            raise IncludeError(f"included file {relpath!r} does not exist") from None
        except UnreadableFile as exc:
            raise IncludeError(f"included file {relpath!r} {exc.reason}") from None
        self._cache[relpath] = text
        return text
