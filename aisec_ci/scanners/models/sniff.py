"""Identify a model file's format from its bytes, never from its name alone.

A file may be two things at once (a pickle followed by a zip is both a
valid pickle for `pickle.load` and a valid zip for `torch.load`), so
`identify` returns every view that applies.
"""

from __future__ import annotations

import json
import struct

from aisec_ci.scanners.models.pickle_machine import OPCODES
from aisec_ci.scanners.models.stream import Blob
from aisec_ci.scanners.models.zip_walker import find_eocd

# lzma "alone" streams (joblib's .lzma) start with properties 0x5D and a power-of-two dictionary size.
_LZMA_DICT_SIZES = frozenset((1 << n).to_bytes(4, "little") for n in range(16, 31))

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill", ".sav", ".pck", ".pt", ".pth", ".ckpt", ".bin", ".data")
"""Names whose content loaders hand to an unpickler (directly or after a torch magic check)."""


def identify(head: bytes, blob: Blob | None = None) -> list[str]:
    """Formats the bytes start with (and 'zip' for an archive found at the end)."""
    views: list[str] = []
    first = identify_head(head)
    if first is not None:
        views.append(first)
    if blob is not None and first != "zip" and first not in ("tar",) and find_eocd(blob) is not None:
        views.append("zip")
    return views


def identify_head(head: bytes) -> str | None:
    if len(head) >= 2 and head[0] == 0x80 and head[1] <= 5:
        return "pickle"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"BZh") and len(head) >= 10 and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bzip2"
    if head.startswith(b"ZF0x"):
        return "joblib-zfile"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    if len(head) >= 13 and head[0] == 0x5D and head[1:5] in _LZMA_DICT_SIZES:
        return "lzma"
    if _is_hdf5(head):
        return "hdf5"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith(b"GGUF"):
        return "gguf"
    if _is_safetensors(head):
        return "safetensors"
    return None


def looks_like_text_pickle(head: bytes) -> bool:
    """Protocol 0/1 pickles have no magic; they start with an ASCII opcode byte
    (protocol 2+ opcodes only follow a PROTO header in real pickles)."""
    return bool(head) and head[0] < 0x80 and head[0] in OPCODES


def _is_hdf5(head: bytes) -> bool:
    sig = b"\x89HDF\r\n\x1a\n"
    offset = 0
    while offset + 8 <= len(head):
        if head[offset : offset + 8] == sig:
            return True
        offset = 512 if offset == 0 else offset * 2
    return False


def _is_safetensors(head: bytes) -> bool:
    if len(head) < 10:
        return False
    (n,) = struct.unpack_from("<Q", head)
    if not 2 <= n <= 100 << 20 or head[8:9] != b"{":
        return False
    if n + 8 <= len(head):
        try:
            return isinstance(json.loads(head[8 : 8 + n]), dict)
        except ValueError:
            return False
    return True


MODEL_SUFFIXES = (
    ".npy",
    ".npz",
    ".h5",
    ".hdf5",
    ".keras",
    ".safetensors",
    ".gguf",
    ".onnx",
    ".pb",
    ".mar",
    ".nemo",
    ".pdparams",
    ".msgpack",
    ".model",
    ".tflite",
    ".mlmodel",
)


def is_model_name(name: str) -> bool:
    """Whether a file or member name says it holds a model (where unscannable content matters)."""
    return is_pickle_name(name) or name.lower().endswith(MODEL_SUFFIXES)


def is_pickle_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(PICKLE_SUFFIXES) or lower.rsplit("/", 1)[-1] in ("data.pkl", "constants.pkl")
