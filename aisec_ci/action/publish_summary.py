"""The job summary, workflow annotations and step outputs: files and stdout, no API.

Limits come from the runner: a step summary over 1 MiB is dropped, only the
first 10 errors, 10 warnings and 10 notices of a step become annotations, and
outputs are parsed with the `name<<DELIMITER` heredoc format.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

from aisec_ci.action.commands import command
from aisec_ci.findings import Finding
from aisec_ci.outputs import write_output
from aisec_ci.severity import Severity

SUMMARY_MAX_BYTES = 1_000_000
"""Below the runner's 1 MiB (1,048,576 bytes) so our own footer lines never tip it over."""
ANNOTATIONS_PER_LEVEL = 10


def summary_budget(path: Path) -> int:
    """Bytes still free in this step's summary file (another tool may have written first)."""
    try:
        used = path.stat().st_size
    except OSError:
        used = 0
    return max(0, SUMMARY_MAX_BYTES - used)


def append_file(path: Path, text: str) -> None:
    """Append as UTF-8; files written as root in a mounted directory stay readable for the runner user."""
    write_output(path, text, append=True)


def annotation_level(severity: Severity) -> str:
    if severity >= Severity.HIGH:
        return "error"
    if severity is Severity.MEDIUM:
        return "warning"
    return "notice"


def annotation_commands(findings: Iterable[Finding], cap: int = ANNOTATIONS_PER_LEVEL) -> list[str]:
    """Workflow commands for the most severe findings, at most `cap` per level (the runner's cap)."""
    ranked = sorted(findings, key=lambda f: (-int(f.severity), f.sort_key()))
    used = {"error": 0, "warning": 0, "notice": 0}
    lines: list[str] = []
    for f in ranked:
        level = annotation_level(f.severity)
        if used[level] >= cap:
            continue
        used[level] += 1
        props: dict[str, str | int] = {"file": f.path, "line": f.start_line, "endLine": f.last_line}
        if f.last_line == f.start_line and f.start_column > 1:
            props["col"] = f.start_column
            if f.end_column is not None and f.end_column > f.start_column:
                props["endColumn"] = f.end_column
        props["title"] = f"{f.rule_id} ({f.severity.label})"
        lines.append(command(level, f.message, props))
    return lines


def format_outputs(values: Mapping[str, str]) -> str:
    """Step outputs in the heredoc form, safe for any value (newlines included)."""
    parts: list[str] = []
    for name, value in values.items():
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        while delimiter in value or delimiter in name:
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
        parts.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(parts)


def parse_outputs(text: str) -> dict[str, str]:
    """The runner's reading of an outputs file (both `k=v` and heredoc lines); for tests and checks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if heredoc != -1 and (eq == -1 or heredoc < eq):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            if not name or not delimiter:
                raise ValueError(f"Invalid format '{line}'")
            body: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise ValueError(f"Matching delimiter not found '{delimiter}'")
            if i == len(lines) - 1:
                raise ValueError("EOF marker missing new line")
            i += 1
            values[name] = "\n".join(body)
        elif eq > 0:
            values[line[:eq]] = line[eq + 1 :]
        else:
            raise ValueError(f"Invalid format '{line}'")
    return values
