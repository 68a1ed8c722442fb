"""ONNX graphs: external-data paths that leave the model directory, and custom operator domains.

Initializers may keep their bytes in files named by `external_data.location`;
onnx and onnxruntime resolved absolute and `..` paths (CVE-2022-25882,
CVE-2024-27318, CVE-2026-27489), so a model could read arbitrary files into
its weights. Nodes in non-standard domains need a native custom-op library.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from aisec_ci.rules import Rule
from aisec_ci.scanners.models.protobuf_wire import Field, fields, text
from aisec_ci.scanners.models.stream import Blob
from aisec_ci.severity import Severity

ONNX_EXTERNAL_DATA_PATH = Rule(
    id="models/onnx-external-data-path",
    name="ONNX external data points outside the model directory",
    short_description="An ONNX initializer loads its data from an absolute path or through `..`.",
    severity=Severity.HIGH,
    what=(
        "Parses the ONNX protobuf and checks every tensor's `external_data` `location` (graphs and subgraphs); "
        "for a model on disk, also whether a relative location passes through a symlink that leaves the model "
        "directory."
    ),
    why=(
        "Loaders join the location to the model's directory; absolute or `..` paths read any file the process "
        "can reach (keys, credentials) into the model's weights (CVE-2022-25882, CVE-2024-27318, CVE-2026-27489)."
    ),
    example='external_data { key: "location" value: "../../../../etc/passwd" }',
    fix="Re-export the model with `onnx.save(..., save_as_external_data=True, location='weights.bin')`.",
    tags=("CWE-22", "CWE-73"),
    precision="very-high",
)

ONNX_CUSTOM_OP = Rule(
    id="models/onnx-custom-op",
    name="ONNX model uses a custom operator domain",
    short_description="An ONNX node belongs to an operator domain that requires a native custom-op library.",
    severity=Severity.MEDIUM,
    what="Reports node domains outside the ONNX standard and onnxruntime's built-in domains.",
    why="Running the model needs a shared library registered for that domain: native code shipped beside the model.",
    example='node { op_type: "Exec" domain: "com.example.ops" }',
    fix="Prefer standard operators, or make sure the custom-op library is built from reviewed source.",
    tags=("CWE-829",),
    precision="medium",
)

STANDARD_DOMAINS = frozenset(
    {
        "",
        "ai.onnx",
        "ai.onnx.ml",
        "ai.onnx.training",
        "ai.onnx.preview.training",
        "ai.onnx.contrib",
        "com.microsoft",
        "com.microsoft.nchwc",
        "com.microsoft.experimental",
        "com.ms.internal.nhwc",
        "org.pytorch.aten",
    }
)
MAX_DEPTH = 16
MAX_LOCATIONS = 10_000
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class OnnxIssue:
    rule: Rule
    subject: str
    message: str


def unsafe_location(location: str) -> str:
    """Why `location` escapes the model directory, or ''."""
    norm = location.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        return "is an absolute path"
    if ".." in norm.split("/"):
        return "climbs out of the model directory with `..`"
    if norm.startswith("~"):
        return "starts at a home directory"
    if "\x00" in norm:
        return "contains a NUL byte"
    return ""


def onnx_issues(blob: Blob, locations: list[str] | None = None) -> Iterator[OnnxIssue]:
    """Issues in the model; every external-data location seen is appended to `locations`
    (the caller checks the safe-looking ones against the file system)."""
    found = locations if locations is not None else []
    budget = [5_000_000]
    size = blob.size()
    model = list(fields(blob, 0, size, budget))
    local_domains = set()
    for f in model:
        if f.number == 25 and f.wire_type == 2:  # FunctionProto: model-local functions define domains
            for g in fields(blob, f.offset, f.offset + f.value, budget):
                if g.number == 10 and g.wire_type == 2:
                    local_domains.add(text(blob, g))
    seen: set[str] = set()
    for f in model:
        if f.number == 7 and f.wire_type == 2:
            issues = _graph(blob, f, budget, local_domains, 0, found)
        elif f.number == 25 and f.wire_type == 2:
            issues = _nodes_of(blob, f, 7, budget, local_domains, 0, found)
        else:
            continue
        for issue in issues:
            if issue.subject not in seen:
                seen.add(issue.subject)
                yield issue


def _graph(
    blob: Blob, graph: Field, budget: list[int], local: set[str], depth: int, found: list[str]
) -> Iterator[OnnxIssue]:
    if depth > MAX_DEPTH:
        return
    for f in fields(blob, graph.offset, graph.offset + graph.value, budget):
        if f.wire_type != 2:
            continue
        if f.number == 1:
            yield from _node(blob, f, budget, local, depth, found)
        elif f.number == 5:
            yield from _tensor(blob, f, budget, found)
        elif f.number == 15:  # SparseTensorProto: values and indices are tensors
            for g in fields(blob, f.offset, f.offset + f.value, budget):
                if g.number in (1, 2) and g.wire_type == 2:
                    yield from _tensor(blob, g, budget, found)


def _nodes_of(
    blob: Blob, msg: Field, number: int, budget: list[int], local: set[str], depth: int, found: list[str]
) -> Iterator[OnnxIssue]:
    for f in fields(blob, msg.offset, msg.offset + msg.value, budget):
        if f.number == number and f.wire_type == 2:
            yield from _node(blob, f, budget, local, depth, found)


def _node(
    blob: Blob, node: Field, budget: list[int], local: set[str], depth: int, found: list[str]
) -> Iterator[OnnxIssue]:
    op_type = ""
    domain = ""
    for f in fields(blob, node.offset, node.offset + node.value, budget):
        if f.wire_type != 2:
            continue
        if f.number == 4:
            op_type = text(blob, f, 256)
        elif f.number == 7:
            domain = text(blob, f, 256)
        elif f.number == 5:
            yield from _attribute(blob, f, budget, local, depth, found)
    if domain not in STANDARD_DOMAINS and domain not in local:
        yield OnnxIssue(
            ONNX_CUSTOM_OP,
            f"domain:{domain}",
            f"node {op_type!r} uses the custom operator domain {domain!r}, which needs a native library",
        )


def _attribute(
    blob: Blob, attr: Field, budget: list[int], local: set[str], depth: int, found: list[str]
) -> Iterator[OnnxIssue]:
    for f in fields(blob, attr.offset, attr.offset + attr.value, budget):
        if f.wire_type != 2:
            continue
        if f.number in (5, 10):
            yield from _tensor(blob, f, budget, found)
        elif f.number in (6, 11):
            yield from _graph(blob, f, budget, local, depth + 1, found)


def _tensor(blob: Blob, tensor: Field, budget: list[int], found: list[str]) -> Iterator[OnnxIssue]:
    name = ""
    for f in fields(blob, tensor.offset, tensor.offset + tensor.value, budget):
        if f.wire_type != 2:
            continue
        if f.number == 8:
            name = text(blob, f, 256)
        elif f.number == 13:
            key = value = ""
            for g in fields(blob, f.offset, f.offset + f.value, budget):
                if g.wire_type == 2 and g.number == 1:
                    key = text(blob, g, 64)
                elif g.wire_type == 2 and g.number == 2:
                    value = text(blob, g)
            if key == "location" and len(found) < MAX_LOCATIONS:
                found.append(value)
            why = unsafe_location(value) if key == "location" else ""
            if why:
                yield OnnxIssue(
                    ONNX_EXTERNAL_DATA_PATH,
                    f"location:{value}",
                    f"initializer {name!r} loads external data from {value[:120]!r}, which {why}",
                )


def symlink_escape(model_dir: str, location: str) -> str:
    """Why the relative `location` leaves `model_dir` through a symlink on disk, or ''.

    Loaders that reject absolute and `..` locations still follow a committed
    symlink such as `weights.bin -> /home/user/.ssh/id_rsa` (CVE-2026-27489's
    incomplete fix). Only link metadata is read, never the target's contents.
    """
    if unsafe_location(location):
        return ""
    base = os.path.realpath(model_dir)
    current = model_dir
    walked: list[str] = []
    for part in location.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        current = os.path.join(current, part)
        walked.append(part)
        try:
            is_link = stat.S_ISLNK(os.lstat(current).st_mode)
        except (OSError, ValueError):
            return ""  # missing data files are the loader's error, not a path escape
        if not is_link:
            continue
        resolved = os.path.realpath(current)
        if os.path.commonpath([base, resolved]) != base:
            try:
                target = os.readlink(current)
            except OSError:
                target = resolved
            return f"`{'/'.join(walked)}` is a symlink to {target[:120]!r}, outside the model directory"
    return ""
