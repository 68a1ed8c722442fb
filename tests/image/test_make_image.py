"""tools/make_image.py: docker-save and OCI images built from files, opened again
with tarfile/json and checked against the formats' own rules (digests, sizes,
diff_ids, whiteouts), plus determinism and the example image spec."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickletools
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import make_image as mi
import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "examples" / "vulnerable-ai-app" / "image"
SCRIPT = REPO / "tools" / "make_image.py"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_files(data: bytes) -> dict[str, bytes]:
    """Regular files of a tar (bytes), by member name."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}  # type: ignore[union-attr]


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def dir_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def sample_layers() -> list[list[mi.LayerEntry]]:
    E = mi.LayerEntry
    return [
        [
            E("etc/os-release", kind="symlink", target="../usr/lib/os-release"),
            E("usr/lib/os-release", b'ID=debian\nVERSION_ID="12"\n'),
            E("bin/tool", b"\x7fELF fake", mode=0o755),
            E("bin/tool-link", kind="hardlink", target="bin/tool"),
            E("srv/cache", kind="dir"),
        ],
        [E("app/main.py", b"print('hi')\n"), E("app/.env", b"TOKEN=not-a-real-one\n")],
        [E("app/.env", kind="whiteout"), E("srv/cache", kind="opaque")],
    ]


CONFIG = {"Env": ["PATH=/usr/bin"], "ExposedPorts": {"5000/tcp": {}}, "Cmd": ["python3", "/app/main.py"]}


def check_docker_save(data: bytes, n_layers: int) -> tuple[dict[str, Any], list[bytes]]:
    """Asserts the docker-save structure; returns the config and each layer's uncompressed tar."""
    files = tar_files(data)
    [entry] = json.loads(files["manifest.json"])
    config_bytes = files[entry["Config"]]
    # The config is named after its own digest, as docker save names it.
    assert entry["Config"] == hashlib.sha256(config_bytes).hexdigest() + ".json"
    config = json.loads(config_bytes)
    assert config["rootfs"]["type"] == "layers"
    assert len(entry["Layers"]) == len(config["rootfs"]["diff_ids"]) == n_layers
    layers = []
    for name, diff_id in zip(entry["Layers"], config["rootfs"]["diff_ids"], strict=True):
        stored = files[name]
        raw = gzip.decompress(stored) if stored[:2] == b"\x1f\x8b" else stored
        assert sha(raw) == diff_id, name
        layers.append(raw)
    assert sum(1 for h in config["history"] if not h.get("empty_layer")) == n_layers
    repos = json.loads(files["repositories"])
    repo, tag = entry["RepoTags"][0].rsplit(":", 1)
    assert repos[repo][tag] == entry["Layers"][-1].split("/")[0]
    return config, layers


def check_oci(files: dict[str, bytes], n_layers: int) -> tuple[dict[str, Any], list[bytes], dict[str, Any]]:
    """Asserts index -> manifest -> blobs; returns the config, the uncompressed layers and the manifest."""
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2
    [desc] = index["manifests"]
    assert desc["mediaType"] == mi.MEDIA_MANIFEST

    def blob(d: dict[str, Any]) -> bytes:
        data = files["blobs/sha256/" + d["digest"].removeprefix("sha256:")]
        assert sha(data) == d["digest"] and len(data) == d["size"]
        return data

    manifest = json.loads(blob(desc))
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == mi.MEDIA_MANIFEST
    assert manifest["config"]["mediaType"] == mi.MEDIA_CONFIG
    config = json.loads(blob(manifest["config"]))
    assert len(manifest["layers"]) == len(config["rootfs"]["diff_ids"]) == n_layers
    layers = []
    for d, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True):
        data = blob(d)
        if d["mediaType"] == mi.MEDIA_LAYER_GZIP:
            assert data[:2] == b"\x1f\x8b"
            data = gzip.decompress(data)
        else:
            assert d["mediaType"] == mi.MEDIA_LAYER
        assert sha(data) == diff_id  # diff_ids are digests of the uncompressed tars
        layers.append(data)
    # Nothing but the referenced blobs is stored.
    referenced = {desc["digest"], manifest["config"]["digest"], *(d["digest"] for d in manifest["layers"])}
    stored = {"sha256:" + n.removeprefix("blobs/sha256/") for n in files if n.startswith("blobs/")}
    assert stored == referenced
    return config, layers, manifest


