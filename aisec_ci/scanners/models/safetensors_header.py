"""safetensors header and offset validation.

The format cannot run code, but a header whose offsets overlap, leave holes
or run past the file is how parser bugs in loaders are reached, and is never
produced by a real writer.
"""

from __future__ import annotations

import json
import struct

from aisec_ci.scanners.models.stream import Blob

MAX_HEADER = 100 << 20
DTYPE_BITS = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "F64": 64,
    "I64": 64,
    "U64": 64,
    "C64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}


def safetensors_problems(blob: Blob) -> list[str]:
    size = blob.size()
    head = blob.read_at(0, 8)
    if len(head) < 8:
        return ["file is shorter than the 8-byte header length"]
    (n,) = struct.unpack("<Q", head)
    if 8 + n > size:
        return [f"header length {n} is more than the file holds ({size} bytes)"]
    if n > MAX_HEADER:
        return [f"header length {n} exceeds the {MAX_HEADER}-byte limit"]
    if n < 2:
        return [f"header length {n} is too short for a JSON object"]
    try:
        header = json.loads(blob.read_at(8, n))
    except (ValueError, RecursionError):
        return ["header is not valid JSON"]
    if not isinstance(header, dict):
        return ["header is not a JSON object"]
    data_len = size - 8 - n
    problems: list[str] = []
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                problems.append("__metadata__ must map strings to strings")
            continue
        if not isinstance(entry, dict):
            problems.append(f"tensor {name[:60]!r} is not an object")
            continue
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in DTYPE_BITS:
            problems.append(f"tensor {name[:60]!r} has unknown dtype {str(dtype)[:20]!r}")
            continue
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            problems.append(f"tensor {name[:60]!r} has an invalid shape")
            continue
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(o, int) for o in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data_len
        ):
            problems.append(f"tensor {name[:60]!r} has data offsets outside the file")
            continue
        count = 1
        for d in shape:
            count *= d
        if (count * DTYPE_BITS[dtype] + 7) // 8 != offsets[1] - offsets[0]:
            problems.append(f"tensor {name[:60]!r}: {offsets[1] - offsets[0]} bytes do not match its shape and dtype")
        spans.append((offsets[0], offsets[1], name))
    spans.sort()
    cursor = 0
    for begin, end, name in spans:
        if begin < cursor:
            problems.append(f"tensor {name[:60]!r} overlaps another tensor's data")
        elif begin > cursor:
            problems.append(f"a gap of {begin - cursor} bytes precedes tensor {name[:60]!r}")
        cursor = max(cursor, end)
    if spans and cursor != data_len:
        problems.append(f"{data_len - cursor} bytes after the last tensor are not indexed")
    return problems[:20]
