"""Opening an image without a Docker engine: `docker save` tarballs, OCI image layouts (a directory
or a tar of one) and unpacked root filesystems.

What comes out is the image config and its layers in order, each a stream of tar members opened
on demand. Nothing is unpacked to disk: a layer is read once, front to back, straight out of the
archive (the outer tar is opened with random access, so reaching a layer only seeks).
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import re
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aisec_ci.errors import AisecError

# An image config or manifest is a few KiB; anything this large is not one.
MAX_JSON_BYTES = 16 * 1024 * 1024
_DIGEST_RE = re.compile(r"^(sha256|sha512):([0-9a-f]{64}|[0-9a-f]{128})$")
_INDEX_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)


class ImageError(AisecError):
    """The target is not an image this command can read (the message names the file)."""


@dataclass(frozen=True)
class Layer:
    index: int
    """1-based position in the image (the order the layers are applied in)."""
    name: str
    """Where the layer sits in the target (archive member or blob path), for messages."""
    digest: str
    """The layer's content digest as the manifest names it ("" for a root filesystem)."""
    open: Callable[[], IO[bytes]]
    """A fresh binary stream of the layer's (possibly compressed) tar."""


@dataclass
class ImageSource:
    target: Path
    kind: str
    """docker-archive, oci-layout, oci-archive or rootfs."""
    config: dict[str, Any]
    layers: list[Layer]
    rootfs: Path | None = None
    """For an unpacked root filesystem: the directory (read file by file, no layers)."""
    tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for close in reversed(self._closers):
            with contextlib.suppress(OSError):
                close()
        self._closers.clear()

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_image(target: Path) -> ImageSource:
    """Recognise and open `target`; raises ImageError with a readable reason."""
    if not target.exists():
        raise ImageError(f"{target}: no such file or directory")
    if target.is_dir():
        if (target / "oci-layout").is_file() or (target / "index.json").is_file():
            return _oci_directory(target)
        if (target / "manifest.json").is_file():
            raise ImageError(
                f"{target}: an unpacked `docker save` archive; give the .tar itself (or the image's root filesystem)"
            )
        return ImageSource(target=target, kind="rootfs", config={}, layers=[], rootfs=target)
    try:
        archive = tarfile.open(target, "r:*")  # noqa: SIM115 - closed by the ImageSource
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ImageError(f"{target}: not a tar archive, OCI layout or directory ({exc})") from None
    try:
        return _from_archive(target, archive)
    except ImageError:
        archive.close()
        raise
    except (tarfile.TarError, OSError, EOFError) as exc:
        archive.close()
        raise ImageError(f"{target}: unreadable archive ({exc})") from None


def _from_archive(target: Path, archive: tarfile.TarFile) -> ImageSource:
    members: dict[str, tarfile.TarInfo] = {}
    for m in archive.getmembers():
        name = _clean(m.name)
        if name is not None and (m.isreg() or m.islnk() or m.issym()):
            members[name] = m

    def read_json(name: str) -> Any:
        member = members.get(name)
        if member is None:
            raise ImageError(f"{target}: {name} is missing from the archive")
        return _json(_member_bytes(archive, members, member, target), f"{target}: {name}")

    def opener(name: str) -> Callable[[], IO[bytes]]:
        member = members.get(name)
        if member is None:
            raise ImageError(f"{target}: layer {name} is missing from the archive")

        def open_member() -> IO[bytes]:
            return _extract(archive, members, member, target)

        return open_member

    if "manifest.json" in members:
        source = _docker_archive(target, read_json, opener)
    elif "index.json" in members:
        source = _oci(target, "oci-archive", read_json, opener)
    else:
        archive.close()
        raise ImageError(
            f"{target}: a tar archive without manifest.json or index.json: not a `docker save` or OCI image "
            "(for a root filesystem, unpack it and give the directory)"
        )
    source._closers.append(archive.close)
    return source


