#!/usr/bin/env python3
"""Benchmark: `aisec-ci image` on a large generated `docker save` tarball.

    python bench/bench_image.py                     # ~1 GB image in a temporary directory
    python bench/bench_image.py --size-gb 4 --keep /tmp/img
    python bench/bench_image.py --size-gb 0.02 --generate-only --keep /tmp/img

The image is written with tools/make_image.py, streamed: file contents come
from seeded generators chunk by chunk and each layer goes through a temporary
file, so neither this script nor the builder ever holds a large file in
memory (the temporary layers need about as much disk again as the image).

Layers, as a model-serving image built on Debian would have them:

1. base: os-release, a dpkg status of ~300 packages (glibc at a version
   DSA-5514-1 fixes), a few thousand small copyright/doc files and
   shared-library blobs;
2. pip install: ~400 site-packages `*.dist-info` directories (METADATA,
   RECORD, INSTALLER; mlflow 2.9.2 among them) and the big native extensions
   (`.so`);
3. COPY app: a few hundred Python modules, a `.env` with a synthetic OpenAI-style
   key, model files (safetensors, an `.onnx`/`.bin` blob, a small pickle that
   calls os.system, written as opcodes);
4. `RUN rm /app/.env`: a whiteout; the key stays in layer 3.

Blob bytes are pseudo-random (incompressible, as real binaries and weights
mostly are), so a scanner cannot skim them faster than the disk gives them.
With the default --size-gb 1 there are 20 blobs of 40 MB and two 100 MB models.

Then one `python -m aisec_ci image TAR --offline --format json -o r.json` is
timed: wall time, peak RSS of the child (GNU time's %M when /usr/bin/time
exists, else os.wait4's ru_maxrss) and the number of findings. A command that
fails (exit not 0 or 1, for example while `image` does not exist yet) is
reported with the end of its stderr, and the script exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "bench"))

from harness import machine  # noqa: E402  (bench/ is the script's directory)
from make_image import LayerEntry, build_docker_save  # noqa: E402

MB = 1000 * 1000
CHUNK = 1024 * 1024
TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
N_DPKG = 300
N_DIST = 400
N_DOCS = 3000
N_APP = 400
N_BLOBS = 20
BLOB_MB = 40  # at --size-gb 1
MODEL_MB = 100  # at --size-gb 1, two of them


def random_bytes(seed: int, size: int) -> Callable[[], Iterator[bytes]]:
    """A chunk generator of `size` pseudo-random bytes (the same for the same seed)."""

    def chunks() -> Iterator[bytes]:
        rng = random.Random(seed)
        left = size
        while left > 0:
            n = min(CHUNK, left)
            yield rng.randbytes(n)
            left -= n

    return chunks


def blob(path: str, seed: int, size: int, head: bytes = b"") -> LayerEntry:
    """A big file: `head` (a format's magic) then pseudo-random bytes, `size` in total."""
    body = random_bytes(seed, max(0, size - len(head)))

    def chunks() -> Iterator[bytes]:
        yield head
        yield from body()

    return LayerEntry(path, chunks=chunks, size=max(size, len(head)), mode=0o755 if path.endswith(".so") else 0o644)


def dpkg_status(rng: random.Random) -> bytes:
    stanzas = [
        "Package: libc6\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 12987\n"
        "Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\nArchitecture: amd64\nMulti-Arch: same\n"
        "Source: glibc\nVersion: 2.36-9+deb12u1\nDepends: libgcc-s1\nDescription: GNU C Library: Shared libraries\n"
        " Contains the standard libraries that are used by nearly all programs on\n the system.\n",
        "Package: libssl3\nStatus: install ok installed\nPriority: optional\nSection: libs\nInstalled-Size: 6323\n"
        "Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\nArchitecture: amd64\n"
        "Multi-Arch: same\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nDepends: libc6 (>= 2.34)\n"
        "Description: Secure Sockets Layer toolkit - shared libraries\n",
    ]
    for i in range(N_DPKG - len(stanzas)):
        name = f"lib{rng.choice(['x', 'gl', 'py', 'ssl', 'z', 'bench', 'ml'])}{i:03d}-{rng.randint(0, 9)}"
        status = "deinstall ok config-files" if i % 97 == 0 else "install ok installed"
        stanzas.append(
            f"Package: {name}\nStatus: {status}\nPriority: optional\nSection: libs\n"
            f"Installed-Size: {rng.randint(10, 9000)}\nMaintainer: Debian QA Group <packages@qa.debian.org>\n"
            f"Architecture: amd64\nSource: src{i:03d}\nVersion: {rng.randint(0, 9)}.{rng.randint(0, 40)}-{i % 7 + 1}\n"
            f"Depends: libc6 (>= 2.34)\nDescription: generated package {i}\n A line of long description.\n"
        )
    return "\n".join(sorted(stanzas)).encode()


def base_layer(scale: float, rng: random.Random) -> list[LayerEntry]:
    entries = [
        LayerEntry("usr/lib/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'),
        LayerEntry("etc/os-release", kind="symlink", target="../usr/lib/os-release"),
        LayerEntry("var/lib/dpkg/status", dpkg_status(rng)),
    ]
    for i in range(N_DOCS):
        words = " ".join(rng.choice(["copyright", "license", "GPL", "the", "software", "may"]) for _ in range(200))
        entries.append(LayerEntry(f"usr/share/doc/pkg{i // 10:03d}/file{i % 10}.txt", f"{words}\n".encode()))
    for i in range(N_BLOBS // 4):
        entries.append(
            blob(f"usr/lib/x86_64-linux-gnu/libbench{i}.so.1", 100 + i, int(BLOB_MB * MB * scale), b"\x7fELF")
        )
    return entries


def site_layer(scale: float, rng: random.Random) -> list[LayerEntry]:
    site = "usr/local/lib/python3.11/site-packages"
    entries = []
    dists = [("mlflow", "2.9.2"), ("numpy", "1.26.4")]
    dists += [(f"benchpkg{i:03d}", f"{rng.randint(0, 5)}.{rng.randint(0, 30)}.{i % 9}") for i in range(N_DIST - 2)]
    for name, version in dists:
        info = f"{site}/{name}-{version}.dist-info"
        meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: generated for the benchmark\n"
        entries += [
            LayerEntry(f"{info}/METADATA", meta.encode()),
            LayerEntry(f"{info}/INSTALLER", b"pip\n"),
            LayerEntry(f"{info}/RECORD", f"{name}/__init__.py,,\n{info}/METADATA,,\n{info}/RECORD,,\n".encode()),
            LayerEntry(f"{site}/{name}/__init__.py", f'__version__ = "{version}"\n'.encode()),
        ]
    for i in range(N_BLOBS - N_BLOBS // 4):
        so = f"{site}/benchpkg{i:03d}/_native{i}.cpython-311-x86_64-linux-gnu.so"
        entries.append(blob(so, 200 + i, int(BLOB_MB * MB * scale), b"\x7fELF"))
    return entries


def app_layer(scale: float) -> list[LayerEntry]:
    rng = random.Random(7)
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    key = "sk-proj-" + "".join(rng.choice(alphabet) for _ in range(74))
    key += "T3BlbkFJ" + "".join(rng.choice(alphabet) for _ in range(74))
    command = b"echo aisec-ci bench payload"
    # protocol 2: GLOBAL os system, BINUNICODE, TUPLE1, REDUCE, STOP (opcodes written, nothing pickled)
    payload = b"\x80\x02cos\nsystem\nq\x00X" + len(command).to_bytes(4, "little") + command + b"\x85R."
    entries = [
        # Synthetic key: the right shape, no account behind it.
        LayerEntry("app/.env", f"OPENAI_API_KEY={key}\n".encode()),
        LayerEntry("app/models/tokenizer.pkl", payload),
        # safetensors: an 8-byte little-endian header length, then the JSON header.
        blob("app/models/model.safetensors", 300, int(MODEL_MB * MB * scale), b"\x08" + bytes(7) + b"{}      "),
        blob("app/models/encoder.onnx", 301, int(MODEL_MB * MB * scale), b"\x08\x07\x12\x07pytorch"),
    ]
    for i in range(N_APP):
        entries.append(LayerEntry(f"app/src/module{i:03d}.py", f"def handler_{i}(x):\n    return x * {i}\n".encode()))
    return entries


def generate(out: Path, size_gb: float) -> None:
    scale = size_gb  # the blob sizes above are for 1 GB
    rng = random.Random(20240601)
    layers = [
        base_layer(scale, rng),
        site_layer(scale, rng),
        app_layer(scale),
        [LayerEntry("app/.env", kind="whiteout")],
    ]
    config = {
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "ExposedPorts": {"5000/tcp": {}}},
        "history": [
            "/bin/sh -c #(nop) ADD file:bench in / ",
            "RUN /bin/sh -c pip install -r requirements.txt # buildkit",
            "COPY app /app # buildkit",
            "RUN /bin/sh -c rm /app/.env # buildkit",
        ],
    }
    build_docker_save(out, layers, config, repo_tag="bench/model-server:latest")


def scan(tar: Path, work: Path) -> tuple[float, float, int, str | None]:
    """(wall seconds, peak RSS MiB, findings, problem) of one `aisec-ci image` run."""
    report = work / "r.json"
    report.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "aisec_ci", "image", str(tar), "--offline", "--format", "json", "-o", str(report)]
    rss_file = work / "rss.txt"
    if TIME_BIN:
        # wait4's peak would include the pre-exec copy of this process; time's child is forked small.
        cmd = [TIME_BIN, "-f", "%M", "-o", str(rss_file), *cmd]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    # Neutral working directory: `python -m` puts it first on sys.path.
    proc = subprocess.Popen(cmd, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    peak_kib = usage.ru_maxrss
    if TIME_BIN and rss_file.is_file():
        # time also writes "Command exited with non-zero status N" first; the figure is last.
        with contextlib.suppress(ValueError, IndexError):
            peak_kib = int(rss_file.read_text().split()[-1])
    if code not in (0, 1):
        tail = stderr.decode(errors="replace").strip()[-400:] or "(no stderr)"
        return elapsed, peak_kib / 1024, 0, f"exit {code}: {tail}"
    try:
        findings = len(json.loads(report.read_text(encoding="utf-8"))["findings"])
    except (OSError, ValueError, KeyError) as exc:
        return elapsed, peak_kib / 1024, 0, f"exit {code} but no readable report at {report}: {exc}"
    return elapsed, peak_kib / 1024, findings, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-gb", type=float, default=1.0, help="approximate image size in GB (default: 1)")
    parser.add_argument("--keep", type=Path, help="write the image and report here and keep them")
    parser.add_argument("--generate-only", action="store_true", help="build the image, do not scan it")
    args = parser.parse_args()
    if args.size_gb <= 0:
        parser.error("--size-gb must be positive")
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="aisec-bench-image-") as name:
        work = Path(name)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            work = args.keep
        tar = work / "image.tar"
        free = shutil.disk_usage(work).free
        if free < 2.2 * args.size_gb * 1e9:
            print(f"warning: {free / 1e9:.1f} GB free in {work}; the build needs about {2 * args.size_gb:.1f} GB")
        started = time.perf_counter()
        generate(tar, args.size_gb)
        gen_s = time.perf_counter() - started
        # ru_maxrss of this process: shows the build streamed instead of holding the image.
        own_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = tar.stat().st_size / 1e9
        print(f"image: {tar} {size:.3f} GB, built in {gen_s:.1f} s (builder peak RSS {own_mib:.0f} MiB)")
        if args.generate_only:
            return 0
        elapsed, rss, findings, problem = scan(tar, work)
        if problem:
            print(f"aisec-ci image FAILED after {elapsed:.1f} s: {problem}")
            return 1
        print(f"aisec-ci image: {elapsed:.1f} s wall, peak RSS {rss:.0f} MiB, {findings} findings")
        if args.keep:
            print(f"kept: {tar}, {work / 'r.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
