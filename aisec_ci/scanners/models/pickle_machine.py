"""An emulated pickle machine: it replays every opcode of protocols 0-5 over
symbolic values and records what loading would import and call.

It never imports, calls or constructs anything from the stream. Values are
literals (so STACK_GLOBAL and memo lookups resolve from what is really on the
stack) or placeholders: `Global` for an import, `Call` for the result of
REDUCE/INST/OBJ/NEWOBJ/NEWOBJ_EX, `Persistent` for persistent ids. BUILD is
recorded as a call too, because `__setstate__` and attribute setting run code.

Large string/bytes payloads (tensor data inside protocol 2 pickles) are
skipped, not read; their length is kept.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aisec_ci.scanners.models.stream import ByteStream, CorruptData, LimitExceeded

MAX_INLINE = 1 << 16  # strings longer than this are kept as their length only
MAX_LINE = 1 << 16
MAX_TEXT_LINE = 1 << 40  # protocol 0 keeps whole arrays on one STRING/UNICODE line
MAX_OPCODES = 5_000_000  # per pickle
MAX_FILE_OPCODES = 10_000_000  # per model file, across stacked pickles and archive members
MAX_RETAINED = 1_500_000  # containers, call results and memo entries alive at once (~150 MB worst case)
MAX_EVENTS = 10_000  # imports/calls recorded per pickle; the rest are counted
MAX_MEMORY = 160 << 20  # estimated bytes of emulated values one model file's pickles may keep alive

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class PickleError(Exception):
    """The stream is not a valid pickle at `offset`."""

    def __init__(self, message: str, offset: int, *, truncated: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.truncated = truncated
        """The bytes ran out before the opcode was complete (as opposed to an invalid opcode or state)."""


# --- symbolic values -----------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Global:
    """An import: GLOBAL, STACK_GLOBAL, INST or an extension-registry code."""

    module: str
    name: str
    offset: int
    opcode: str
    resolved: bool = True
    """False when the module/name were not literal strings (computed or unknown)."""
    why_unresolved: str = ""

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}" if self.resolved else f"<unresolved {self.why_unresolved}>"

    @property
    def well_formed(self) -> bool:
        return (not self.resolved) or bool(_IDENT.match(self.module) and _IDENT.match(self.name))


@dataclass(eq=False, slots=True)
class Call:
    """The result of calling `func` (REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX) or of BUILD on `func`."""

    func: Any
    args: Any
    kind: str
    offset: int
    kwargs: Any = None
    state: Any = None
    """The state a later BUILD applied to this object."""


@dataclass(eq=False, slots=True)
class Persistent:
    pid: Any
    offset: int


@dataclass(eq=False, slots=True)
class LargeData:
    """A string/bytes payload too large to keep; only its size is known."""

    kind: str
    length: int


@dataclass(eq=False, slots=True)
class Buffer:
    """An out-of-band buffer (protocol 5 NEXT_BUFFER)."""

    readonly: bool = False


@dataclass(eq=False, slots=True)
class PList:
    items: list[Any] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class PDict:
    pairs: list[tuple[Any, Any]] = field(default_factory=list)

    def get(self, key: str) -> Any:
        for k, v in self.pairs:
            if isinstance(k, str) and k == key:
                return v
        return None

    def keys(self) -> list[Any]:
        return [k for k, _ in self.pairs]


@dataclass(eq=False, slots=True)
class PSet:
    items: list[Any] = field(default_factory=list)
    frozen: bool = False


# --- results -------------------------------------------------------------------------


@dataclass
class PickleResult:
    """What one pickle (one STOP) in a stream does."""

    start: int
    end: int = 0
    protocol: int = 0
    opcodes: int = 0
    imports: list[Global] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    anomalies: list[tuple[int, str]] = field(default_factory=list)
    error: PickleError | None = None
    limit: str = ""
    """Set when a resource limit stopped the analysis (the rest is unscanned)."""
    value: Any = None
    stopped: bool = False
    dropped_events: int = 0
    nested: list[PickleResult] = field(default_factory=list)
    """Pickles embedded inline (joblib object arrays)."""

    @property
    def eventful(self) -> bool:
        """Whether this stream imported something: the only way a pickle reaches code.

        Random bytes can parse as a few opcodes; they rarely form a well-formed
        import, so this separates broken pickles from data that is not a pickle.
        Extension-registry imports (EXT1/2/4) do not count: one random byte makes
        one, and the registry is empty unless the loading program fills it.
        """
        return any(g.resolved and g.well_formed for g in self.imports) or any(n.eventful for n in self.nested)


BuildHook = Callable[["Machine", Any, Any], None]
"""Called after BUILD with (machine, target, state); may consume raw bytes from the stream."""


# --- opcode table ---------------------------------------------------------------------

# name, argument kind; the kinds are interpreted by `_arg` below.
OPCODES: dict[int, tuple[str, str]] = {
    ord("("): ("MARK", ""),
    ord("."): ("STOP", ""),
    ord("0"): ("POP", ""),
    ord("1"): ("POP_MARK", ""),
    ord("2"): ("DUP", ""),
    ord("F"): ("FLOAT", "line"),
    ord("I"): ("INT", "line"),
    ord("J"): ("BININT", "<i"),
    ord("K"): ("BININT1", "<B"),
    ord("L"): ("LONG", "line"),
    ord("M"): ("BININT2", "<H"),
    ord("N"): ("NONE", ""),
    ord("P"): ("PERSID", "line"),
    ord("Q"): ("BINPERSID", ""),
    ord("R"): ("REDUCE", ""),
    ord("S"): ("STRING", "textline"),
    ord("T"): ("BINSTRING", "<i"),
    ord("U"): ("SHORT_BINSTRING", "<B"),
    ord("V"): ("UNICODE", "textline"),
    ord("X"): ("BINUNICODE", "<I"),
    ord("a"): ("APPEND", ""),
    ord("b"): ("BUILD", ""),
    ord("c"): ("GLOBAL", "2lines"),
    ord("d"): ("DICT", ""),
    ord("}"): ("EMPTY_DICT", ""),
    ord("e"): ("APPENDS", ""),
    ord("g"): ("GET", "line"),
    ord("h"): ("BINGET", "<B"),
    ord("i"): ("INST", "2lines"),
    ord("j"): ("LONG_BINGET", "<I"),
    ord("l"): ("LIST", ""),
    ord("]"): ("EMPTY_LIST", ""),
    ord("o"): ("OBJ", ""),
    ord("p"): ("PUT", "line"),
    ord("q"): ("BINPUT", "<B"),
    ord("r"): ("LONG_BINPUT", "<I"),
    ord("s"): ("SETITEM", ""),
    ord("t"): ("TUPLE", ""),
    ord(")"): ("EMPTY_TUPLE", ""),
    ord("u"): ("SETITEMS", ""),
    ord("G"): ("BINFLOAT", ">d"),
    0x80: ("PROTO", "<B"),
    0x81: ("NEWOBJ", ""),
    0x82: ("EXT1", "<B"),
    0x83: ("EXT2", "<H"),
    0x84: ("EXT4", "<i"),
    0x85: ("TUPLE1", ""),
    0x86: ("TUPLE2", ""),
    0x87: ("TUPLE3", ""),
    0x88: ("NEWTRUE", ""),
    0x89: ("NEWFALSE", ""),
    0x8A: ("LONG1", "<B"),
    0x8B: ("LONG4", "<i"),
    ord("B"): ("BINBYTES", "<I"),
    ord("C"): ("SHORT_BINBYTES", "<B"),
    0x8C: ("SHORT_BINUNICODE", "<B"),
    0x8D: ("BINUNICODE8", "<Q"),
    0x8E: ("BINBYTES8", "<Q"),
    0x8F: ("EMPTY_SET", ""),
    0x90: ("ADDITEMS", ""),
    0x91: ("FROZENSET", ""),
    0x92: ("NEWOBJ_EX", ""),
    0x93: ("STACK_GLOBAL", ""),
    0x94: ("MEMOIZE", ""),
    0x95: ("FRAME", "<Q"),
    0x96: ("BYTEARRAY8", "<Q"),
    0x97: ("NEXT_BUFFER", ""),
    0x98: ("READONLY_BUFFER", ""),
}

_STRUCTS = {fmt: struct.Struct(fmt) for _, fmt in OPCODES.values() if fmt.startswith(("<", ">"))}


def python3_name(module: str, name: str) -> tuple[str, str]:
    """The module and name a Python 3 unpickler imports for a Python 2 spelling.

    Protocol 0-2 pickles written by Python 2 say `__builtin__`, `copy_reg`,
    `commands` ...; `pickle` renames them on load (fix_imports), so the policy
    must judge the renamed import. The tables are the stdlib's own.
    """
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


# Estimated bytes each opcode adds to what the machine keeps alive (CPython object
# sizes, rounded up): a pointer for singletons, moves and memo lookups, an object
# for numbers, strings (their payload is charged where it is read), marks, memo
# entries and containers. Imports and calls are charged where they are recorded.
# The estimate bounds memory however values later move between stack, marks,
# containers and memo; measured against tracemalloc it is 1-2x the real peak.
_POINTER = 8
_NUMBER = 32
_OBJECT = 64
_CONTAINER = 128
_EVENT = 160
_COSTS: dict[str, int] = {
    **dict.fromkeys(("STOP", "POP", "POP_MARK", "PROTO", "FRAME", "READONLY_BUFFER"), 0),
    # moved into a container, or recorded as a call (charged there)
    **dict.fromkeys(("APPEND", "APPENDS", "SETITEMS", "ADDITEMS", "BUILD", "REDUCE", "OBJ", "NEWOBJ"), 0),
    **dict.fromkeys(("NEWOBJ_EX", "GLOBAL", "STACK_GLOBAL", "INST", "EXT1", "EXT2", "EXT4"), 0),
    **dict.fromkeys(("FLOAT", "INT", "BININT", "BININT2", "LONG", "LONG1", "LONG4", "BINFLOAT"), _NUMBER),
    **dict.fromkeys(("STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE"), _OBJECT),
    **dict.fromkeys(("SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8"), _OBJECT),
    **dict.fromkeys(("BYTEARRAY8", "PERSID", "BINPERSID", "NEXT_BUFFER"), _OBJECT),
    "MARK": _OBJECT,  # a new list for the frame
    "SETITEM": _OBJECT,  # the (key, value) pair
    **dict.fromkeys(("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"), _OBJECT),
    **dict.fromkeys(("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"), _OBJECT),
    **dict.fromkeys(("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "LIST", "DICT", "FROZENSET"), _CONTAINER),
}
"""Every other opcode pushes one pointer to an existing or cached object."""

_PAIR = _OBJECT // 2
"""Per item of DICT/SETITEMS: each two items become a (key, value) tuple."""


@dataclass
class Budget:
    """Opcodes and memory left for one model file; shared by every pickle in it."""

    opcodes: int = field(default_factory=lambda: MAX_FILE_OPCODES)
    memory: int = field(default_factory=lambda: MAX_MEMORY)


class Machine:
    """One run of the pickle machine over one pickle (up to its STOP)."""

    def __init__(
        self, stream: ByteStream, *, build_hook: BuildHook | None = None, budget: Budget | None = None
    ) -> None:
        self.stream = stream
        self.build_hook = build_hook
        self.budget = budget if budget is not None else Budget()
        self.stack: list[Any] = []
        self.metastack: list[list[Any]] = []
        self.memo: dict[int, Any] = {}
        self.result = PickleResult(start=stream.tell())
        self._op_offset = 0
        self._retained = 0
        self.memory = 0
        """Estimated bytes of values created so far (never decreases: a bound, not a measure)."""

    def retain(self) -> None:
        """Count one more emulated object kept alive; past the budget the pickle is unscannable."""
        self._retained += 1
        if self._retained > MAX_RETAINED:
            raise LimitExceeded(f"pickle builds more than {MAX_RETAINED} objects")

    @property
    def retained(self) -> int:
        """Containers, call results and memo entries built so far."""
        return self._retained

    def charge(self, nbytes: int) -> None:
        """Account for `nbytes` more of emulated values (payloads, pairs)."""
        self.memory += nbytes

    # -- helpers ---------------------------------------------------------------------
    def fail(self, message: str, *, truncated: bool = False) -> PickleError:
        return PickleError(message, self._op_offset, truncated=truncated)

    def _pop(self) -> Any:
        if not self.stack:
            raise self.fail("stack underflow")
        return self.stack.pop()

    def _top(self) -> Any:
        if not self.stack:
            raise self.fail("stack underflow")
        return self.stack[-1]

    def _pop_mark(self) -> list[Any]:
        if not self.metastack:
            raise self.fail("no MARK to pop to")
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _read_exact(self, n: int) -> bytes:
        data = self.stream.read(n)
        if len(data) != n:
            raise self.fail(f"truncated: needed {n} bytes, found {len(data)}", truncated=True)
        return data

    def _line(self) -> bytes:
        line = self.stream.readline(MAX_LINE)
        if line is None:
            raise self.fail("unterminated or overlong text argument", truncated=self._line_runs_out())
        return line[:-1]

    def _line_runs_out(self) -> bool:
        # No newline: either the bytes end first (truncated) or the line is over MAX_LINE.
        return len(self.stream.peek(MAX_LINE)) < MAX_LINE

    def _text_line(self) -> bytes | LargeData:
        # readline looks for the newline in place; peeking MAX_LINE bytes here
        # instead would copy 64 KiB for every short STRING/UNICODE opcode.
        line = self.stream.readline(MAX_LINE)
        if line is not None:
            self.memory += len(line)
            return line[:-1]
        length = self.stream.skip_line(MAX_TEXT_LINE)
        if length is None:
            raise self.fail("unterminated text argument", truncated=True)
        return LargeData("text", length - 1)

    def _payload(self, kind: str, length: int) -> Any:
        """Read a string/bytes payload, or skip it when it is large."""
        if length < 0:
            raise self.fail(f"negative {kind} length")
        if length > MAX_INLINE:
            skipped = self.stream.skip(length)
            if skipped != length:
                raise self.fail(f"truncated: {kind} of {length} bytes runs past the end", truncated=True)
            return LargeData(kind, length)
        self.memory += length
        return self._read_exact(length)

    def _record_import(self, g: Global) -> None:
        self.memory += _EVENT
        if len(self.result.imports) < MAX_EVENTS:
            self.result.imports.append(g)
        else:
            self.result.dropped_events += 1

    def _record_call(self, c: Call) -> None:
        self.retain()
        self.memory += _EVENT
        if len(self.result.calls) < MAX_EVENTS:
            self.result.calls.append(c)
        else:
            self.result.dropped_events += 1

    def anomaly(self, text: str) -> None:
        if len(self.result.anomalies) < 100:
            self.result.anomalies.append((self._op_offset, text))

    def _int_line(self, line: bytes) -> int:
        try:
            return int(line)
        except ValueError:
            raise self.fail(f"invalid integer {line[:40]!r}") from None

    def _decode_name(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"invalid UTF-8 in import name {raw[:60]!r}") from None

    # -- the loop --------------------------------------------------------------------
    def run(self) -> PickleResult:
        res = self.result
        try:
            self._loop()
        except PickleError as exc:
            res.error = exc
        except LimitExceeded as exc:
            res.limit = str(exc)
        except CorruptData as exc:
            res.error = PickleError(str(exc), self._op_offset)
        except RecursionError:
            res.error = PickleError("structure nested too deeply", self._op_offset)
        res.end = self.stream.tell()
        self.budget.opcodes -= res.opcodes
        self.budget.memory -= self.memory
        # The stack, marks and memo die with this run; only the result is kept.
        self.stack = []
        self.metastack = []
        self.memo = {}
        return res

    def _loop(self) -> None:
        # The hot loop of the scanner: one table lookup per opcode, no per-opcode
        # string compares, and the opcode/memory limits checked as it goes so a
        # hostile stream costs time and memory linear in the bytes read, capped.
        res = self.result
        stream = self.stream
        dispatch = _DISPATCH
        limit = min(MAX_OPCODES, self.budget.opcodes)
        memory_limit = min(MAX_MEMORY, self.budget.memory)
        while True:
            self._op_offset = stream.tell()
            op = stream.read_byte()
            if op < 0:
                raise self.fail("stream ends before STOP" if res.opcodes else "empty stream", truncated=True)
            entry = dispatch[op]
            if entry is None:
                raise self.fail(f"invalid opcode 0x{op:02x}")
            res.opcodes += 1
            if res.opcodes > limit:
                if limit < MAX_OPCODES:
                    raise LimitExceeded(f"the file's pickles exceed {MAX_FILE_OPCODES} opcodes in total")
                raise LimitExceeded(f"more than {MAX_OPCODES} opcodes")
            handler, reader, cost = entry
            self.memory += cost
            arg = reader(self) if reader is not None else None
            if self.memory > memory_limit:
                whose = "the file's pickle values" if memory_limit < MAX_MEMORY else "pickle values"
                raise LimitExceeded(
                    f"{whose} would take more than {MAX_MEMORY >> 20} MB to emulate "
                    f"(stopped after {res.opcodes} opcodes)"
                )
            if handler is None:  # STOP
                res.value = self._pop()
                res.stopped = True
                return
            handler(self, arg)


# --- opcode handlers -------------------------------------------------------------------
# Each takes (machine, decoded argument). They follow CPython's Unpickler step
# for step, minus every import and call.


def _push(value: Any) -> Callable[[Machine, Any], None]:
    def handler(m: Machine, arg: Any) -> None:
        if callable(value):
            m.retain()
            m.stack.append(value())
        else:
            m.stack.append(value)

    return handler


def _op_mark(m: Machine, arg: Any) -> None:
    m.metastack.append(m.stack)
    m.stack = []


def _op_pop(m: Machine, arg: Any) -> None:
    if m.stack:
        m.stack.pop()
    else:
        m._pop_mark()


def _op_pop_mark(m: Machine, arg: Any) -> None:
    m._pop_mark()


def _op_dup(m: Machine, arg: Any) -> None:
    m.stack.append(m._top())


def _op_float(m: Machine, arg: bytes) -> None:
    try:
        m.stack.append(float(arg))
    except ValueError:
        raise m.fail(f"invalid float {arg[:40]!r}") from None


def _op_int(m: Machine, arg: bytes) -> None:
    if arg == b"00":
        m.stack.append(False)
    elif arg == b"01":
        m.stack.append(True)
    else:
        m.stack.append(m._int_line(arg))


def _op_long(m: Machine, arg: bytes) -> None:
    m.stack.append(m._int_line(arg[:-1] if arg.endswith(b"L") else arg))


def _op_binint(m: Machine, arg: int) -> None:
    m.stack.append(arg)


def _op_persid(m: Machine, arg: bytes) -> None:
    try:
        pid: Any = arg.decode("ascii")
    except UnicodeDecodeError:
        raise m.fail("persistent id is not ASCII") from None
    m.stack.append(Persistent(pid, m._op_offset))


def _op_binpersid(m: Machine, arg: Any) -> None:
    m.stack.append(Persistent(m._pop(), m._op_offset))


def _op_reduce(m: Machine, arg: Any) -> None:
    args = m._pop()
    func = m._pop()
    call = Call(func, args, "reduce", m._op_offset)
    m._record_call(call)
    m.stack.append(call)


def _op_string(m: Machine, arg: bytes | LargeData) -> None:
    if isinstance(arg, LargeData):
        m.stack.append(arg)
        return
    if len(arg) >= 2 and arg[0] == arg[-1] and arg[:1] in (b"'", b'"'):
        raw = arg[1:-1]
    else:
        raise m.fail("STRING argument is not quoted")
    try:
        data = codecs.escape_decode(raw)[0]
    except ValueError:
        raise m.fail("invalid escape in STRING") from None
    m.stack.append(_py2_str(data))


def _py2_str(data: bytes) -> Any:
    # Python 3 loads protocol-0/1/2 `str` payloads as ASCII text by default.
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return data


def _op_binstring(m: Machine, arg: int) -> None:
    value = m._payload("string", arg)
    m.stack.append(_py2_str(value) if isinstance(value, bytes) else value)


def _op_unicode(m: Machine, arg: bytes | LargeData) -> None:
    if isinstance(arg, LargeData):
        m.stack.append(arg)
        return
    try:
        m.stack.append(arg.decode("raw-unicode-escape"))
    except UnicodeDecodeError:
        raise m.fail("invalid UNICODE argument") from None


def _op_binunicode(m: Machine, arg: int) -> None:
    value = m._payload("str", arg)
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise m.fail("invalid UTF-8 in a unicode string") from None
    m.stack.append(value)


def _op_binbytes(m: Machine, arg: int) -> None:
    m.stack.append(m._payload("bytes", arg))


def _op_bytearray8(m: Machine, arg: int) -> None:
    value = m._payload("bytearray", arg)
    m.stack.append(value)


def _op_append(m: Machine, arg: Any) -> None:
    value = m._pop()
    target = m._top()
    if isinstance(target, PList):
        target.items.append(value)
    else:
        m._record_call(Call(target, (value,), "append", m._op_offset))


def _op_appends(m: Machine, arg: Any) -> None:
    items = m._pop_mark()
    target = m._top()
    if isinstance(target, PList):
        target.items.extend(items)
    else:
        # `extend`/`append` on a non-list object is a method call on it.
        m._record_call(Call(target, tuple(items), "append", m._op_offset))


def _op_build(m: Machine, arg: Any) -> None:
    state = m._pop()
    target = m._top()
    m._record_call(Call(target, state, "build", m._op_offset))
    if isinstance(target, Call) and target.state is None:
        target.state = state
    if m.build_hook is not None:
        m.build_hook(m, target, state)


def _op_global(m: Machine, arg: tuple[bytes, bytes]) -> None:
    module = m._decode_name(arg[0])
    name = m._decode_name(arg[1])
    g = Global(module, name, m._op_offset, "GLOBAL")
    m._record_import(g)
    if not g.well_formed:
        m.anomaly(f"GLOBAL with an invalid name {g.dotted[:80]!r}")
    m.stack.append(g)


def _op_inst(m: Machine, arg: tuple[bytes, bytes]) -> None:
    module = m._decode_name(arg[0])
    name = m._decode_name(arg[1])
    g = Global(module, name, m._op_offset, "INST")
    m._record_import(g)
    args = m._pop_mark()
    call = Call(g, tuple(args), "inst", m._op_offset)
    m._record_call(call)
    m.stack.append(call)


def _op_obj(m: Machine, arg: Any) -> None:
    items = m._pop_mark()
    if not items:
        raise m.fail("OBJ without a class")
    call = Call(items[0], tuple(items[1:]), "obj", m._op_offset)
    m._record_call(call)
    m.stack.append(call)


def _op_newobj(m: Machine, arg: Any) -> None:
    args = m._pop()
    cls = m._pop()
    call = Call(cls, args, "newobj", m._op_offset)
    m._record_call(call)
    m.stack.append(call)


def _op_newobj_ex(m: Machine, arg: Any) -> None:
    kwargs = m._pop()
    args = m._pop()
    cls = m._pop()
    call = Call(cls, args, "newobj_ex", m._op_offset, kwargs)
    m._record_call(call)
    m.stack.append(call)


def _op_stack_global(m: Machine, arg: Any) -> None:
    name = m._pop()
    module = m._pop()
    if isinstance(module, str) and isinstance(name, str):
        g = Global(module, name, m._op_offset, "STACK_GLOBAL")
    else:
        why = f"STACK_GLOBAL from {describe(module, 2)} / {describe(name, 2)}"
        g = Global("?", "?", m._op_offset, "STACK_GLOBAL", resolved=False, why_unresolved=why)
    m._record_import(g)
    m.stack.append(g)


def _op_ext(m: Machine, code: int) -> None:
    # The extension registry is empty unless the loading program filled it, so
    # what this imports cannot be known from the file.
    g = Global("?", "?", m._op_offset, "EXT", resolved=False, why_unresolved=f"extension code {code}")
    m._record_import(g)
    m.stack.append(g)


def _op_dict(m: Machine, arg: Any) -> None:
    items = m._pop_mark()
    if len(items) % 2:
        raise m.fail("DICT with an odd number of items")
    m.charge(_PAIR * len(items))
    m.retain()
    m.stack.append(PDict([(items[i], items[i + 1]) for i in range(0, len(items), 2)]))


def _op_setitem(m: Machine, arg: Any) -> None:
    value = m._pop()
    key = m._pop()
    target = m._top()
    if isinstance(target, PDict):
        target.pairs.append((key, value))
    else:
        m._record_call(Call(target, (key, value), "setitem", m._op_offset))


def _op_setitems(m: Machine, arg: Any) -> None:
    items = m._pop_mark()
    if len(items) % 2:
        raise m.fail("SETITEMS with an odd number of items")
    m.charge(_PAIR * len(items))
    target = m._top()
    pairs = [(items[i], items[i + 1]) for i in range(0, len(items), 2)]
    if isinstance(target, PDict):
        target.pairs.extend(pairs)
    else:
        m._record_call(Call(target, tuple(items), "setitem", m._op_offset))


def _op_get(m: Machine, arg: bytes) -> None:
    _get(m, m._int_line(arg))


def _get(m: Machine, index: int) -> None:
    if index not in m.memo:
        raise m.fail(f"memo key {index} is not defined")
    m.stack.append(m.memo[index])


def _op_binget(m: Machine, arg: int) -> None:
    _get(m, arg)


def _op_put(m: Machine, arg: bytes) -> None:
    index = m._int_line(arg)
    _memo_put(m, index)


def _memo_put(m: Machine, index: int) -> None:
    if index < 0:
        raise m.fail("negative PUT index")
    if index not in m.memo:
        m.retain()
    m.memo[index] = m._top()


def _op_binput(m: Machine, arg: int) -> None:
    _memo_put(m, arg)


def _op_memoize(m: Machine, arg: Any) -> None:
    _memo_put(m, len(m.memo))


def _op_list(m: Machine, arg: Any) -> None:
    items = m._pop_mark()
    m.retain()
    m.stack.append(PList(items))


def _op_tuple(m: Machine, arg: Any) -> None:
    items = m._pop_mark()
    m.retain()
    m.stack.append(tuple(items))


def _tuple_n(n: int) -> Callable[[Machine, Any], None]:
    def handler(m: Machine, arg: Any) -> None:
        if len(m.stack) < n:
            raise m.fail("stack underflow")
        m.retain()
        items = tuple(m.stack[-n:])
        del m.stack[-n:]
        m.stack.append(items)

    return handler


def _op_proto(m: Machine, arg: int) -> None:
    if arg > 5:
        raise m.fail(f"unsupported pickle protocol {arg}")
    if m.result.opcodes > 1:
        m.anomaly("PROTO opcode after the start of the stream")
    m.result.protocol = arg


def _op_long1(m: Machine, n: int) -> None:
    _long_bytes(m, n)


def _op_long4(m: Machine, n: int) -> None:
    if n < 0:
        raise m.fail("negative LONG4 length")
    _long_bytes(m, n)


def _long_bytes(m: Machine, n: int) -> None:
    if n > MAX_INLINE:
        if m.stream.skip(n) != n:
            raise m.fail("truncated LONG4", truncated=True)
        m.stack.append(LargeData("int", n))
        return
    m.charge(n)
    m.stack.append(int.from_bytes(m._read_exact(n), "little", signed=True))


def _op_additems(m: Machine, arg: Any) -> None:
    items = m._pop_mark()
    target = m._top()
    if isinstance(target, PSet) and not target.frozen:
        target.items.extend(items)
    else:
        m._record_call(Call(target, tuple(items), "add", m._op_offset))


def _op_frozenset(m: Machine, arg: Any) -> None:
    items = m._pop_mark()
    m.retain()
    m.stack.append(PSet(items, frozen=True))


def _op_frame(m: Machine, arg: int) -> None:
    # Frames only batch reads; the opcodes inside are ordinary.
    return None


def _op_next_buffer(m: Machine, arg: Any) -> None:
    m.stack.append(Buffer())


def _op_readonly_buffer(m: Machine, arg: Any) -> None:
    m._top()


_HANDLERS: dict[str, Callable[[Machine, Any], None]] = {
    "MARK": _op_mark,
    "POP": _op_pop,
    "POP_MARK": _op_pop_mark,
    "DUP": _op_dup,
    "FLOAT": _op_float,
    "INT": _op_int,
    "BININT": _op_binint,
    "BININT1": _op_binint,
    "LONG": _op_long,
    "BININT2": _op_binint,
    "NONE": _push(None),
    "PERSID": _op_persid,
    "BINPERSID": _op_binpersid,
    "REDUCE": _op_reduce,
    "STRING": _op_string,
    "BINSTRING": _op_binstring,
    "SHORT_BINSTRING": _op_binstring,
    "UNICODE": _op_unicode,
    "BINUNICODE": _op_binunicode,
    "APPEND": _op_append,
    "BUILD": _op_build,
    "GLOBAL": _op_global,
    "DICT": _op_dict,
    "EMPTY_DICT": _push(PDict),
    "APPENDS": _op_appends,
    "GET": _op_get,
    "BINGET": _op_binget,
    "INST": _op_inst,
    "LONG_BINGET": _op_binget,
    "LIST": _op_list,
    "EMPTY_LIST": _push(PList),
    "OBJ": _op_obj,
    "PUT": _op_put,
    "BINPUT": _op_binput,
    "LONG_BINPUT": _op_binput,
    "SETITEM": _op_setitem,
    "TUPLE": _op_tuple,
    "EMPTY_TUPLE": _push(()),
    "SETITEMS": _op_setitems,
    "BINFLOAT": _op_binint,
    "PROTO": _op_proto,
    "NEWOBJ": _op_newobj,
    "EXT1": _op_ext,
    "EXT2": _op_ext,
    "EXT4": _op_ext,
    "TUPLE1": _tuple_n(1),
    "TUPLE2": _tuple_n(2),
    "TUPLE3": _tuple_n(3),
    "NEWTRUE": _push(True),
    "NEWFALSE": _push(False),
    "LONG1": _op_long1,
    "LONG4": _op_long4,
    "BINBYTES": _op_binbytes,
    "SHORT_BINBYTES": _op_binbytes,
    "SHORT_BINUNICODE": _op_binunicode,
    "BINUNICODE8": _op_binunicode,
    "BINBYTES8": _op_binbytes,
    "EMPTY_SET": _push(PSet),
    "ADDITEMS": _op_additems,
    "FROZENSET": _op_frozenset,
    "NEWOBJ_EX": _op_newobj_ex,
    "STACK_GLOBAL": _op_stack_global,
    "MEMOIZE": _op_memoize,
    "FRAME": _op_frame,
    "BYTEARRAY8": _op_bytearray8,
    "NEXT_BUFFER": _op_next_buffer,
    "READONLY_BUFFER": _op_readonly_buffer,
}
assert set(_HANDLERS) | {"STOP"} == {name for name, _ in OPCODES.values()}


def _byte_reader(m: Machine) -> int:
    value = m.stream.read_byte()
    if value < 0:
        raise m.fail("truncated: needed 1 bytes, found 0", truncated=True)
    return value


def _struct_reader(st: struct.Struct) -> Callable[[Machine], Any]:
    if st.format == "<B":
        return _byte_reader

    def read(m: Machine) -> Any:
        return st.unpack(m._read_exact(st.size))[0]

    return read


def _two_lines(m: Machine) -> tuple[bytes, bytes]:
    return m._line(), m._line()


_Reader = Callable[[Machine], Any]
_READERS: dict[str, _Reader | None] = {
    "": None,
    "line": Machine._line,
    "textline": Machine._text_line,
    "2lines": _two_lines,
    **{fmt: _struct_reader(st) for fmt, st in _STRUCTS.items()},
}


def _dispatch_table() -> list[tuple[Callable[[Machine, Any], None] | None, _Reader | None, int] | None]:
    table: list[tuple[Callable[[Machine, Any], None] | None, _Reader | None, int] | None] = [None] * 256
    for code, (name, argkind) in OPCODES.items():
        table[code] = (_HANDLERS.get(name), _READERS[argkind], _COSTS.get(name, _POINTER))
    return table


_DISPATCH = _dispatch_table()
"""Opcode byte -> (handler, argument reader, memory cost); None for invalid bytes and no handler for STOP."""


# --- rendering -------------------------------------------------------------------------


def describe(value: Any, depth: int = 4, width: int = 160) -> str:
    """A short Python-like rendering of a symbolic value, for messages and keys."""
    text = _describe(value, depth)
    return text if len(text) <= width else text[: width - 3] + "..."


def _describe(value: Any, depth: int) -> str:
    if depth <= 0:
        return "..."
    d = depth - 1
    if isinstance(value, Global):
        return value.dotted
    if isinstance(value, Call):
        if value.kind == "build":
            return f"{_describe(value.func, d)}.__setstate__({_describe(value.args, d)})"
        args = value.args
        inner = ", ".join(_describe(a, d) for a in args[:4]) if isinstance(args, tuple) else _describe(args, d)
        if isinstance(args, tuple) and len(args) > 4:
            inner += ", ..."
        return f"{_describe(value.func, d)}({inner})"
    if isinstance(value, Persistent):
        return "persistent_load(...)"
    if isinstance(value, LargeData):
        return f"<{value.kind} of {value.length} bytes>"
    if isinstance(value, (str, bytes)):
        r = repr(value)
        return r if len(r) <= 60 else r[:57] + "..."
    if isinstance(value, tuple):
        inner = ", ".join(_describe(v, d) for v in value[:4])
        return f"({inner}{', ...' if len(value) > 4 else ''}{',' if len(value) == 1 else ''})"
    if isinstance(value, PList):
        return f"[{', '.join(_describe(v, d) for v in value.items[:4])}{', ...' if len(value.items) > 4 else ''}]"
    if isinstance(value, PDict):
        inner = ", ".join(f"{_describe(k, d)}: {_describe(v, d)}" for k, v in value.pairs[:3])
        return "{" + inner + (", ..." if len(value.pairs) > 3 else "") + "}"
    if isinstance(value, PSet):
        return "{" + ", ".join(_describe(v, d) for v in value.items[:4]) + "}"
    if isinstance(value, Buffer):
        return "<buffer>"
    return repr(value)[:60]


# --- driving a stream ------------------------------------------------------------------


def analyse_stream(
    stream: ByteStream,
    *,
    build_hook: BuildHook | None = None,
    max_pickles: int = 64,
    stop_after: Callable[[list[PickleResult]], bool] | None = None,
    budget: Budget | None = None,
) -> list[PickleResult]:
    """Run the machine over every pickle stacked in `stream`.

    The first pickle is always kept. A later one is kept when it parses, or
    when it imports or calls something before breaking; otherwise it is
    trailing data (raw tensor bytes after a legacy checkpoint's pickles) and
    analysis stops there.
    """
    results: list[PickleResult] = []
    if budget is None:
        budget = Budget()
    while len(results) < max_pickles:
        if results and not _looks_like_pickle_start(stream):
            break
        res = Machine(stream, build_hook=build_hook, budget=budget).run()
        if results and not res.eventful and (res.error is not None or any(not g.resolved for g in res.imports)):
            break  # trailing bytes that merely parse, not a pickle anyone wrote
        results.append(res)
        if not res.stopped or stream.at_eof():
            break
        if stop_after is not None and stop_after(results):
            break
    return results


def _looks_like_pickle_start(stream: ByteStream) -> bool:
    head = stream.peek(2)
    if not head:
        return False
    if head[0] == 0x80:
        return len(head) == 2 and head[1] <= 5
    return head[0] in OPCODES and head[0] not in (ord("."),)