def test_docker_save_structure_and_layer_members(tmp_path: Path) -> None:
    out = tmp_path / "img.tar"
    mi.build_docker_save(out, sample_layers(), CONFIG, repo_tag="registry.local:5000/team/app:v1")
    config, layers = check_docker_save(out.read_bytes(), 3)
    assert config["config"] == CONFIG and config["os"] == "linux" and config["architecture"] == "amd64"
    entry = json.loads(tar_files(out.read_bytes())["manifest.json"])[0]
    assert entry["RepoTags"] == ["registry.local:5000/team/app:v1"]
    assert json.loads(tar_files(out.read_bytes())["repositories"]).keys() == {"registry.local:5000/team/app"}

    base = {m.name: m for m in members(layers[0])}
    assert base["etc/os-release"].issym() and base["etc/os-release"].linkname == "../usr/lib/os-release"
    assert base["bin/tool-link"].islnk() and base["bin/tool-link"].linkname == "bin/tool"
    assert base["bin/tool"].mode == 0o755 and base["usr/lib/os-release"].mode == 0o644
    # Parents are written before their children, as real layers carry them.
    names = [m.name for m in members(layers[0])]
    assert names.index("usr") < names.index("usr/lib") < names.index("usr/lib/os-release")
    assert base["srv/cache"].isdir()
    assert tar_files(layers[1])["app/.env"] == b"TOKEN=not-a-real-one\n"

    top = {m.name: m for m in members(layers[2])}
    assert top["app/.wh..env"].isreg() and top["app/.wh..env"].size == 0
    assert top["srv/cache/.wh..wh..opq"].isreg()
    assert "app/.env" not in top
    for layer in layers:
        for m in members(layer):
            assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", 0), m.name


def test_docker_save_with_gzip_layers(tmp_path: Path) -> None:
    out = tmp_path / "img.tar"
    mi.build_docker_save(out, sample_layers(), CONFIG, gzip_layers=True)
    files = tar_files(out.read_bytes())
    entry = json.loads(files["manifest.json"])[0]
    assert all(files[name][:2] == b"\x1f\x8b" for name in entry["Layers"])
    _, layers = check_docker_save(out.read_bytes(), 3)
    assert tar_files(layers[1])["app/main.py"] == b"print('hi')\n"


@pytest.mark.parametrize("gz", [True, False])
def test_oci_layout_directory(tmp_path: Path, gz: bool) -> None:
    out = tmp_path / "layout"
    mi.build_oci_layout(out, sample_layers(), CONFIG, gzip_layers=gz, repo_tag="example/app:v2")
    files = dir_files(out)
    config, layers, _ = check_oci(files, 3)
    assert config["config"]["ExposedPorts"] == {"5000/tcp": {}}
    assert "app/.wh..env" in {m.name for m in members(layers[2])}
    index = json.loads(files["index.json"])
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v2"


def test_oci_layout_tar_and_identical_layers_share_a_blob(tmp_path: Path) -> None:
    same = [mi.LayerEntry("a.txt", b"a\n")]
    out = tmp_path / "layout.tar"
    mi.build_oci_layout(out, [same, list(same)], {}, as_tar=True)
    data = out.read_bytes()
    config, _, manifest = check_oci(tar_files(data), 2)
    assert config["rootfs"]["diff_ids"][0] == config["rootfs"]["diff_ids"][1]
    assert manifest["layers"][0]["digest"] == manifest["layers"][1]["digest"]
    assert {"blobs", "blobs/sha256"} <= {m.name for m in members(data) if m.isdir()}


