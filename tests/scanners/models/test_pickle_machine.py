"""The emulated pickle machine: opcode coverage, stack/memo/mark fidelity, hostile streams."""

from __future__ import annotations

import collections
import pickle
import pickletools
import struct
from typing import Any

import pytest

from aisec_ci.scanners.models import pickle_machine as pm
from aisec_ci.scanners.models.stream import BytesBlob
from tests.call_budget import assert_linear
from tests.scanners.models import model_corpus as mc


def run(data: bytes) -> list[pm.PickleResult]:
    return pm.analyse_stream(BytesBlob(data).stream())


def to_python(value: Any) -> Any:
    """Turn emulated containers back into Python values to compare with what was pickled."""
    if isinstance(value, pm.PList):
        return [to_python(v) for v in value.items]
    if isinstance(value, pm.PDict):
        return {to_python(k): to_python(v) for k, v in value.pairs}
    if isinstance(value, pm.PSet):
        items = {to_python(v) for v in value.items}
        return frozenset(items) if value.frozen else items
    if isinstance(value, tuple):
        return tuple(to_python(v) for v in value)
    return value


def test_every_opcode_of_protocols_0_to_5_is_emulated() -> None:
    stdlib = {op.code.encode("latin-1")[0]: op.name for op in pickletools.opcodes}
    ours = {code: name for code, (name, _) in pm.OPCODES.items()}
    assert ours == stdlib


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_values_rebuilt_from_real_pickles_match_the_original(protocol: int) -> None:
    original = {
        "ints": [0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31, 10**40, -(10**40)],
        "floats": [0.5, -2.25, 1e300],
        "text": ["", "a", "é€", "x" * 300],
        "bytes": b"\x00\x80\xff",
        "nested": (1, (2, (3,)), [], {}),
        "bools": (True, False, None),
        "shared": None,
    }
    shared = [1, 2]
    original["shared"] = (shared, shared)  # memo GET/PUT must return the same object
    results = run(pickle.dumps(original, protocol=protocol))
    assert len(results) == 1 and results[0].stopped and results[0].error is None
    rebuilt = to_python(results[0].value)
    expected = dict(original)
    if protocol < 3:
        expected["bytes"] = rebuilt["bytes"]  # protocols 0-2 store bytes through _codecs.encode
        assert isinstance(rebuilt["bytes"], pm.Call)
    assert rebuilt == expected
    shared_pair = results[0].value.get("shared")
    assert shared_pair[0] is shared_pair[1]


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_sets_and_ordered_dicts_are_calls_on_allowed_globals(protocol: int) -> None:
    result = run(pickle.dumps([{1, 2}, frozenset({3}), collections.OrderedDict(a=1)], protocol=protocol))[0]
    imported = {g.dotted for g in result.imports}
    assert "collections.OrderedDict" in imported
    if protocol >= 4:
        assert result.value.items[0].items == [1, 2]
        assert result.value.items[1].frozen


def test_stack_global_resolves_from_the_memo_not_from_the_previous_opcode() -> None:
    result = run(
        mc.proto(4)
        + mc.su("torch._utils")
        + mc.MEMOIZE
        + mc.POP
        + mc.su("os")
        + mc.binput(9)
        + mc.POP
        + mc.su("system")
        + mc.binput(10)
        + mc.POP
        + mc.binget(9)
        + mc.binget(10)
        + b"\x93"
        + mc.STOP
    )[0]
    assert [g.dotted for g in result.imports] == ["os.system"]
    assert isinstance(result.value, pm.Global) and result.value.dotted == "os.system"


def test_calls_form_chains() -> None:
    data = (
        mc.proto(2)
        + mc.call(
            mc.call(
                mc.glob("builtins", "getattr"), mc.call(mc.glob("builtins", "__import__"), mc.bu("os")), mc.bu("system")
            ),
            mc.bu("id"),
        )
        + mc.STOP
    )
    result = run(data)[0]
    outer = result.value
    assert isinstance(outer, pm.Call) and isinstance(outer.func, pm.Call)
    assert pm.describe(outer) == "builtins.getattr(builtins.__import__('os'), 'system')('id')"
    assert [c.kind for c in result.calls] == ["reduce", "reduce", "reduce"]


