#!/usr/bin/env python3
"""Build container images from files, without Docker (standard library only).

    python tools/make_image.py SPEC_DIR -o OUT [--format docker|oci-dir|oci-tar] [--tag REPO:TAG]

SPEC_DIR holds `config.json` (an image config: either the whole document, with
`architecture`, `os` and `config`, or just the `config` part: Env, User,
ExposedPorts, Cmd, Healthcheck ...), an optional `history.json` and
`layers/01-*`, `layers/02-*` ... directories, one per layer, applied in name
order. Inside a layer directory a file named `.wh.NAME` becomes a whiteout of
NAME and `.wh..wh..opq` an opaque-directory marker, as in a real layer tar;
symlinks stay symlinks.

`history.json` is a list with one item per build step: a string is the
`created_by` of a step that made a layer; an object (`{"created_by": ...,
"empty_layer": true}`) is copied as it is, so ENV/EXPOSE/CMD steps can be
written too. The steps that made a layer must match the layer directories in
number.

Formats:
* docker  - the tarball `docker save` writes (manifest.json, <config>.json,
            <layer-id>/layer.tar, repositories);
* oci-dir - an OCI image layout directory (oci-layout, index.json, blobs/sha256/);
* oci-tar - the same layout as one tar file.

Every output is deterministic: entries sorted, mtimes fixed, owner 0:0 with no
user or group names, gzip headers without a name or time, JSON with sorted
keys. Building twice from the same input gives byte-identical files, so tests
and benchmarks can compare digests.

The module is importable too: `LayerEntry`, `build_docker_save`,
`build_oci_layout`, `layers_from_dirs` and `build_from_spec` are the API. Layers
are written to temporary files next to the output and streamed from there, so
an entry may supply its content as a chunk iterator (`LayerEntry.chunks`) and a
multi-gigabyte image never has to fit in memory.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

FIXED_MTIME = 0
"""Every tar member's mtime: the epoch, so nothing depends on when or where the build ran."""
CREATED = "2024-06-01T00:00:00Z"
"""The `created` timestamp of the config and of every history step (fixed for determinism)."""
CHUNK = 1024 * 1024

KINDS = ("file", "dir", "symlink", "hardlink", "whiteout", "opaque")
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


class SpecError(Exception):
    """Bad input: the message names the file and what is wrong with it."""


@dataclass
class LayerEntry:
    """One member of a layer tar."""

    path: str
    """Path inside the image, `/`-separated, no leading `/` (`app/main.py`)."""
    data: bytes | None = None
    """File content; None for dirs, whiteouts, opaque markers and links."""
    kind: str = "file"
    """file | dir | symlink | hardlink | whiteout (writes `.wh.<name>`) | opaque (writes `<dir>/.wh..wh..opq`)."""
    target: str = ""
    """Symlink or hardlink target."""
    mode: int = 0o644
    chunks: Callable[[], Iterable[bytes]] | None = field(default=None, repr=False)
    """Streamed content instead of `data`: called once, must yield exactly `size` bytes in total."""
    size: int = 0
    """Content length when `chunks` is used."""


@dataclass
class _Blob:
    """A finished layer (or its compressed form) on disk, with its digest."""

    path: Path
    digest: str  # "sha256:<hex>"
    size: int


# --- layers -------------------------------------------------------------------------------------


class _HashingWriter:
    """A write-only file object that hashes and counts what passes through it.

    tarfile asks its file object for tell(), so the running size is that position."""

    def __init__(self, sink: IO[bytes]) -> None:
        self.sink = sink
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.sink.flush()