def test_the_same_input_gives_identical_bytes(tmp_path: Path) -> None:
    builds = []
    for i in (1, 2):
        d = tmp_path / str(i)
        d.mkdir()
        mi.build_docker_save(d / "img.tar", sample_layers(), CONFIG)
        mi.build_docker_save(d / "gz.tar", sample_layers(), CONFIG, gzip_layers=True)
        mi.build_oci_layout(d / "oci.tar", sample_layers(), CONFIG, as_tar=True)
        mi.build_oci_layout(d / "oci", sample_layers(), CONFIG)
        builds.append({**{n: (d / n).read_bytes() for n in ("img.tar", "gz.tar", "oci.tar")}, **dir_files(d / "oci")})
        os.utime(d, (1, 1))  # a different clock between builds changes nothing either
    assert builds[0] == builds[1]
    # The gzip header carries no name and a zero mtime.
    oci = tar_files(builds[0]["oci.tar"])
    gz_blob = next(b for n, b in oci.items() if n.startswith("blobs/") and b[:2] == b"\x1f\x8b")
    assert gz_blob[3] & 0x08 == 0 and gz_blob[4:8] == b"\0\0\0\0"
    # A changed byte in one file changes the image.
    other = sample_layers()
    other[1][0] = mi.LayerEntry("app/main.py", b"print('ho')\n")
    mi.build_docker_save(tmp_path / "other.tar", other, CONFIG)
    assert (tmp_path / "other.tar").read_bytes() != builds[0]["img.tar"]


def test_streamed_content_is_written_in_chunks(tmp_path: Path) -> None:
    chunk = bytes(range(256)) * 4096  # 1 MiB
    entry = mi.LayerEntry("models/big.bin", chunks=lambda: (chunk for _ in range(3)), size=3 * len(chunk))
    out = tmp_path / "img.tar"
    mi.build_docker_save(out, [[entry]], {})
    _, [layer] = check_docker_save(out.read_bytes(), 1)
    assert tar_files(layer)["models/big.bin"] == chunk * 3


def test_layers_from_dirs_reads_whiteouts_opaque_markers_and_symlinks(tmp_path: Path) -> None:
    one, two = tmp_path / "01-base", tmp_path / "02-top"
    (one / "etc").mkdir(parents=True)
    (one / "usr" / "lib").mkdir(parents=True)
    (one / "usr" / "lib" / "os-release").write_text("ID=debian\n")
    (one / "etc" / "os-release").symlink_to("../usr/lib/os-release")
    (one / "run.sh").write_text("#!/bin/sh\n")
    (one / "run.sh").chmod(0o775)
    (two / "app").mkdir(parents=True)
    (two / "app" / ".wh..env").write_bytes(b"")
    (two / "cache").mkdir()
    (two / "cache" / ".wh..wh..opq").write_bytes(b"")
    base, top = mi.layers_from_dirs([one, two])
    by_path = {e.path: e for e in base}
    assert by_path["etc/os-release"].kind == "symlink" and by_path["etc/os-release"].target == "../usr/lib/os-release"
    assert by_path["usr/lib/os-release"].data == b"ID=debian\n"
    assert by_path["run.sh"].mode == 0o755 and by_path["usr/lib/os-release"].mode == 0o644
    assert {(e.path, e.kind) for e in top if e.kind != "dir"} == {("app/.env", "whiteout"), ("cache", "opaque")}
    # Built into a tar, they are the members they came from.
    names = {m.name for m in members(mi.layer_bytes(top))}
    assert {"app/.wh..env", "cache/.wh..wh..opq"} <= names


def test_bad_entries_are_refused() -> None:
    with pytest.raises(mi.SpecError, match=r"'\.\.'"):
        mi.layer_bytes([mi.LayerEntry("../etc/passwd", b"x")])
    with pytest.raises(mi.SpecError, match="unknown kind"):
        mi.layer_bytes([mi.LayerEntry("a", kind="fifo")])
    with pytest.raises(mi.SpecError, match="twice"):
        mi.layer_bytes([mi.LayerEntry("a", b"1"), mi.LayerEntry("/a", b"2")])