def _docker_archive(
    target: Path, read_json: Callable[[str], Any], opener: Callable[[str], Callable[[], IO[bytes]]]
) -> ImageSource:
    manifest = read_json("manifest.json")
    if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
        raise ImageError(f"{target}: manifest.json is not a list of image manifests")
    notes = []
    if len(manifest) > 1:
        tags = [", ".join(m.get("RepoTags") or []) or "untagged" for m in manifest if isinstance(m, dict)]
        notes.append(f"image: {target.name} holds {len(manifest)} images ({'; '.join(tags)}); scanned the first")
    entry = manifest[0]
    config_name = _member_path(entry.get("Config"), target, "Config")
    config = read_json(config_name)
    if not isinstance(config, dict):
        raise ImageError(f"{target}: {config_name} is not an image config object")
    names = entry.get("Layers")
    if not isinstance(names, list):
        raise ImageError(f"{target}: manifest.json has no Layers list")
    diff_ids = _diff_ids(config)
    layers = []
    for i, raw in enumerate(names, start=1):
        name = _member_path(raw, target, f"Layers[{i - 1}]")
        digest = diff_ids[i - 1] if i - 1 < len(diff_ids) else ""
        layers.append(Layer(i, name, digest, opener(name)))
    tags = [str(t) for t in entry.get("RepoTags") or [] if isinstance(t, str)]
    return ImageSource(target=target, kind="docker-archive", config=config, layers=layers, tags=tags, notes=notes)


def _oci_directory(target: Path) -> ImageSource:
    def path_of(name: str) -> Path:
        path = target / name
        if path.is_symlink():
            raise ImageError(f"{target}: {name} is a symbolic link; refused (a layout holds plain files)")
        return path

    def read_json(name: str) -> Any:
        path = path_of(name)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_JSON_BYTES + 1)
        except OSError as exc:
            raise ImageError(f"{target}: cannot read {name} ({exc.strerror or exc})") from None
        if len(data) > MAX_JSON_BYTES:
            raise ImageError(f"{target}: {name} is larger than {MAX_JSON_BYTES >> 20} MiB; not image metadata")
        return _json(data, f"{target}: {name}")

    def opener(name: str) -> Callable[[], IO[bytes]]:
        path = path_of(name)
        if not path.is_file():
            raise ImageError(f"{target}: layer blob {name} is missing")
        return lambda: path.open("rb")

    return _oci(target, "oci-layout", read_json, opener)


def _oci(
    target: Path,
    kind: str,
    read_json: Callable[[str], Any],
    opener: Callable[[str], Callable[[], IO[bytes]]],
) -> ImageSource:
    index = read_json("index.json")
    notes: list[str] = []
    manifest, tags = _pick_manifest(target, index, read_json, notes)
    config_desc = manifest.get("config")
    if not isinstance(config_desc, dict):
        raise ImageError(f"{target}: the image manifest has no config descriptor")
    config = read_json(_blob(config_desc, target))
    if not isinstance(config, dict):
        raise ImageError(f"{target}: the image config is not a JSON object")
    layers = []
    descriptors = manifest.get("layers")
    if not isinstance(descriptors, list):
        raise ImageError(f"{target}: the image manifest has no layers list")
    for i, desc in enumerate(descriptors, start=1):
        if not isinstance(desc, dict):
            raise ImageError(f"{target}: layer descriptor {i} is not an object")
        name = _blob(desc, target)
        layers.append(Layer(i, name, str(desc.get("digest")), opener(name)))
    return ImageSource(target=target, kind=kind, config=config, layers=layers, tags=tags, notes=notes)


