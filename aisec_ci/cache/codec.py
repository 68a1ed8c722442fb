"""Cached outputs as bytes, and back, exactly.

A cached result must read back as the very objects a scan would have produced: a
tuple stays a tuple, a Severity stays a Severity, a property dictionary keeps its
key order. JSON alone turns tuples into lists (and `==` then tells them apart), so
values that are not plain JSON are written tagged, and a value the codec cannot
reproduce exactly (a set, an enum it does not know) makes the output uncacheable
rather than approximately cached. The one deliberate exception is a finding's `key`,
stored as an opaque form that answers every question asked of it later (`opaque_key`).
Decoding checks every field's type: a payload that does not decode to valid records is
an error, never a result.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import lru_cache
from typing import Any

from aisec_ci.engine import EngineOutput
from aisec_ci.findings import Finding
from aisec_ci.result import Suppressed
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SkippedFile

FINDING_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))
_SCALARS = (str, int, float, bool, type(None))
_SEVERITIES = {s.name: s for s in Severity}
_OPTIONAL_INT = ("end_line", "end_column")
_INT = ("start_line", "start_column")


class Uncacheable(Exception):
    """An output holds a value the codec cannot write back exactly."""


class BadPayload(Exception):
    """A stored payload that does not decode to valid records."""


def _plain(value: Any) -> bool:
    """JSON reads this back as an equal value of the same types."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is list:
        return all(_plain(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def _tree(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return ["L", *(_tree(v) for v in value)]
    if kind is tuple:
        return ["T", *(_tree(v) for v in value)]
    if kind is dict:
        out: list[Any] = ["M"]
        for k, v in value.items():
            if type(k) is not str:
                raise Uncacheable(f"a dictionary key of type {type(k).__name__}")
            out += (k, _tree(v))
        return out
    if kind is Severity:
        return ["S", value.name]
    raise Uncacheable(f"a value of type {kind.__name__}")


def _untree(value: Any) -> Any:
    if type(value) is not list:
        return value
    if not value or not isinstance(value[0], str):
        raise BadPayload("untagged list")
    tag, items = value[0], value[1:]
    if tag == "L":
        return [_untree(v) for v in items]
    if tag == "T":
        return tuple(_untree(v) for v in items)
    if tag == "M":
        if len(items) % 2 or not all(isinstance(k, str) for k in items[::2]):
            raise BadPayload("malformed mapping")
        return {items[i]: _untree(items[i + 1]) for i in range(0, len(items), 2)}
    if tag == "S":
        return _severity(items[0] if len(items) == 1 else None)
    raise BadPayload(f"unknown tag {tag!r}")


def _severity(name: object) -> Severity:
    if not isinstance(name, str) or name not in _SEVERITIES:
        raise BadPayload("not a severity")
    return _SEVERITIES[name]


def _field(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is Severity:
        return ["S", value.name]
    if kind is dict and _plain(value):
        return ["D", value]  # the common case: read back by the C parser alone
    return ["X", _tree(value)]


def _unfield(value: Any) -> Any:
    if type(value) is not list:
        return value
    if len(value) != 2:
        raise BadPayload("malformed field")
    tag, inner = value
    if tag == "S":
        return _severity(inner)
    if tag == "D":
        if type(inner) is not dict:
            raise BadPayload("malformed properties")
        return inner
    if tag == "X":
        return _untree(inner)
    raise BadPayload(f"unknown field tag {tag!r}")


@lru_cache(maxsize=1)
def _key_parts() -> frozenset[str]:
    from aisec_ci.sameproblem import SAME_PROBLEMS

    return frozenset(m.key_part for group in SAME_PROBLEMS for m in group.members if m.key_part)


def opaque_key(key: str) -> str:
    """A finding's `key` as the cache keeps it.

    The key is the one field no report shows, so the redaction stage never sees it, and it
    often quotes the offending text (`policy:Allow<token>:admin`). Once the fingerprint is
    made, the pipeline only asks whether a key is empty (new-only) and whether it has one of
    the `:`-separated parts a same-problem group names (aisec_ci.sameproblem): every other
    part is stored as a digest, which answers both questions the same way.
    """
    if not key:
        return key
    known = _key_parts()
    return ":".join(
        part if part in known else "#" + hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        for part in key.split(":")
    )


def _encode_finding(f: Finding) -> list[Any]:
    return [_field(opaque_key(f.key) if name == "key" else getattr(f, name)) for name in FINDING_FIELDS]


def _decode_finding(data: Any) -> Finding:
    if type(data) is not list or len(data) != len(FINDING_FIELDS):
        raise BadPayload("malformed finding")
    values = dict(zip(FINDING_FIELDS, map(_unfield, data), strict=True))
    for name, value in values.items():
        if name == "severity":
            ok = type(value) is Severity
        elif name == "lowered_from":
            ok = value is None or type(value) is Severity
        elif name == "properties":
            ok = type(value) is dict
        elif name in _INT:
            ok = type(value) is int
        elif name in _OPTIONAL_INT:
            ok = value is None or type(value) is int
        else:
            ok = type(value) is str
        if not ok:
            raise BadPayload(f"finding field {name} of type {type(value).__name__}")
    # As Finding.evolve does: the values are checked above, the constructor need not run again.
    new = object.__new__(Finding)
    new.__dict__.update(values)
    return new


def _strings(value: Any, what: str) -> list[str]:
    if type(value) is not list or not all(type(v) is str for v in value):
        raise BadPayload(f"malformed {what}")
    return value


def encode_output(out: EngineOutput, notes: list[str] | None = None) -> bytes:
    """One file's output (or a repository pass's output and notes) as bytes; raises Uncacheable."""
    record: dict[str, Any] = {}
    if out.findings:
        record["f"] = [_encode_finding(f) for f in out.findings]
    if out.suppressed:
        record["s"] = [[_encode_finding(s.finding), s.kind, s.reason] for s in out.suppressed]
    if out.skipped:
        record["k"] = [[s.path, s.reason] for s in out.skipped]
    if out.scanned:
        record["x"] = list(out.scanned)
    if out.notes:
        record["n"] = list(out.notes)
    if notes:
        record["r"] = list(notes)
    return json.dumps(record, separators=(",", ":")).encode("ascii")


def decode_output(data: bytes) -> tuple[EngineOutput, list[str]]:
    """Inverse of encode_output; raises BadPayload for anything else."""
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadPayload(f"not JSON ({type(exc).__name__})") from None
    if type(record) is not dict or not set(record) <= {"f", "s", "k", "x", "n", "r"}:
        raise BadPayload("malformed record")
    try:
        out = EngineOutput(findings=[_decode_finding(f) for f in record.get("f", [])])
        for item in record.get("s", []):
            if type(item) is not list or len(item) != 3 or type(item[1]) is not str or type(item[2]) is not str:
                raise BadPayload("malformed suppression")
            out.suppressed.append(Suppressed(_decode_finding(item[0]), item[1], item[2]))
        for item in record.get("k", []):
            path, reason = _strings(item, "skipped entry")
            out.skipped.append(SkippedFile(path, reason))
        out.scanned = _strings(record.get("x", []), "scanned list")
        out.notes = _strings(record.get("n", []), "notes")
        notes = _strings(record.get("r", []), "notes")
    except (TypeError, ValueError, RecursionError) as exc:  # e.g. a skipped entry of three strings
        raise BadPayload(f"malformed record ({type(exc).__name__})") from None
    return out, notes
