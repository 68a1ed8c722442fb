"""The one way aisec-ci reads a file it did not write: bounded, regular files only.

Configs, baselines, ignore files, manifests a scanner resolves by name: every read
goes through `read_bounded`. It opens without following a FIFO into a blocking
read (O_NONBLOCK), refuses anything that is not a regular file (a FIFO, a device
such as /dev/zero or /dev/stdin, a socket, a directory), and reads at most
`limit` bytes, so a sparse 3 GB file or an endless device costs nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DEFAULT_READ_LIMIT = 10 * 1024 * 1024
"""Configs and baselines are small; 10 MiB is far past any real one."""

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


class UnreadableFile(OSError):
    """A file that is not read: not regular, too large, or not openable. `reason`
    is a short phrase for a message that names the file."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe_mode(mode: int) -> str:
    """What kind of non-regular file this is, for a reason a user can act on."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def format_size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def read_bounded(path: str | os.PathLike[str], limit: int = DEFAULT_READ_LIMIT, *, truncate: bool = False) -> bytes:
    """The bytes of a regular file, at most `limit` of them.

    Raises `UnreadableFile` for a non-regular file, and for one larger than
    `limit` unless `truncate` is set (then its first `limit` bytes are returned:
    for sniffing a header or an ignore file where a prefix is still useful).
    """
    try:
        fd = os.open(os.fspath(path), _OPEN_FLAGS)
    except FileNotFoundError:
        raise  # callers say "not found" in their own words (and how to create the file)
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile(f"is {describe_mode(st.st_mode)}, not a regular file")
        if st.st_size > limit and not truncate:
            raise UnreadableFile(f"is larger than the {format_size(limit)} cap ({format_size(st.st_size)})")
        # The file was opened non-blocking only so a FIFO could not hang the open; a regular
        # file reads the same either way. Read in chunks: st_size may be stale (a growing file).
        chunks: list[bytes] = []
        remaining = limit
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        if remaining == 0 and not truncate and os.read(fd, 1):
            raise UnreadableFile(f"grew past the {format_size(limit)} cap while being read")
        return b"".join(chunks)
    except UnreadableFile:
        raise
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def read_bounded_text(path: str | os.PathLike[str], limit: int = DEFAULT_READ_LIMIT) -> str:
    """`read_bounded`, decoded as UTF-8 (a BOM is dropped, bad bytes become U+FFFD)."""
    raw = read_bounded(path, limit)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw.decode("utf-8", errors="replace")


def is_regular_file(path: Path) -> bool:
    """True for a regular file (after following symlinks); never blocks."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False
