"""What the side-by-side benchmark scripts share: a tool to time, alternating
whole-process runs, finding peers, describing the machine."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Counter = Callable[[subprocess.CompletedProcess[bytes]], int]


@dataclass
class Tool:
    """One command to time, and how to count the findings it printed or wrote."""

    name: str
    cmd: list[str]
    count: Counter
    times: list[float] = field(default_factory=list)
    findings: int | None = None
    failed: str | None = None


def run_tool(tool: Tool, cwd: Path) -> float:
    """Run once; returns wall seconds and records the findings count (or why counting failed)."""
    started = time.perf_counter()
    proc = subprocess.run(tool.cmd, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    try:
        tool.findings = tool.count(proc)
        tool.failed = None
    except (ValueError, KeyError, TypeError) as exc:
        tool.failed = f"exit {proc.returncode}: {exc}; stderr: {proc.stderr[-300:].decode(errors='replace')}"
    return elapsed


def alternate(tools: Sequence[Tool], runs: int, cwd: Path) -> None:
    """One warm-up each (page cache, bytecode), then A B C A B C ... so a load
    spike on a shared machine falls on every tool alike."""
    for tool in tools:
        run_tool(tool, cwd)
    for _ in range(runs):
        for tool in tools:
            tool.times.append(run_tool(tool, cwd))


def count_aisec(out: Path) -> Counter:
    """Findings in an aisec-ci JSON report written to `out` (exit 0 or 1 only)."""

    def count(proc: subprocess.CompletedProcess[bytes]) -> int:
        if proc.returncode not in (0, 1):
            raise ValueError(proc.stderr.decode(errors="replace")[-300:])
        return len(json.loads(out.read_text(encoding="utf-8"))["findings"])

    return count


def find_peer(name: str, peer_bin: Path | None) -> str | None:
    """A peer executable from --peer-bin, else from PATH."""
    if peer_bin is not None and (peer_bin / name).exists():
        return str(peer_bin / name)
    return shutil.which(name)


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.system()} {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}"
