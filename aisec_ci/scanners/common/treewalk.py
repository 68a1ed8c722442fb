"""The bounded walk scanners make of the tree around a file (kustomizations that name it, the
kubebuilder markers of the Go code), and that the result cache repeats to key what they read:
one walker, so the two always see the same directories in the same order."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# Directories no project file of interest lives in; walking them costs time for nothing.
SKIP_DIRS = frozenset({".git", "node_modules", "vendor", "__pycache__", ".venv", "venv", ".tox"})


def walk_tree(root: Path | str, limit: int, skip: frozenset[str] = SKIP_DIRS) -> Iterator[tuple[str, list[str]]]:
    """(directory, file names) below `root`, top-down, sub-directories in sorted order, symlinked
    directories and `skip` left out; at most `limit` directories, so a huge tree costs a bounded walk."""
    for seen, (base, dirs, names) in enumerate(os.walk(root)):
        if seen >= limit:
            return
        dirs[:] = sorted(d for d in dirs if d not in skip and not os.path.islink(os.path.join(base, d)))
        yield base, names
