"""Applying an image's layers in order, in one streaming pass.

Each layer's tar is read front to back (`tarfile` stream mode: no seeking, no
member list kept), so a layer of any size costs the memory of one member's
header. Whiteouts follow the OCI image spec: `.wh.NAME` deletes NAME (and
everything under it) from the layers below, `.wh..wh..opq` empties its
directory of everything the layers below put there. A file written again by a
later layer replaces the earlier one. What was deleted or replaced is still in
the image (anyone with the tarball can extract the old layer), which is why the
earlier versions are tracked rather than forgotten.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aisec_ci.image.source import ImageSource, Layer

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


class LayerUnreadable(Exception):
    """A layer could not be read to the end (corrupt, truncated, unsupported compression)."""


@dataclass(frozen=True)
class Member:
    """One entry of a layer, as the scanner sees it."""

    layer: int
    path: str
    """Path inside the image, relative to its root, `/`-separated, never absolute or with `..`."""
    kind: str
    """file, dir, symlink, hardlink or other (devices, fifos)."""
    size: int = 0
    linkname: str = ""
    mode: int = 0


@dataclass
class Tracked:
    """What the scan kept about one version of one file: findings or parsed package data."""

    path: str
    layer: int
    payload: Any
    removed_in: int | None = None
    """The layer that deleted (whiteout) or replaced this version; None while it is current."""
    removed_how: str = ""
    """`deleted` or `replaced`."""


@dataclass
class FileSystemState:
    """The current version of every tracked path, and every version a later layer removed."""

    current: dict[str, Tracked] = field(default_factory=dict)
    removed: list[Tracked] = field(default_factory=list)
    symlinks: dict[str, str] = field(default_factory=dict)
    """Symbolic links of the final filesystem (path -> target as written)."""

    def put(self, item: Tracked) -> None:
        self.replace(item.path, item.layer)
        self.current[item.path] = item

    def replace(self, path: str, layer: int) -> None:
        """A later layer wrote `path` again (a file, a link, a directory): the lower version is gone."""
        old = self.current.get(path)
        if old is not None and old.layer < layer:
            self._remove(old, layer, "replaced")
        if path in self.symlinks:
            del self.symlinks[path]

    def whiteout(self, path: str, layer: int) -> None:
        prefix = path + "/"
        for key in [k for k in self.current if k == path or k.startswith(prefix)]:
            if self.current[key].layer < layer:
                self._remove(self.current[key], layer, "deleted")
        for key in [k for k in self.symlinks if k == path or k.startswith(prefix)]:
            del self.symlinks[key]

    def opaque(self, directory: str, layer: int) -> None:
        prefix = directory + "/" if directory else ""
        for key in [k for k in self.current if k.startswith(prefix)]:
            if self.current[key].layer < layer:
                self._remove(self.current[key], layer, "deleted")

    def _remove(self, item: Tracked, layer: int, how: str) -> None:
        del self.current[item.path]
        item.removed_in = layer
        item.removed_how = how
        self.removed.append(item)


Visitor = Callable[[Member, "IO[bytes] | None"], None]
"""Called for every regular file (with its content stream, read at most once, front to back) and
every other entry (with None). Whiteouts are applied by the walker, never visited."""


@dataclass
class WalkReport:
    members: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(member name as written, reason) of entries that were not applied."""
    unreadable: list[tuple[Layer, str]] = field(default_factory=list)


def walk_layers(source: ImageSource, state: FileSystemState, visit: Visitor) -> WalkReport:
    report = WalkReport()
    for layer in source.layers:
        try:
            handle = layer.open()
        except Exception as exc:  # an ImageError from the source, or an OSError
            report.unreadable.append((layer, f"cannot open it ({exc})"))
            continue
        try:
            for member_info, content in _layer_members(handle, layer, report):
                _apply(member_info, content, state, visit, report)
        except LayerUnreadable as exc:
            report.unreadable.append((layer, str(exc)))
        finally:
            handle.close()
    return report