def test_unresolvable_stack_global_is_marked() -> None:
    data = (
        mc.proto(4) + mc.call(mc.sglob("_codecs", "encode"), mc.su("os"), mc.su("ascii")) + mc.su("system") + b"\x93."
    )
    result = run(data)[0]
    unresolved = [g for g in result.imports if not g.resolved]
    assert len(unresolved) == 1 and "_codecs.encode" in unresolved[0].why_unresolved


def test_stacked_pickles_are_all_analysed_and_trailing_bytes_stop_quietly() -> None:
    one = pickle.dumps({"a": 1}, protocol=2)
    results = run(one * 7 + mc.p_os_system(2) + b"\x00\x01\x02raw tensor bytes")
    assert len(results) == 8
    assert [g.dotted for g in results[7].imports] == ["os.system"]
    assert all(r.error is None for r in results)


def test_break_after_payload_keeps_what_was_seen() -> None:
    data = mc.p_os_system(2)[:-1] + b"\xfe"
    result = run(data)[0]
    assert result.error is not None and "0xfe" in result.error.message
    assert result.error.offset == len(data) - 1
    assert [g.dotted for g in result.imports] == ["os.system"]
    assert len(result.calls) == 1


def test_deep_mark_stack_is_handled_quickly() -> None:
    # Work counted, not timed: each MARK costs the same however many are open.
    assert_linear(lambda n: run(mc.proto(2) + b"(" * n + b"N."), 2_000)
    result = run(mc.proto(2) + b"(" * 100_000 + b"N.")[0]
    # STOP pops None; the marks left open are no error for the real machine either
    assert result.stopped and result.value is None


def test_deeply_nested_values_render_without_recursion() -> None:
    depth = 50_000
    nested = b"]" * depth + b"a" * (depth - 1)
    result = run(mc.proto(2) + mc.glob("os", "system") + nested + b"\x85R.")[0]
    assert result.error is None and len(result.calls) == 1
    text = pm.describe(result.calls[0])
    assert text == "os.system([[[...]]])"


def test_huge_memo_indices_and_missing_keys() -> None:
    ok = run(mc.proto(2) + mc.NONE + b"r" + struct.pack("<I", 0xFFFFFFFF) + b"j" + struct.pack("<I", 0xFFFFFFFF) + b".")
    assert ok[0].error is None
    missing = run(mc.proto(2) + b"j" + struct.pack("<I", 123456789) + b".")[0]
    assert missing.error is not None and "memo key 123456789" in missing.error.message


def test_invalid_utf8_in_a_global_name_is_an_error_not_a_crash() -> None:
    result = run(b"cos\xff\xfe\nsystem\n.")[0]
    assert result.error is not None and "UTF-8" in result.error.message


def test_length_fields_larger_than_the_stream_do_not_allocate() -> None:
    claimed = 5 * 1024**3
    result = run(mc.proto(4) + b"\x8e" + struct.pack("<Q", claimed) + b"abc")[0]
    assert result.error is not None and "runs past the end" in result.error.message


def test_large_payloads_are_skipped_and_parsing_continues() -> None:
    blob = b"\x80\x02" * 200_000
    result = run(pickle.dumps((blob, "after"), protocol=4))[0]
    assert result.error is None
    first, second = result.value
    assert isinstance(first, pm.LargeData) and first.length == len(blob)
    assert second == "after"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty stream"),
        (b"\x80\x06N.", "unsupported pickle protocol 6"),
        (b"\x80\x02R.", "stack underflow"),
        (b"\x80\x02e.", "no MARK"),
        (b"\x80\x02(N(Nd.", "odd number"),
        (b"I12x\n.", "invalid integer"),
        (b"Fnope\n.", "invalid float"),
        (b"S'unterminated\n.", "not quoted"),
        (b"\x80\x02N", "ends before STOP"),
        (b"Vabc", "unterminated"),
    ],
)
def test_malformed_streams_report_what_broke(data: bytes, message: str) -> None:
    result = run(data)[0]
    assert result.error is not None
    assert message in result.error.message


