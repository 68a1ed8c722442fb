"""Identify a model file's format from its bytes, never from its name alone.

A file may be two things at once (a pickle followed by a zip is both a
valid pickle for `pickle.load` and a valid zip for `torch.load`), so
`identify` returns every view that applies.
"""

from __future__ import annotations

import json
import lzma
import re
import struct
import zlib

from aisec_ci.scanners.models.pickle_machine import OPCODES, Budget, Machine
from aisec_ci.scanners.models.stream import Blob, BytesBlob
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
    # safetensors first: its header length's low byte may be 0x80 or 0x78, which
    # the pickle and zlib checks below would claim (a 640-byte header is 80 02 ...).
    if _is_safetensors(head):
        return "safetensors"
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
    if _is_lz4_frame(head):
        return "lz4"
    return None


_JOBLIB_ZFILE = re.compile(rb"ZF0x[0-9a-fA-F]{1,16}L? *")
_PROBE_OUTPUT = 64


def compressed_model(head: bytes) -> str | None:
    """The wrapper of a compressed pickle or array whose magic is too short to trust alone.

    joblib's `compress=` writes raw zlib (2 header bytes, the first 0x78), lzma
    "alone" (0x5D then the dictionary size), lz4 frames and, before 0.10, "ZF"
    files. Text can start with `x^` too, so zlib and lzma heads count only when
    their first bytes inflate to a pickle or another model format. Nothing is
    inflated beyond `_PROBE_OUTPUT` bytes, so a bomb costs nothing here.
    """
    if not head:
        return None
    first = head[0]
    if first == 0x04:
        return "lz4" if _is_lz4_frame(head) else None
    if first == 0x5A:  # "Z"
        match = _JOBLIB_ZFILE.match(head)
        if match is None or match.end() not in (2 + 19, 2 + 19 + 1):
            return None
        return "joblib-zfile" if _inflates_to_model(head[match.end() :], "zlib") else None
    if first == 0x78 and identify_head(head) == "zlib":
        return "zlib" if _inflates_to_model(head, "zlib") else None
    if first == 0x5D and identify_head(head) == "lzma":
        return "lzma" if _inflates_to_model(head, "lzma") else None
    return None


def _inflates_to_model(data: bytes, method: str) -> bool:
    try:
        if method == "zlib":
            inner = zlib.decompressobj().decompress(data, _PROBE_OUTPUT)
        else:
            inner = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(data, _PROBE_OUTPUT)
    except (zlib.error, lzma.LZMAError, EOFError):
        return False
    return bool(inner) and (identify_head(inner) is not None or inner[0] in TEXT_PICKLE_FIRST_BYTES)


def _is_lz4_frame(head: bytes) -> bool:
    # Frame magic, then a descriptor whose version bits are 01 and reserved bits 0.
    return (
        len(head) >= 7
        and head[:4] == b"\x04\x22\x4d\x18"
        and head[4] >> 6 == 1
        and head[4] & 0x02 == 0
        and head[5] & 0x8F == 0
    )


def looks_like_text_pickle(head: bytes) -> bool:
    """Protocol 0/1 pickles have no magic; they start with an ASCII opcode byte
    (protocol 2+ opcodes only follow a PROTO header in real pickles)."""
    return bool(head) and head[0] < 0x80 and head[0] in OPCODES


TEXT_PICKLE_FIRST_BYTES = frozenset(b"c(\x80")
"""How protocol 0/1 pickles start: GLOBAL (an object), MARK (a tuple, list or dict) or PROTO."""

_PARTIAL_MIN_OPCODES = 32


def is_pickle_prefix(head: bytes, *, whole: bool) -> bool:
    """Whether a text file's first bytes are a pickle, by replaying them on the pickle machine.

    `head` is the start of the file (all of it when `whole`). Text that merely
    starts with `c` or `(` breaks within a few opcodes (`cd build` is GLOBAL
    `d build` and then no opcode; `(a, b)` pops from an empty stack), so this
    accepts only: a pickle that reaches STOP at the end of the file, or after
    an import; one that calls an imported name before it breaks (loaders run
    those opcodes); or, when the head is a prefix of a longer file, a long run
    of valid opcodes that stops only because the prefix ends.
    """
    if not head or head[0] not in TEXT_PICKLE_FIRST_BYTES:
        return False
    stream = BytesBlob(head).stream()
    machine = Machine(stream, budget=Budget(opcodes=len(head), memory=64 * len(head) + (1 << 20)))
    result = machine.run()
    if result.limit:
        return False
    if result.error is None:
        return result.stopped and (result.eventful or (whole and stream.at_eof()))
    if result.eventful and result.calls:
        return True
    # A long prefix must also build something (a container, memo entry or call) and
    # import only well-formed names: lines of code that each start with `c` parse as
    # a run of GLOBALs, and a run of `(` as nothing but marks.
    return (
        not whole
        and result.error.truncated
        and result.opcodes >= _PARTIAL_MIN_OPCODES
        and machine.retained > 0
        and all(g.well_formed for g in result.imports)
    )


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
    ".p",  # a pickle by convention, but also Pascal/OpenEdge source: content must say pickle
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