def _apply(
    member: Member, content: IO[bytes] | None, state: FileSystemState, visit: Visitor, report: WalkReport
) -> None:
    report.members += 1
    directory, _, base = member.path.rpartition("/")
    if base == OPAQUE_MARKER:
        state.opaque(directory, member.layer)
        return
    if base.startswith(WHITEOUT_PREFIX):
        hidden = base[len(WHITEOUT_PREFIX) :]
        if hidden:
            state.whiteout(f"{directory}/{hidden}" if directory else hidden, member.layer)
        return
    if member.kind != "dir":
        state.replace(member.path, member.layer)
    if member.kind == "symlink":
        state.symlinks[member.path] = member.linkname
    visit(member, content)


def _layer_members(handle: IO[bytes], layer: Layer, report: WalkReport) -> Iterator[tuple[Member, IO[bytes] | None]]:
    stream = _decompressed(handle, layer)
    try:
        archive = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise LayerUnreadable(f"not a tar archive ({exc})") from None
    try:
        while True:
            try:
                info = archive.next()
            except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                raise LayerUnreadable(f"unreadable after {report.members} entries ({exc})") from None
            if info is None:
                break
            # Stream mode still lists every member it has seen; a layer of a million files would
            # keep a million headers alive for nothing.
            archive.members.clear()  # type: ignore[attr-defined]
            path = clean_member_name(info.name)
            if path is None:
                report.refused.append((info.name, "absolute path or `..` in the name: refused"))
                continue
            if not path:
                continue  # the layer's own root directory (`./`)
            member = Member(layer.index, path, _kind(info), info.size, info.linkname, info.mode)
            if member.kind == "file":
                content = archive.extractfile(info)
                yield member, content
                if content is not None:
                    content.close()
            else:
                yield member, None
    finally:
        archive.close()


def _kind(info: tarfile.TarInfo) -> str:
    if info.isreg():
        return "file"
    if info.isdir():
        return "dir"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    return "other"


def clean_member_name(name: str) -> str | None:
    """The in-image path of a member (`./app/x` -> `app/x`), or None when it would land outside the
    root: an absolute name or a `..` component. Tools that unpack layers naively write such members
    wherever they point, so they are refused rather than normalised."""
    if name.startswith("/"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts or not parts:
        return None if parts else ""
    return "/".join(parts)


_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"


def _decompressed(handle: IO[bytes], layer: Layer) -> IO[bytes]:
    """The layer's plain tar stream: OCI layers may be gzip or zstd compressed (the media type says
    so, but `docker save` archives carry none, so the first bytes decide)."""
    head = handle.read(6)
    try:
        handle.seek(0)
    except (OSError, ValueError):
        raise LayerUnreadable("the layer stream cannot be rewound") from None
    if head.startswith(_GZIP):
        import gzip

        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    if head.startswith(_ZSTD):
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            raise LayerUnreadable(
                "zstd-compressed layer, and the `zstandard` package is not installed (pip install zstandard)"
            ) from None
        return zstandard.ZstdDecompressor().stream_reader(handle)  # type: ignore[no-any-return]
    if head.startswith(_BZIP2):
        import bz2

        return bz2.BZ2File(handle)
    if head.startswith(_XZ):
        import lzma

        return lzma.LZMAFile(handle)
    return handle


def walk_rootfs(root: Path, visit: Visitor, report: WalkReport) -> None:
    """An unpacked root filesystem: one layer, every entry visited, symlinks never followed."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        # Pseudo file systems of a live root (a chroot scanned in place) hold no image content.
        if rel_dir in ("proc", "sys", "dev"):
            dirnames[:] = []
            continue
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            path = f"{rel_dir}/{name}" if rel_dir else name
            try:
                st = os.lstat(full)
            except OSError as exc:
                report.refused.append((path, f"cannot read it ({exc.strerror or exc})"))
                continue
            report.members += 1
            if stat.S_ISLNK(st.st_mode):
                visit(Member(1, path, "symlink", 0, os.readlink(full), st.st_mode), None)
                continue
            if not stat.S_ISREG(st.st_mode):
                visit(Member(1, path, "other", 0, "", st.st_mode), None)
                continue
            try:
                handle = open(full, "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                report.refused.append((path, f"cannot read it ({exc.strerror or exc})"))
                continue
            with handle:
                visit(Member(1, path, "file", st.st_size, "", st.st_mode), handle)