def test_opcode_budget_stops_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pm, "MAX_OPCODES", 100)
    result = run(mc.proto(2) + b"N0" * 200 + b"N.")[0]
    assert "opcodes" in result.limit


def test_retained_objects_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pm, "MAX_RETAINED", 1000)
    result = run(mc.proto(4) + b"]\x94" * 2000 + b".")[0]
    assert "more than 1000 objects" in result.limit


def test_opcode_budget_is_shared_by_stacked_pickles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pm, "MAX_FILE_OPCODES", 250)
    one = mc.proto(2) + b"N0" * 50 + b"N."
    results = run(one * 10)
    assert len(results) == 3
    assert "in total" in results[-1].limit


# --- bounded work on hostile streams (issue 17) ---------------------------------------------


def _memory_bounded(data: bytes) -> tuple[pm.PickleResult, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        result = run(data)[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.mark.parametrize(
    "unit",
    [b"(", b"\x8c\x05hello", b"Vab\n", b"G" + struct.pack(">d", 1.5), b"N\x94"],
    ids=["marks", "short-strings", "unicode-lines", "floats", "memoize"],
)
def test_a_stream_without_stop_is_cut_by_the_memory_estimate(unit: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pm, "MAX_MEMORY", 8 << 20)
    data = mc.proto(4) + unit * ((40 << 20) // len(unit) // 4)
    result, peak = _memory_bounded(data)
    assert not result.stopped and "more than 8 MB" in result.limit, result.limit or result.error
    # cut as the estimate passes the cap, not after reading the whole 10 MB stream
    assert result.end < pm.MAX_MEMORY < len(data)
    # the estimate is near the real footprint, so the cap holds the real one too
    assert peak < 24 << 20


def test_protocol_0_text_lines_do_not_copy_a_64k_window_per_opcode(monkeypatch: pytest.MonkeyPatch) -> None:
    from aisec_ci.scanners.models import stream as st

    peeked: list[int] = []
    real_peek = st.ByteStream.peek

    def counting_peek(self: st.ByteStream, n: int) -> bytes:
        peeked.append(n)
        return real_peek(self, n)

    monkeypatch.setattr(st.ByteStream, "peek", counting_peek)
    result = run(b"Vab\n0" * 10_000 + b"N.")[0]
    assert result.stopped and result.error is None
    # Each short UNICODE line used to peek (and copy) MAX_LINE bytes to find its newline.
    assert sum(peeked) < 10_000


def test_a_million_deep_nesting_and_a_large_memo_stay_within_the_budget() -> None:
    # Work counted, not timed: nesting and memo entries each cost the same at any depth or size.
    assert_linear(lambda n: run(mc.proto(2) + b"(" * n + b"t" * n + b"."), 2_000)
    assert_linear(
        lambda n: run(mc.proto(4) + b"N" + b"".join(b"r" + struct.pack("<I", i) for i in range(n)) + b"."), 2_000
    )
    deep = mc.proto(2) + b"(" * 1_000_000 + b"t" * 1_000_000 + b"."
    result = run(deep)[0]
    assert result.stopped and result.error is None and not result.limit
    memo = mc.proto(4) + b"N" + b"".join(b"r" + struct.pack("<I", i) for i in range(2_000_000)) + b"."
    result = run(memo)[0]
    assert result.limit and not result.stopped


def test_memory_budget_is_shared_by_stacked_pickles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pm, "MAX_MEMORY", 1 << 20)
    one = mc.proto(4) + b"(" * 5000 + b"N."  # ~320 KB of marks each
    results = run(one * 10)
    assert 2 <= len(results) <= 4
    assert "the file's pickle values would take more than 1 MB" in results[-1].limit


@pytest.mark.parametrize(
    ("data", "truncated"),
    [
        (b"\x80\x02N", True),
        (b"cos\nsys", True),
        (b"\x80\x02\x8c\x05hel", True),
        (b"\x80\x02J\x01\x02", True),
        (b"\x80\x02R.", False),
        (b"\x80\x02\xfe", False),
        (b"I12x\n.", False),
    ],
)
def test_errors_say_whether_the_bytes_ran_out(data: bytes, truncated: bool) -> None:
    error = run(data)[0].error
    assert error is not None and error.truncated is truncated
