"""TensorFlow SavedModel and frozen-graph op names that touch files or call Python.

The op names are read from the protobuf (SavedModel -> MetaGraphDef ->
GraphDef -> NodeDef, plus the function library) without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aisec_ci.rules import Rule
from aisec_ci.scanners.models.protobuf_wire import Field, fields, text
from aisec_ci.scanners.models.stream import Blob
from aisec_ci.severity import Severity

TF_DANGEROUS_OP = Rule(
    id="models/tf-dangerous-op",
    name="TensorFlow graph reads or writes files or calls Python",
    short_description="A SavedModel or frozen graph contains ReadFile, WriteFile, MatchingFiles or PyFunc-style ops.",
    severity=Severity.HIGH,
    what="Lists the op of every node in the graph and its function library and reports file and Python-callback ops.",
    why=(
        "Serving the model runs these ops with the server's permissions: a model can read credentials, "
        "overwrite files or enumerate directories on every inference."
    ),
    example='node { name: "leak" op: "ReadFile" input: "path" }',
    fix="Remove file and Python-callback ops from the exported graph; pass data in as tensors instead.",
    tags=("CWE-73", "CWE-94"),
    precision="high",
)

DANGEROUS_OPS = {
    "ReadFile": "reads a file",
    "WriteFile": "writes a file",
    "MatchingFiles": "lists files by glob",
    "PyFunc": "calls a Python function",
    "PyFuncStateless": "calls a Python function",
    "EagerPyFunc": "calls a Python function",
    "ImmutableConst": "memory-maps a file",
}
MAX_DEPTH = 8


@dataclass
class TfIssue:
    rule: Rule
    subject: str
    message: str


def graph_issues(blob: Blob) -> Iterator[TfIssue]:
    budget = [5_000_000]
    size = blob.size()
    top = list(fields(blob, 0, size, budget))
    seen: set[str] = set()
    saved_model = any(f.number == 1 and f.wire_type == 0 for f in top)
    for f in top:
        if saved_model and f.number == 2 and f.wire_type == 2:  # MetaGraphDef
            for g in fields(blob, f.offset, f.offset + f.value, budget):
                if g.number == 2 and g.wire_type == 2:  # GraphDef
                    yield from _dedup(_graph(blob, g, budget, 0), seen)
        elif not saved_model and f.wire_type == 2 and f.number in (1, 2):
            # a bare GraphDef: nodes (1) and function library (2) at the top level
            pseudo = Field(0, 2, size, 0)
            yield from _dedup(_graph(blob, pseudo, budget, 0), seen)
            return


def _dedup(issues: Iterator[TfIssue], seen: set[str]) -> Iterator[TfIssue]:
    for issue in issues:
        if issue.subject not in seen:
            seen.add(issue.subject)
            yield issue


def _graph(blob: Blob, graph: Field, budget: list[int], depth: int) -> Iterator[TfIssue]:
    if depth > MAX_DEPTH:
        return
    for f in fields(blob, graph.offset, graph.offset + graph.value, budget):
        if f.wire_type != 2:
            continue
        if f.number == 1:
            yield from _node(blob, f, budget)
        elif f.number == 2:  # FunctionDefLibrary
            for fn in fields(blob, f.offset, f.offset + f.value, budget):
                if fn.number == 1 and fn.wire_type == 2:
                    for part in fields(blob, fn.offset, fn.offset + fn.value, budget):
                        if part.number == 3 and part.wire_type == 2:
                            yield from _node(blob, part, budget)


def _node(blob: Blob, node: Field, budget: list[int]) -> Iterator[TfIssue]:
    name = op = ""
    for f in fields(blob, node.offset, node.offset + node.value, budget):
        if f.wire_type == 2 and f.number == 1:
            name = text(blob, f, 256)
        elif f.wire_type == 2 and f.number == 2:
            op = text(blob, f, 256)
    what = DANGEROUS_OPS.get(op)
    if what:
        yield TfIssue(TF_DANGEROUS_OP, f"op:{op}", f"graph node {name!r} uses the {op} op, which {what}")