def _pick_manifest(
    target: Path, index: Any, read_json: Callable[[str], Any], notes: list[str], depth: int = 0
) -> tuple[dict[str, Any], list[str]]:
    """The image manifest an index names: the only one, else linux/amd64, else the first image."""
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list) or not index["manifests"]:
        raise ImageError(f"{target}: index.json lists no manifests")
    entries = [m for m in index["manifests"] if isinstance(m, dict)]
    images = [m for m in entries if str(m.get("platform", {}).get("architecture", "")) != "unknown"]
    chosen = next(
        (
            m
            for m in images
            if isinstance(m.get("platform"), dict)
            and m["platform"].get("os") == "linux"
            and m["platform"].get("architecture") == "amd64"
        ),
        images[0] if images else entries[0],
    )
    if len(images) > 1:
        plat = chosen.get("platform") or {}
        where = f"{plat.get('os', '?')}/{plat.get('architecture', '?')}" if plat else "the first"
        notes.append(f"image: {target.name} holds {len(images)} manifests; scanned {where}")
    document = read_json(_blob(chosen, target))
    if not isinstance(document, dict):
        raise ImageError(f"{target}: manifest {chosen.get('digest')} is not a JSON object")
    media = str(document.get("mediaType") or chosen.get("mediaType") or "")
    if media in _INDEX_TYPES or "manifests" in document:
        if depth >= 2:
            raise ImageError(f"{target}: indexes nested more than two deep")
        return _pick_manifest(target, document, read_json, notes, depth + 1)
    annotations = chosen.get("annotations") or {}
    tag = annotations.get("org.opencontainers.image.ref.name") if isinstance(annotations, dict) else None
    return document, [str(tag)] if tag else []


def _blob(descriptor: dict[str, Any], target: Path) -> str:
    digest = str(descriptor.get("digest", ""))
    m = _DIGEST_RE.match(digest)
    if not m:
        # Also what keeps a crafted digest (`sha256:../../etc/passwd`) from naming a path outside blobs/.
        raise ImageError(f"{target}: descriptor digest {digest[:80]!r} is not sha256:<hex> or sha512:<hex>")
    return f"blobs/{m.group(1)}/{m.group(2)}"


def _diff_ids(config: dict[str, Any]) -> list[str]:
    rootfs = config.get("rootfs")
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    return [str(x) for x in ids] if isinstance(ids, list) else []


def _member_path(raw: Any, target: Path, what: str) -> str:
    name = _clean(str(raw)) if isinstance(raw, str) else None
    if name is None:
        raise ImageError(f"{target}: manifest.json {what} {str(raw)[:80]!r} is not a relative path inside the archive")
    return name


def _clean(name: str) -> str | None:
    """The member name without `./`, or None for an absolute name or one with `..`."""
    if name.startswith("/"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _resolve(members: dict[str, tarfile.TarInfo], member: tarfile.TarInfo, target: Path) -> tarfile.TarInfo:
    """The member a link stands for: `docker save` writes a layer that two images share once and
    links the other `layer.tar` to it (a symbolic link relative to its directory in the classic
    layout, a hard link in others). At most a few hops, and never out of the archive."""
    seen = 0
    while member.islnk() or member.issym():
        if member.issym():
            base = posixpath.dirname(_clean(member.name) or "")
            linked = _clean(posixpath.normpath(posixpath.join(base, member.linkname)))
        else:
            linked = _clean(member.linkname)
        if linked is None or linked not in members or seen > 8:
            raise ImageError(
                f"{target}: member {member.name} links to {member.linkname!r}, which is not in the archive"
            )
        member = members[linked]
        seen += 1
    return member


def _extract(
    archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], member: tarfile.TarInfo, target: Path
) -> IO[bytes]:
    handle = archive.extractfile(_resolve(members, member, target))
    if handle is None:
        raise ImageError(f"{target}: member {member.name} is not a regular file")
    return handle


def _member_bytes(
    archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], member: tarfile.TarInfo, target: Path
) -> bytes:
    real = _resolve(members, member, target)
    if real.size > MAX_JSON_BYTES:
        raise ImageError(f"{target}: {member.name} is larger than {MAX_JSON_BYTES >> 20} MiB; not image metadata")
    with _extract(archive, members, real, target) as handle:
        return handle.read()


def _json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ImageError(f"{where} is not valid JSON ({exc})") from None


def history_layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The history entries that made a layer, in layer order (empty_layer entries left out)."""
    history = config.get("history")
    if not isinstance(history, list):
        return []
    return [h for h in history if isinstance(h, dict) and not h.get("empty_layer")]


def iter_history(config: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(0-based position, entry) of every history entry, empty ones included."""
    history = config.get("history")
    if isinstance(history, list):
        for i, h in enumerate(history):
            if isinstance(h, dict):
                yield i, h
