"""False-positive and false-negative patterns of model files seen in real ML repositories (issue 13):
compressed joblib dumps and prepended zips skipped as binary, empty non-model archive members
called malformed models, and a whole PyTorch model's own `__main__` class reported at medium."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, write_tree

EXEC = "models/pickle-code-execution"
UNKNOWN = "models/pickle-unknown-import"
MALFORMED = "models/malformed-model"
UNSCANNABLE = "models/unscannable-container"
FORMAT = "models/pickle-format"

# Written by hand: what `pickle.dumps` of an object whose __reduce__ returns (os.system, ("id",)) holds.
PAYLOAD = (
    b"\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94."
)
# A plain estimator-like dict, as joblib would dump a fitted model's state (dumped, never loaded).
PLAIN = pickle.dumps({"coef_": [0.5, -1.25, 3.0], "intercept_": 0.1, "classes_": ["cat", "dog"]}, protocol=4)


def scan(root: Path) -> dict[str, Any]:
    proc = run_cli("scan", root, "--scanners", "models", "--no-git", "--quiet", "--profile", "audit", "-f", "json")
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def by_path(report: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for f in report["findings"]:
        out.setdefault(f["path"], []).append((f["rule_id"], f["severity"]))
    return out


def skipped(report: dict[str, Any]) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in report["skipped"]}


def joblib_zfile(data: bytes) -> bytes:
    """joblib < 0.10 `compress=True`: "ZF", the hex length padded to 19 characters, then zlib."""
    return b"ZF" + hex(len(data)).encode().ljust(19) + zlib.compress(data)


COMPRESSED: dict[str, bytes] = {
    # joblib.dump(obj, "model.pkl.z") and compress=True / compress=3 write raw zlib at level 3.
    "models/model.pkl.z": zlib.compress(PAYLOAD, 3),
    "models/clf.joblib": zlib.compress(PAYLOAD, 3),
    "models/legacy.pkl.zf": joblib_zfile(PAYLOAD),
    "models/model.pkl.gz": gzip.compress(PAYLOAD),
    "models/model.pkl.bz2": bz2.compress(PAYLOAD),
    "models/model.pkl.xz": lzma.compress(PAYLOAD),
    # joblib's .lzma is the lzma "alone" format.
    "models/model.pkl.lzma": lzma.compress(PAYLOAD, format=lzma.FORMAT_ALONE),
}


@pytest.mark.parametrize("path", sorted(COMPRESSED))
def test_compressed_joblib_dumps_are_decompressed_and_scanned(tmp_path: Path, path: str) -> None:
    write_tree(tmp_path, {path: COMPRESSED[path], "models/plain.pkl.z": zlib.compress(PLAIN, 3)})
    report = scan(tmp_path)
    found = by_path(report)
    assert (EXEC, "critical") in found.get(path, []), (found, skipped(report))
    # A harmless compressed dump is a pickle note, nothing more.
    assert found["models/plain.pkl.z"] == [(FORMAT, "info")]
    assert path not in skipped(report)


def test_zlib_looking_text_and_binaries_stay_out_of_the_model_scanner(tmp_path: Path) -> None:
    # `x^` is a valid zlib header; text and non-deflate bytes after it must not become models.
    write_tree(
        tmp_path,
        {
            "notes/formula.txt": "x^2 + y^2 = r^2\n",
            "data/blob.bin.z": b"\x78\x9c" + bytes(range(256)) * 4,
            "data/frame.dat": b"\x04\x22\x4d\x18\x00\x00" + b"\x00" * 64,
        },
    )
    report = scan(tmp_path)
    assert report["findings"] == []
    reasons = skipped(report)
    assert reasons["data/blob.bin.z"] == "binary file"
    assert reasons["data/frame.dat"] == "binary file"


def test_compressed_bomb_is_bounded(tmp_path: Path) -> None:
    # A pickle whose 256 MiB byte string of zeros deflates 1000:1: the ratio cap stops the
    # stream as it is read, before anything is held in memory.
    size = 256 << 20
    packer = zlib.compressobj(9)
    parts = [packer.compress(b"\x80\x04\x8e" + size.to_bytes(8, "little"))]
    zeros = bytes(16 << 20)
    parts += [packer.compress(zeros) for _ in range(size // len(zeros))]
    parts += [packer.compress(b"."), packer.flush()]
    write_tree(tmp_path, {"models/bomb.pkl.z": b"".join(parts)})
    report = scan(tmp_path)
    bomb = [f for f in report["findings"] if f["path"] == "models/bomb.pkl.z" and f["rule_id"] == UNSCANNABLE]
    assert bomb and "decompression bomb" in bomb[0]["message"], report["findings"]


def zip_with(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_with_prepended_bytes_is_found_from_its_end(tmp_path: Path) -> None:
    stub = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200  # a self-extractor stub before the archive
    write_tree(
        tmp_path,
        {
            "bundle/model_bundle.dat": stub + zip_with({"model/weights.pkl": PAYLOAD, "README": b"weights\n"}),
            "bundle/plain_bundle.dat": stub + zip_with({"model/weights.pkl": PLAIN}),
            "bundle/random.dat": stub + bytes(range(256)) * 8 + b"PK\x05\x06" + b"\x00" * 10,
        },
    )
    report = scan(tmp_path)
    found = by_path(report)
    assert (EXEC, "critical") in found["bundle/model_bundle.dat"], (found, skipped(report))
    assert (FORMAT, "info") in found["bundle/plain_bundle.dat"]
    # Chance bytes that look like an end record do not make a binary a zip.
    assert skipped(report)["bundle/random.dat"] == "binary file"


def test_empty_members_that_are_not_models_are_not_malformed_models(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("non_yaml_file.foo", b""), ("model/model.pkl", b""), ("arguments.yaml", b"a: 1\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    write_tree(
        tmp_path,
        {
            "test/non_yaml_tarball.tar.gz": buf.getvalue(),
            "models/empty.pkl": b"",
            "models/net.pt": zip_with({"archive/data.pkl": PLAIN, "archive/.data/version": b""}),
        },
    )
    report = scan(tmp_path)
    found = by_path(report)
    messages = [f["message"] for f in report["findings"] if f["rule_id"] == MALFORMED]
    assert not any("non_yaml_file.foo" in m for m in messages), messages
    assert not any(".data/version" in m for m in messages), messages
    # A member or a file that is named as a model and empty is still worth a note.
    assert (MALFORMED, "info") in found["models/empty.pkl"]
    assert any(m.startswith("model/model.pkl:") for m in messages), messages


def torch_full_model(module: bytes, name: bytes) -> bytes:
    """The data.pkl of torch.save(model) for a class defined in the training script (written by hand)."""
    return (
        b"\x80\x02c" + module + b"\n" + name + b"\nq\x00)\x81q\x01}q\x02(X\x08\x00\x00\x00trainingq\x03\x88"
        b"X\x0b\x00\x00\x00_parametersq\x04ccollections\nOrderedDict\nq\x05)Rq\x06ub."
    )


def test_whole_pytorch_model_with_its_own_main_class_is_low(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "checkpoints/net.pt": zip_with(
                {"net/data.pkl": torch_full_model(b"__main__", b"MyNet"), "net/version": b"3\n"}
            ),
            "checkpoints/other.pt": zip_with({"other/data.pkl": torch_full_model(b"__main__", b"system")}),
            "checkpoints/lib.pt": zip_with({"lib/data.pkl": torch_full_model(b"mylib.nets", b"MyNet")}),
        },
    )
    report = scan(tmp_path)
    found = by_path(report)
    assert (UNKNOWN, "low") in found["checkpoints/net.pt"], found
    assert not any(sev in ("medium", "high", "critical") for _, sev in found["checkpoints/net.pt"]), found
    message = next(
        f["message"] for f in report["findings"] if f["path"] == "checkpoints/net.pt" and f["rule_id"] == UNKNOWN
    )
    assert "__main__.MyNet" in message and "script that saved the model" in message
    # Not a class name: `__main__.system` is whatever the loading script imported under that name.
    assert (UNKNOWN, "medium") in found["checkpoints/other.pt"]
    # A class of an unknown package keeps its severity.
    assert (UNKNOWN, "medium") in found["checkpoints/lib.pt"]


def test_zipapp_launcher_before_the_archive_is_a_note_but_before_a_torch_file_it_is_not(tmp_path: Path) -> None:
    launcher = b"#!/usr/bin/env python3\n"
    app = zip_with({"__main__.py": b"import app\napp.run()\n", "app/__init__.py": b"def run():\n    pass\n"})
    write_tree(
        tmp_path,
        {
            "dist/tool.pyz": launcher + b"\x00" + app,
            "checkpoints/model.pt": b"\x80\x02}q\x00." + zip_with({"archive/data.pkl": PLAIN}),
        },
    )
    found = by_path(scan(tmp_path))
    assert found.get("dist/tool.pyz", []) in ([], [(MALFORMED, "info")]), found
    # torch.load reads a file that does not start with a zip header as a legacy pickle.
    assert (MALFORMED, "medium") in found["checkpoints/model.pt"], found
