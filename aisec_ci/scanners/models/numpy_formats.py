"""NumPy `.npy` headers and joblib's inline arrays, parsed without NumPy.

numpy's private header API has changed between releases (it broke
modelscan), so the header is read here: magic, version, a length, then a
Python dict literal evaluated with `ast.literal_eval` (literals only).
"""

from __future__ import annotations

import ast
import re
import struct
from dataclasses import dataclass
from typing import Any

from aisec_ci.scanners.models.pickle_machine import Call, Global, Machine, PDict, PickleError, analyse_stream
from aisec_ci.scanners.models.stream import ByteStream

NPY_MAGIC = b"\x93NUMPY"
MAX_HEADER = 1 << 16


class NpyError(Exception):
    pass


@dataclass
class NpyHeader:
    descr: Any
    shape: tuple[int, ...]
    fortran_order: bool
    data_offset: int

    @property
    def has_object(self) -> bool:
        return _descr_has_object(self.descr)


def _descr_has_object(descr: Any, depth: int = 0) -> bool:
    if depth > 32:
        return True
    if isinstance(descr, str):
        return "O" in descr.lstrip("<>|=")[:1]
    if isinstance(descr, (list, tuple)):
        return any(_descr_has_object(item, depth + 1) for item in descr)
    return False


def read_npy_header(stream: ByteStream) -> NpyHeader:
    """Parse the header at the stream's position and leave the stream at the data."""
    start = stream.tell()
    head = stream.read(8)
    if len(head) < 8 or not head.startswith(NPY_MAGIC):
        raise NpyError("not an .npy file (bad magic)")
    major = head[6]
    if major == 1:
        raw = stream.read(2)
        if len(raw) < 2:
            raise NpyError("truncated .npy header")
        (length,) = struct.unpack("<H", raw)
    elif major in (2, 3):
        raw = stream.read(4)
        if len(raw) < 4:
            raise NpyError("truncated .npy header")
        (length,) = struct.unpack("<I", raw)
    else:
        raise NpyError(f"unsupported .npy version {major}.{head[7]}")
    if length > MAX_HEADER:
        raise NpyError(f".npy header of {length} bytes is implausibly large")
    text_raw = stream.read(length)
    if len(text_raw) < length:
        raise NpyError("truncated .npy header")
    try:
        text = text_raw.decode("utf-8" if major == 3 else "latin-1")
        header = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError, UnicodeDecodeError) as exc:
        raise NpyError(f"invalid .npy header: {type(exc).__name__}") from None
    if not isinstance(header, dict) or not {"descr", "shape", "fortran_order"} <= set(header):
        raise NpyError("invalid .npy header: missing descr/shape/fortran_order")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise NpyError("invalid .npy header: bad shape")
    return NpyHeader(header["descr"], shape, bool(header["fortran_order"]), stream.tell() - start)


# --- joblib ------------------------------------------------------------------------------

JOBLIB_WRAPPERS = frozenset(
    {
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    }
)
_DTYPE_CODE = re.compile(r"^[<>|=]?([a-zA-Z])(\d*)")
_DEFAULT_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8, "q": 8, "Q": 8, "e": 2}
_DEFAULT_SIZES.update({"f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32, "O": 8, "?": 1, "M": 8, "m": 8})


def _class_of(value: Any) -> str:
    """The class an emulated object was constructed from (NEWOBJ, REDUCE or copyreg._reconstructor)."""
    if not (isinstance(value, Call) and isinstance(value.func, Global)):
        return ""
    name = value.func.dotted
    if name in ("copyreg._reconstructor", "copy_reg._reconstructor") and isinstance(value.args, tuple):
        first = value.args[0] if value.args else None
        return first.dotted if isinstance(first, Global) else ""
    return name


def dtype_info(dtype: Any) -> tuple[int, bool] | None:
    """(itemsize, has_object) of a pickled `numpy.dtype(code, ...)` object, when knowable."""
    if not (isinstance(dtype, Call) and isinstance(dtype.args, tuple) and dtype.args):
        return None
    code = dtype.args[0]
    if not isinstance(code, str):
        return None
    match = _DTYPE_CODE.match(code)
    if match is None:
        return None
    kind, digits = match.group(1), match.group(2)
    state = dtype.state
    elsize = state[5] if isinstance(state, tuple) and len(state) >= 8 and isinstance(state[5], int) else -1
    flags = state[7] if isinstance(state, tuple) and len(state) >= 8 and isinstance(state[7], int) else 0
    has_object = kind == "O" or bool(flags & 1)
    if elsize > 0:
        return elsize, has_object
    if digits:
        size = int(digits)
        return (size * 4 if kind == "U" else size), has_object
    size_or_none = _DEFAULT_SIZES.get(kind)
    return (size_or_none, has_object) if size_or_none is not None else None


def joblib_build_hook(machine: Machine, target: Any, state: Any) -> None:
    """After BUILD of a joblib NumpyArrayWrapper, step over the array bytes that follow it.

    joblib writes each array's raw data (or, for object arrays, a nested pickle)
    straight into the stream after the wrapper; its unpickler reads them
    there. Skipping them keeps the machine in step with the real loader, so
    opcodes placed after an array are still analysed.
    """
    if _class_of(target) not in JOBLIB_WRAPPERS or not isinstance(state, PDict):
        return
    shape = state.get("shape")
    info = dtype_info(state.get("dtype"))
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape) or info is None:
        machine.anomaly("joblib array wrapper with a shape or dtype the scanner cannot size")
        raise PickleError("cannot size the joblib array that follows", machine.stream.tell())
    itemsize, has_object = info
    if has_object:
        nested = analyse_stream(machine.stream, build_hook=joblib_build_hook, max_pickles=1, budget=machine.budget)
        machine.result.nested.extend(nested)
        if nested and (nested[0].error is not None or nested[0].limit):
            raise PickleError("nested object-array pickle is malformed", machine.stream.tell())
        return
    if state.get("numpy_array_alignment_bytes") is not None:
        pad = machine.stream.read(1)
        if len(pad) != 1 or machine.stream.skip(pad[0]) != pad[0]:
            raise PickleError("truncated joblib array padding", machine.stream.tell())
    count = 1
    for d in shape:
        count *= d
    nbytes = count * itemsize
    if machine.stream.skip(nbytes) != nbytes:
        raise PickleError(f"joblib array data ({nbytes} bytes) runs past the end", machine.stream.tell())
