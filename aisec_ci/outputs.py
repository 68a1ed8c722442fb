"""Writing the files a user asked for (reports, baselines, SBOMs, step summaries) without
harming anything else on the machine.

A destination that is not a regular file is written as it is: `-o /dev/null` or
`-o /dev/stdout` must not have its mode changed or be replaced by a regular file,
which a root process in a container would otherwise do to the host's device. A
symlink is written through, never replaced. Only a file this process creates gets
the 0644 mode (so reports written as root in a mounted workspace stay readable for
the runner user); an existing file keeps its mode, and an atomic replace copies it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def _existing_mode(path: Path) -> int | None:
    """The mode of what `path` names after following symlinks, or None when absent."""
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        return None


def write_output(path: Path, text: str, *, atomic: bool = False, append: bool = False) -> None:
    """Write (or append) `text` as UTF-8 to `path`; raises OSError.

    `atomic`: for a regular file, write a temporary file beside it and rename it into
    place, so an interrupted run never leaves half a file (the baseline). Special
    files and symlinks are never replaced."""
    mode = _existing_mode(path)
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "is a directory", str(path))
        # A device, FIFO or socket: write to it as it is, with no mode change and no rename.
        with open(path, "a" if append else "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        return
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if target.parent != Path("") and not target.parent.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
    if atomic and not append:
        _replace_atomically(target, text, mode)
        return
    with open(target, "a" if append else "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    if mode is None:
        os.chmod(target, 0o644)


def _replace_atomically(target: Path, text: str, mode: int | None) -> None:
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp_name, stat.S_IMODE(mode) if mode is not None else 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