class _ChunkReader:
    """read(n) over a chunk iterator, for tarfile.addfile."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            nxt = next(self._it, None)
            if nxt is None:
                break
            self._buf += nxt
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


def _clean_path(path: str) -> str:
    parts = [p for p in path.strip("/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise SpecError(f"layer entry path {path!r} is empty or climbs out with '..'")
    return "/".join(parts)


def _member_name(entry: LayerEntry) -> str:
    path = _clean_path(entry.path)
    head, _, name = path.rpartition("/")
    if entry.kind == "whiteout":
        name = WHITEOUT_PREFIX + name
    elif entry.kind == "opaque":
        return f"{path}/{OPAQUE_MARKER}"
    return f"{head}/{name}" if head else name


def _tarinfo(name: str, entry: LayerEntry) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = entry.mode
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
        info.mode = entry.mode if entry.mode != 0o644 else 0o755
    elif entry.kind == "symlink":
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, entry.target, 0o777
    elif entry.kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, _clean_path(entry.target)
    elif entry.kind in ("whiteout", "opaque"):
        info.type, info.size = tarfile.REGTYPE, 0  # an empty regular file, as Docker writes them
    elif entry.chunks is not None:
        info.size = entry.size
    else:
        info.size = len(entry.data or b"")
    return info


def _with_parents(entries: list[LayerEntry]) -> list[tuple[str, LayerEntry]]:
    """(member name, entry) sorted by name, with a dir entry for every parent not listed.

    Real layer tars carry their parent directories; listing them keeps an
    extractor from guessing their modes."""
    named: dict[str, LayerEntry] = {}
    for entry in entries:
        if entry.kind not in KINDS:
            raise SpecError(f"layer entry {entry.path!r}: unknown kind {entry.kind!r} (one of {', '.join(KINDS)})")
        name = _member_name(entry)
        if name in named:
            raise SpecError(f"layer entry {entry.path!r} appears twice in one layer")
        named[name] = entry
    for name in list(named):
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            named.setdefault(parent, LayerEntry(parent, kind="dir", mode=0o755))
    # Sorting by path components puts a directory before everything inside it.
    return sorted(named.items(), key=lambda item: item[0].split("/"))


def write_layer(sink: IO[bytes], entries: list[LayerEntry]) -> tuple[str, int]:
    """Write one uncompressed layer tar to `sink`; returns (sha256 hex, size)."""
    writer = _HashingWriter(sink)
    # PAX only adds extended headers where ustar cannot hold a field (long names), as Docker does.
    with tarfile.open(fileobj=cast(IO[bytes], writer), mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, entry in _with_parents(entries):
            info = _tarinfo(name, entry)
            if info.isreg() and entry.kind == "file":
                if entry.chunks is not None:
                    tar.addfile(info, _ChunkReader(entry.chunks()))
                else:
                    tar.addfile(info, io.BytesIO(entry.data or b""))
            else:
                tar.addfile(info)
    return writer.sha.hexdigest(), writer.size


def layer_bytes(entries: list[LayerEntry]) -> bytes:
    """The uncompressed tar of one layer, in memory (for small layers and tests)."""
    buf = io.BytesIO()
    write_layer(buf, entries)
    return buf.getvalue()


def _gzip_file(src: Path, dst: Path) -> _Blob:
    with dst.open("wb") as raw:
        writer = _HashingWriter(raw)
        # filename="" and mtime=0 leave the header free of anything that changes between builds.
        with gzip.GzipFile(filename="", mode="wb", fileobj=writer, mtime=0, compresslevel=6) as gz, src.open("rb") as f:
            shutil.copyfileobj(f, gz, CHUNK)
    return _Blob(dst, f"sha256:{writer.sha.hexdigest()}", writer.size)


def _write_layers(tmp: Path, layers: list[list[LayerEntry]], gzip_layers: bool) -> list[tuple[_Blob, _Blob]]:
    """Each layer as (uncompressed blob, stored blob); the two are the same when not gzipped."""
    out = []
    for i, entries in enumerate(layers):
        raw_path = tmp / f"layer{i}.tar"
        with raw_path.open("wb") as f:
            hexdigest, size = write_layer(f, entries)
        raw = _Blob(raw_path, f"sha256:{hexdigest}", size)
        stored = _gzip_file(raw_path, tmp / f"layer{i}.tar.gz") if gzip_layers else raw
        out.append((raw, stored))
    return out


# --- config -------------------------------------------------------------------------------------


def _json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _history(steps: list[Any] | None, n_layers: int, where: str) -> list[dict[str, Any]]:
    if steps is None:
        return [{"created": CREATED, "created_by": f"layer {i + 1}"} for i in range(n_layers)]
    history = []
    for i, step in enumerate(steps):
        if isinstance(step, str):
            history.append({"created": CREATED, "created_by": step})
        elif isinstance(step, dict) and isinstance(step.get("created_by", ""), str):
            history.append({"created": CREATED, **step})
        else:
            raise SpecError(f"{where}: history item {i} must be a string or an object with a created_by string")
    made = sum(1 for h in history if not h.get("empty_layer"))
    if made != n_layers:
        raise SpecError(f"{where}: {made} history steps make a layer, but there are {n_layers} layers")
    return history


def _whole(config: dict[str, Any]) -> dict[str, Any]:
    """The whole image config document, given either it or only its `config` part."""
    if "config" in config or "architecture" in config or "os" in config:
        return dict(config)
    return {"config": config}


def image_config(config: dict[str, Any], diff_ids: list[str], where: str = "config") -> dict[str, Any]:
    """The full image config: `config` is either that document or just its `config` part.

    rootfs is always recomputed from the layers; history is kept when given
    (its layer-making steps must match the layers) and generated otherwise."""
    if not isinstance(config, dict):
        raise SpecError(f"{where}: the image config must be a JSON object")
    full = _whole(config)
    full.setdefault("architecture", "amd64")
    full.setdefault("os", "linux")
    full.setdefault("created", CREATED)
    full.setdefault("config", {})
    if not isinstance(full["config"], dict):
        raise SpecError(f"{where}: `config` must be a JSON object")
    full["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    steps = full.get("history")
    if steps is not None and not isinstance(steps, list):
        raise SpecError(f"{where}: `history` must be a list")
    full["history"] = _history(steps, len(diff_ids), where)
    return full


# --- archives -----------------------------------------------------------------------------------


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), FIXED_MTIME, 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mtime, info.mode = tarfile.DIRTYPE, FIXED_MTIME, 0o755
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = path.stat().st_size, FIXED_MTIME, 0o644
    with path.open("rb") as f:
        tar.addfile(info, f)


def _split_tag(repo_tag: str) -> tuple[str, str]:
    # The tag is after the last ':' unless that ':' belongs to a registry port (then it has a '/').
    repo, sep, tag = repo_tag.rpartition(":")
    if not sep or "/" in tag:
        return repo_tag, "latest"
    return repo, tag


def _atomic_out(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.with_name(f".{out.name}.partial")


def build_docker_save(
    out: Path,
    layers: list[list[LayerEntry]],
    config: dict[str, Any],
    repo_tag: str = "example/app:latest",
    gzip_layers: bool = False,
) -> None:
    """Write the tarball `docker save` produces (legacy layout, as Docker < 25 writes it).

    manifest.json names the config `<sha256 of config>.json` and the layers
    `<layer id>/layer.tar`; the config's rootfs.diff_ids are the sha256 of each
    uncompressed layer tar. With gzip_layers the layer.tar members hold gzip
    data (what some exporters write; a reader must sniff, not trust the name)."""
    out = Path(out)
    partial = _atomic_out(out)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".make_image-") as tmpdir:
        blobs = _write_layers(Path(tmpdir), layers, gzip_layers)
        diff_ids = [raw.digest for raw, _ in blobs]
        cfg = _json_bytes(image_config(config, diff_ids))
        cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
        # Docker's v1 layer ids chain the parent id, so equal layers at different depths get their own folder.
        ids, parent = [], ""
        for diff_id in diff_ids:
            parent = hashlib.sha256(f"{parent}\n{diff_id}".encode()).hexdigest()
            ids.append(parent)
        repo, tag = _split_tag(repo_tag)
        manifest = [{"Config": cfg_name, "RepoTags": [repo_tag], "Layers": [f"{i}/layer.tar" for i in ids]}]
        members: list[tuple[str, bytes | Path | None]] = [
            (cfg_name, cfg),
            ("manifest.json", _json_bytes(manifest)),
            ("repositories", _json_bytes({repo: {tag: ids[-1]}} if ids else {})),
        ]
        for i, (layer_id, (_, stored)) in enumerate(zip(ids, blobs, strict=True)):
            v1: dict[str, Any] = {"id": layer_id, "created": CREATED}
            if i:
                v1["parent"] = ids[i - 1]
            members += [
                (layer_id, None),
                (f"{layer_id}/VERSION", b"1.0"),
                (f"{layer_id}/json", _json_bytes(v1)),
                (f"{layer_id}/layer.tar", stored.path),
            ]
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, content in sorted(members, key=lambda m: m[0].split("/")):
                if content is None:
                    _add_dir(tar, name)
                elif isinstance(content, Path):
                    _add_file(tar, name, content)
                else:
                    _add_bytes(tar, name, content)
    os.replace(partial, out)


def _oci_members(
    tmp: Path, layers: list[list[LayerEntry]], config: dict[str, Any], repo_tag: str, gzip_layers: bool
) -> list[tuple[str, bytes | Path]]:
    """(path in the layout, content) for every file of an OCI image layout."""
    blobs = _write_layers(tmp, layers, gzip_layers)
    cfg = _json_bytes(image_config(config, [raw.digest for raw, _ in blobs]))
    cfg_digest = "sha256:" + hashlib.sha256(cfg).hexdigest()
    layer_media = MEDIA_LAYER_GZIP if gzip_layers else MEDIA_LAYER
    manifest = _json_bytes(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": {"mediaType": MEDIA_CONFIG, "digest": cfg_digest, "size": len(cfg)},
            "layers": [{"mediaType": layer_media, "digest": s.digest, "size": s.size} for _, s in blobs],
        }
    )
    manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    _, tag = _split_tag(repo_tag)
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest),
                # ref.name is the tag alone (OCI spec); containerd keeps the full name in its own key.
                "annotations": {"org.opencontainers.image.ref.name": tag, "io.containerd.image.name": repo_tag},
            }
        ],
    }
    members: dict[str, bytes | Path] = {
        "oci-layout": _json_bytes({"imageLayoutVersion": "1.0.0"}),
        "index.json": _json_bytes(index),
        f"blobs/sha256/{cfg_digest[7:]}": cfg,
        f"blobs/sha256/{manifest_digest[7:]}": manifest,
    }
    for _, stored in blobs:
        members[f"blobs/sha256/{stored.digest[7:]}"] = stored.path  # equal layers share one blob
    return sorted(members.items())


def build_oci_layout(
    out: Path,
    layers: list[list[LayerEntry]],
    config: dict[str, Any],
    as_tar: bool = False,
    gzip_layers: bool = True,
    repo_tag: str = "example/app:latest",
) -> None:
    """Write an OCI image layout: a directory (oci-layout, index.json, blobs/sha256/<hex>) or, with as_tar, one tar."""
    out = Path(out)
    partial = _atomic_out(out)
    if partial.is_dir():
        shutil.rmtree(partial)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".make_image-") as tmpdir:
        members = _oci_members(Path(tmpdir), layers, config, repo_tag, gzip_layers)
        if as_tar:
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
                for d in ("blobs", "blobs/sha256"):
                    _add_dir(tar, d)
                for name, content in members:
                    if isinstance(content, Path):
                        _add_file(tar, name, content)
                    else:
                        _add_bytes(tar, name, content)
        else:
            (partial / "blobs" / "sha256").mkdir(parents=True)
            for name, content in members:
                if isinstance(content, Path):
                    shutil.copyfile(content, partial / name)
                else:
                    (partial / name).write_bytes(content)
    if out.is_dir() and not out.is_symlink():
        shutil.rmtree(out)
    elif out.exists() or out.is_symlink():
        out.unlink()
    os.replace(partial, out)


# --- from files ---------------------------------------------------------------------------------


def _dir_entries(root: Path) -> list[LayerEntry]:
    entries: list[LayerEntry] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in sorted(dirnames + filenames):
            path = here / name
            rel = prefix + name
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                entries.append(LayerEntry(rel, kind="symlink", target=os.readlink(path)))
                if name in dirnames:
                    dirnames.remove(name)  # os.walk lists a symlinked dir with the dirs; never follow it
            elif stat.S_ISDIR(st.st_mode):
                entries.append(LayerEntry(rel, kind="dir", mode=0o755))
            elif not stat.S_ISREG(st.st_mode):
                raise SpecError(f"{path}: not a regular file, directory or symlink")
            elif name == OPAQUE_MARKER:
                if rel_dir == ".":
                    raise SpecError(f"{path}: an opaque marker at the top of a layer has no directory to hide")
                entries.append(LayerEntry(rel_dir, kind="opaque"))
            elif name.startswith(WHITEOUT_PREFIX):
                entries.append(LayerEntry(prefix + name[len(WHITEOUT_PREFIX) :], kind="whiteout"))
            else:
                # git keeps only the executable bit, so modes are 0755 or 0644 wherever the spec is checked out.
                mode = 0o755 if st.st_mode & 0o111 else 0o644
                entries.append(LayerEntry(rel, data=path.read_bytes(), mode=mode))
    return entries


def layers_from_dirs(dirs: list[Path]) -> list[list[LayerEntry]]:
    """One layer per directory, its files at the paths they have below it."""
    layers = []
    for d in dirs:
        if not Path(d).is_dir():
            raise SpecError(f"{d}: a layer must be a directory")
        layers.append(_dir_entries(Path(d)))
    return layers


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: missing") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


FORMATS = ("docker", "oci-dir", "oci-tar")


def build_from_spec(spec_dir: Path, out: Path, fmt: str = "docker", repo_tag: str = "example/app:latest") -> None:
    """Build the image a spec directory describes (see the module docstring) in one of FORMATS."""
    spec_dir = Path(spec_dir)
    if fmt not in FORMATS:
        raise SpecError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if not spec_dir.is_dir():
        raise SpecError(f"{spec_dir}: not a directory")
    config_path = spec_dir / "config.json"
    config = _read_json(config_path)
    if not isinstance(config, dict):
        raise SpecError(f"{config_path}: must hold a JSON object")
    history_path = spec_dir / "history.json"
    if history_path.exists():
        steps = _read_json(history_path)
        if not isinstance(steps, list):
            raise SpecError(f"{history_path}: must hold a JSON list")
        config = {**_whole(config), "history": steps}
        where = str(history_path)
    else:
        where = str(config_path)
    layers_dir = spec_dir / "layers"
    if not layers_dir.is_dir():
        raise SpecError(f"{layers_dir}: missing (one sub-directory per layer: 01-base, 02-...)")
    dirs = sorted(layers_dir.iterdir())
    stray = [d for d in dirs if not d.is_dir() or d.is_symlink()]
    if stray:
        raise SpecError(f"{stray[0]}: only layer directories belong in {layers_dir}")
    layers = layers_from_dirs(dirs)
    image_config(config, ["sha256:" + "0" * 64] * len(layers), where)  # fail before writing anything
    if fmt == "docker":
        build_docker_save(out, layers, config, repo_tag=repo_tag)
    else:
        build_oci_layout(out, layers, config, as_tar=fmt == "oci-tar", repo_tag=repo_tag)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a docker-save or OCI image from a spec directory, no Docker.")
    parser.add_argument("spec_dir", type=Path, help="directory with config.json, history.json and layers/NN-*/")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the tarball or layout directory to write")
    parser.add_argument("--format", choices=FORMATS, default="docker")
    parser.add_argument("--tag", default="example/app:latest", help="repository:tag recorded in the image")
    args = parser.parse_args(argv)
    try:
        build_from_spec(args.spec_dir, args.output, args.format, repo_tag=args.tag)
    except SpecError as exc:
        print(f"make_image: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = exc.filename or args.output
        print(f"make_image: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({args.format})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
