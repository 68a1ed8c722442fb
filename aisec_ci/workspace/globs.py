"""Which paths a scan leaves out: default-excluded directories, and include/exclude
patterns with gitignore semantics that report which pattern decided.

Users already know `.gitignore` syntax (`**`, trailing `/` for directories,
`!` to re-include, a leading `/` to anchor at the root), so `--include`,
`--exclude` and the config's lists use exactly that, through `pathspec`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aisec_ci.errors import UsageError

if TYPE_CHECKING:
    import pathspec

VCS_DIR_NAMES = frozenset({".git", ".hg", ".svn"})
CACHE_DIR_NAMES = frozenset(
    {
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
        ".ipynb_checkpoints",
        "site-packages",
    }
)
_VCS_REASON = "excluded directory (version control metadata)"
_CACHE_REASON = "excluded directory (dependency/tool cache)"


def excluded_dir_reason(name: str) -> str | None:
    """Why a directory with this base name is never entered, or None."""
    if name in VCS_DIR_NAMES:
        return _VCS_REASON
    if name in CACHE_DIR_NAMES or name.endswith(".egg-info"):
        return _CACHE_REASON
    return None


def in_excluded_dir(relpath: str) -> bool:
    """Whether any directory of `relpath` (`/`-separated) is default-excluded."""
    parts = relpath.split("/")[:-1]
    return any(excluded_dir_reason(part) is not None for part in parts)


class PatternSet:
    """A list of gitignore-style patterns; the last matching pattern wins."""

    def __init__(self, patterns: Sequence[str], *, option: str = "pattern") -> None:
        self.patterns = [p.strip() for p in patterns if p.strip() and not p.strip().startswith("#")]
        self._spec: pathspec.GitIgnoreSpec | None = None
        if not self.patterns:
            return  # most scans set no pattern: skip importing pathspec at all
        import pathspec

        for pattern in self.patterns:
            # Compiled one at a time so the message names the offending pattern.
            try:
                pathspec.GitIgnoreSpec.from_lines([pattern])
            except (ValueError, re.error) as exc:
                raise UsageError(f"invalid {option} pattern {pattern!r}: {exc}") from None
        self._spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matching(self, relpath: str) -> str | None:
        """The pattern that selects `relpath`, or None when none does (or a
        later `!pattern` re-includes it)."""
        if self._spec is None:
            return None
        check = getattr(self._spec, "check_file", None)
        if check is None:
            return self._matching_without_index(relpath)
        result = check(relpath)
        if not result.include or result.index is None:
            return None
        return str(self.patterns[result.index])

    def _matching_without_index(self, relpath: str) -> str | None:
        # pathspec releases before `check_file` say only whether a path matches;
        # name the last positive pattern that matches it on its own.
        import pathspec

        assert self._spec is not None
        if not self._spec.match_file(relpath):
            return None
        for pattern in reversed(self.patterns):
            if not pattern.startswith("!") and pathspec.GitIgnoreSpec.from_lines([pattern]).match_file(relpath):
                return pattern
        return self.patterns[-1]
