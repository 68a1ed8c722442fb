"""Just enough of the protobuf wire format to walk ONNX and TensorFlow graphs.

Fields are read from a `Blob` by offset, so large tensor payloads are
stepped over by their length and never read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aisec_ci.scanners.models.stream import Blob

MAX_FIELDS = 5_000_000


class WireError(Exception):
    pass


@dataclass(frozen=True)
class Field:
    number: int
    wire_type: int
    value: int
    """The varint for wire type 0; the payload length for wire type 2."""
    offset: int
    """Where a length-delimited payload starts."""


def _varint(blob: Blob, pos: int, end: int) -> tuple[int, int]:
    raw = blob.read_at(pos, min(10, end - pos))
    result = 0
    for i, byte in enumerate(raw):
        result |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return result, pos + i + 1
    raise WireError(f"truncated or overlong varint at offset {pos}")


def fields(blob: Blob, start: int, end: int, budget: list[int]) -> Iterator[Field]:
    """Every field of the message in [start, end); `budget[0]` bounds fields read per file."""
    pos = start
    while pos < end:
        budget[0] -= 1
        if budget[0] < 0:
            raise WireError("too many protobuf fields")
        key, pos = _varint(blob, pos, end)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at offset {pos}")
        if wire_type == 0:
            value, pos = _varint(blob, pos, end)
            yield Field(number, 0, value, pos)
        elif wire_type == 1:
            pos += 8
        elif wire_type == 2:
            length, pos = _varint(blob, pos, end)
            if pos + length > end:
                raise WireError(f"field {number} runs past its message at offset {pos}")
            yield Field(number, 2, length, pos)
            pos += length
        elif wire_type == 5:
            pos += 4
        else:
            raise WireError(f"unsupported wire type {wire_type} at offset {pos}")
    if pos > end:
        raise WireError("message runs past its end")


def text(blob: Blob, f: Field, cap: int = 4096) -> str:
    return blob.read_at(f.offset, min(f.value, cap)).decode("utf-8", "replace")