def _layer_files(layers: list[bytes]) -> list[dict[str, bytes]]:
    return [tar_files(layer) for layer in layers]


@pytest.mark.parametrize("fmt", ["docker", "oci-dir", "oci-tar"])
def test_the_example_spec_builds(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "example"
    mi.build_from_spec(SPEC, out, fmt)
    if fmt == "docker":
        config, layers = check_docker_save(out.read_bytes(), 5)
    else:
        config, layers, _ = check_oci(dir_files(out) if fmt == "oci-dir" else tar_files(out.read_bytes()), 5)
    files = _layer_files(layers)
    base = {m.name: m for m in members(layers[0])}
    assert base["etc/os-release"].issym() and base["etc/os-release"].linkname == "../usr/lib/os-release"
    assert b"VERSION_CODENAME=bookworm" in files[0]["usr/lib/os-release"]
    site = "usr/local/lib/python3.11/site-packages/"
    assert b"Version: 2.9.2" in files[2][site + "mlflow-2.9.2.dist-info/METADATA"]
    assert site + "querystring_parser-1.2.4-py3.11.egg-info/PKG-INFO" in files[2]
    # The key is in the COPY layer and only hidden by the next one.
    assert files[3]["app/.env"].count(b"sk-proj-") == 1
    assert "app/.wh..env" in files[4] and "app/.env" not in files[4]
    cfg = config["config"]
    assert "User" not in cfg and "Healthcheck" not in cfg
    assert set(cfg["ExposedPorts"]) == {"5000/tcp", "8888/tcp"}
    assert any(e.startswith("HF_TOKEN=hf_") for e in cfg["Env"])
    made = [h["created_by"] for h in config["history"] if not h.get("empty_layer")]
    assert made[1].startswith("RUN /bin/sh -c apt-get") and made[3] == "COPY app /app # buildkit"
    assert made[4] == "RUN /bin/sh -c rm /app/.env # buildkit"
    empty = [h["created_by"] for h in config["history"] if h.get("empty_layer")]
    assert "EXPOSE map[5000/tcp:{} 8888/tcp:{}]" in empty and any(e.startswith("ENV HF_TOKEN=hf_") for e in empty)


def _dpkg(text: str) -> dict[str, dict[str, str]]:
    packages = {}
    for stanza in text.strip().split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line[:1] not in (" ", ""):  # continuation lines (descriptions, conffiles) start with a space
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        packages[fields["Package"]] = fields
    return packages


def test_the_example_spec_holds_what_the_image_scanner_should_find() -> None:
    layers = SPEC / "layers"
    assert sum(p.stat().st_size for p in SPEC.rglob("*") if p.is_file()) < 200_000
    base = _dpkg((layers / "01-debian-base" / "var/lib/dpkg/status").read_text())
    final = _dpkg((layers / "02-apt-python" / "var/lib/dpkg/status").read_text())
    assert base.keys() <= final.keys()  # dpkg rewrites the whole file: layer 2's copy is the one that counts
    libc = final["libc6"]
    assert (libc["Source"], libc["Version"], libc["Status"]) == ("glibc", "2.36-9+deb12u1", "install ok installed")
    assert final["libssl3"]["Version"] == final["openssl"]["Version"] == "3.0.11-1~deb12u2"
    assert {"bash", "ca-certificates"} <= final.keys()
    assert [p for p, f in final.items() if f["Status"] == "deinstall ok config-files"] == ["e2fsprogs"]
    # The model is a pickle whose opcodes call os.system: read as opcodes, never loaded.
    ops = [
        (op.name, arg)
        for op, arg, _ in pickletools.genops((layers / "04-copy-app/app/models/classifier.pkl").read_bytes())
    ]
    assert ("GLOBAL", "os system") in ops and ops[-2:] == [("REDUCE", None), ("STOP", None)]
    lock = json.loads((SPEC.parent / "frontend" / "package-lock.json").read_text())
    assert lock["lockfileVersion"] == 3 and lock["packages"]["node_modules/lodash"]["version"] == "4.17.20"


def run_script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_script_builds_every_format(tmp_path: Path) -> None:
    for fmt in ("docker", "oci-dir", "oci-tar"):
        out = tmp_path / fmt
        proc = run_script(SPEC, "-o", out, "--format", fmt)
        assert proc.returncode == 0, proc.stderr
        assert out.exists()
    mi.build_from_spec(SPEC, tmp_path / "again", "docker")
    assert (tmp_path / "again").read_bytes() == (tmp_path / "docker").read_bytes()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind


def _spec(root: Path) -> Path:
    (root / "layers" / "01-base" / "etc").mkdir(parents=True)
    (root / "layers" / "01-base" / "etc" / "hostname").write_text("box\n")
    (root / "config.json").write_text('{"Env": ["A=1"]}')
    return root


@pytest.mark.parametrize(
    ("breakage", "named", "says"),
    [
        (lambda s: (s / "config.json").unlink(), "config.json", "missing"),
        (lambda s: (s / "config.json").write_text('{"Env": [}'), "config.json", "invalid JSON at line 1"),
        (lambda s: (s / "config.json").write_text("[1]"), "config.json", "JSON object"),
        (lambda s: (s / "history.json").write_text('["a", "b"]'), "history.json", "2 history steps make a layer"),
        (lambda s: (s / "history.json").write_text('{"a": 1}'), "history.json", "JSON list"),
        (lambda s: (s / "layers" / "README").write_text("x"), "README", "only layer directories"),
        (lambda s: os.mkfifo(s / "layers" / "01-base" / "pipe"), "pipe", "not a regular file"),
    ],
)
def test_bad_spec_is_exit_2_naming_the_file(tmp_path: Path, breakage: Any, named: str, says: str) -> None:
    spec = _spec(tmp_path / "spec")
    assert run_script(spec, "-o", tmp_path / "ok.tar").returncode == 0
    breakage(spec)
    proc = run_script(spec, "-o", tmp_path / "out.tar")
    assert proc.returncode == 2
    assert named in proc.stderr and says in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out.tar").exists()


def test_missing_spec_dir_and_unknown_format(tmp_path: Path) -> None:
    proc = run_script(tmp_path / "nope", "-o", tmp_path / "o.tar")
    assert proc.returncode == 2 and "nope" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_script(SPEC, "-o", tmp_path / "o.tar", "--format", "zip")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_the_benchmark_generator_streams_a_valid_image(tmp_path: Path) -> None:
    """bench/bench_image.py's generator at a tiny size: the same layers the 1 GB run writes, scaled down."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_image", REPO / "bench" / "bench_image.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.tar"
    bench.generate(out, 0.002)
    _, layers = check_docker_save(out.read_bytes(), 4)
    files = _layer_files(layers)
    status = _dpkg(files[0]["var/lib/dpkg/status"].decode())
    assert len(status) == bench.N_DPKG and status["libc6"]["Version"] == "2.36-9+deb12u1"
    dist_infos = {n.split("/")[5] for n in files[1] if n.endswith(".dist-info/METADATA")}
    assert len(dist_infos) == bench.N_DIST and "mlflow-2.9.2.dist-info" in dist_infos
    blobs = [n for n in files[1] if n.endswith(".so")]
    assert len(blobs) == bench.N_BLOBS - bench.N_BLOBS // 4
    assert len(files[1][blobs[0]]) == int(bench.BLOB_MB * bench.MB * 0.002)
    assert "app/.env" in files[2] and list(files[3]) == ["app/.wh..env"]
    assert sum(1 for n in files[0] if n.startswith("usr/share/doc/")) == bench.N_DOCS
