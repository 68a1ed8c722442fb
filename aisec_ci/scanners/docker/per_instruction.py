"""At most one finding per rule and Dockerfile instruction.

A rule that meets several problems of its kind in one RUN, ENV, ARG or ADD
(three unpinned apt packages in two `apt-get install` calls, two credentials in
one ENV) reports them as one finding that lists them all: one instruction is
one place to fix, and one row in a report.

The rules keep producing one finding per problem, as they would report it
alone; the scanner passes everything through `one_per_instruction`, which
leaves a lone finding untouched (same message, key and so fingerprint as before
findings were merged) and folds several of one rule in one instruction into
one, keyed by the instruction rather than by any one of its items. A rule
says how its findings read together with a `Fold` (its module's `FOLDS`);
a rule without one gets `GENERIC`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aisec_ci.findings import Finding, normalise_line
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.parser import Instruction
from aisec_ci.scanners.docker.redaction import redact_text


@dataclass(frozen=True)
class Fold:
    """How one rule reports several of its findings in one instruction as one."""

    message: Callable[[Sequence[Finding]], str]
    """The merged message, from the findings in source order."""
    properties: Callable[[Sequence[Finding]], dict[str, Any]]
    """The merged properties (the full list of items, never only the first few)."""
    snippet: Callable[[Sequence[Finding]], str] | None = None
    """The merged snippet; None keeps the first finding's."""


def line_list(items: Sequence[Finding]) -> list[int]:
    return sorted({f.start_line for f in items})


def on_lines(items: Sequence[Finding]) -> str:
    """` (lines 3, 5)` when the findings sit on several lines, else nothing."""
    lines = line_list(items)
    return f" (lines {', '.join(map(str, lines))})" if len(lines) > 1 else ""


GENERIC = Fold(
    message=lambda items: f"{items[0].message.rstrip('.')} (and {len(items) - 1} more in this instruction).",
    properties=lambda items: items[0].properties | {"lines": line_list(items)},
)
"""For a rule without a fold of its own: the first finding, counting the others."""


def instruction_key(inst: Instruction) -> str:
    """What identifies an instruction in its file independent of its line: its keyword and a digest
    of its whitespace-normalised text (heredoc bodies included). Credential values are masked before
    hashing, so the key carries nothing of a secret even in digested form."""
    text = " ".join((inst.keyword, inst.raw, *(doc.body for doc in inst.heredocs)))
    digest = hashlib.sha256(normalise_line(redact_text(text)).encode("utf-8", "surrogatepass")).hexdigest()
    return f"instruction:{inst.keyword}:{digest[:16]}"


def one_per_instruction(
    ctx: DockerContext, findings: Iterable[Finding], folds: Mapping[str, Fold]
) -> Iterator[Finding]:
    """The findings with at most one per (rule, instruction), in the order their groups first appear.
    A finding outside every instruction (none today) passes through as it is."""
    groups: dict[tuple[str, int], tuple[Instruction, list[Finding]]] = {}
    for finding in findings:
        inst = ctx.instruction_at(finding.start_line)
        if inst is None:
            yield finding
            continue
        groups.setdefault((finding.rule_id, inst.start_line), (inst, []))[1].append(finding)
    for (rule_id, _), (inst, items) in groups.items():
        if len(items) == 1:
            yield items[0]
            continue
        items.sort(key=lambda f: (f.start_line, f.start_column))
        fold = folds.get(rule_id, GENERIC)
        first = items[0]
        last_line = max(f.last_line for f in items)
        yield Finding(
            rule_id=rule_id,
            severity=max(f.severity for f in items),
            message=fold.message(items),
            path=first.path,
            start_line=first.start_line,
            end_line=last_line if last_line > first.start_line else None,
            snippet=fold.snippet(items) if fold.snippet is not None else first.snippet,
            key=instruction_key(inst),
            properties=fold.properties(items) | {"occurrences": len(items)},
        )


def listed(values: Iterable[str], limit: int = 8) -> str:
    """`a, b, c` with at most `limit` items shown and the rest counted."""
    items = list(values)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def union(items: Sequence[Finding], prop: str) -> list[Any]:
    """Sorted distinct values of a list (or scalar) property across findings."""
    out: set[Any] = set()
    for f in items:
        value = f.properties.get(prop)
        if isinstance(value, list | tuple):
            out.update(value)
        elif value is not None:
            out.add(value)
    return sorted(out, key=str)


def in_order(items: Sequence[Finding], prop: str) -> list[Any]:
    """Distinct values of a scalar property in source order."""
    return list(dict.fromkeys(f.properties[prop] for f in items if prop in f.properties))
