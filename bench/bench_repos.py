#!/usr/bin/env python3
"""Per-scanner figures on real repositories, each beside its peer on the same checkout.

    python bench/bench_repos.py REPO...                          # median of 3 runs
    python bench/bench_repos.py --runs 5 --peer-bin /work/peers/bin REPO...
    python bench/bench_repos.py --peers-timeout 900 --slow-seconds 60 REPO...

For each repository (a git checkout), one row per pair, all in one run:

    whole scan          aisec-ci scan REPO --offline
    secrets             aisec-ci --scanners secrets     | gitleaks dir REPO | betterleaks fs REPO
    kubernetes          aisec-ci --scanners kubernetes  | checkov -d REPO --framework kubernetes
    docker + workflows  aisec-ci --scanners docker,workflows
                                                        | hadolint on the Dockerfiles aisec-ci finds
                                                          + zizmor --offline REPO

Each figure is the median of --runs whole-process runs (start-up included, as a user pays
it); the tools of a repository take turns (A B C A B C ...) so a load spike on a shared
machine falls on every tool alike, after one untimed read of the checkout (page cache).
A peer whose first run takes longer than --slow-seconds runs once only, and one that
overruns --peers-timeout is stopped and reported as such. Beside the wall time: CPU time
(user + sys of the process and its children, steadier than wall time on a shared
machine) and the peak RSS of the largest process, both from GNU time when /usr/bin/time
exists (the kernel's per-child figure otherwise, which starts from this script's own peak).

Nothing is installed here: peers come from --peer-bin or PATH. Finding counts are printed
so that speed is not bought with lost checks; they differ by construction (rule sets).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from harness import find_peer, machine  # noqa: E402

from aisec_ci.workspace.discovery import discover  # noqa: E402
from aisec_ci.workspace.kinds import FileKind  # noqa: E402

Count = Callable[[subprocess.CompletedProcess[bytes]], int]


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    timed_out: bool = False


@dataclass
class Tool:
    pair: str
    name: str
    cmd: list[str]
    count: Count
    peer: bool = True
    env: dict[str, str] | None = None
    runs: list[Run] = field(default_factory=list)
    findings: int | None = None
    error: str | None = None
    single: bool = False
    """Ran once: its first run took longer than --slow-seconds (or overran the timeout)."""


# GNU time reports the peak RSS of the tool alone. The kernel's own figure for a child
# (wait4) starts from this Python process's peak, which the fork copied.
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


def run_once(tool: Tool, cwd: Path, timeout: float) -> Run:
    """One whole-process run: wall time, CPU time (user + sys, children included), peak RSS."""
    figures = cwd / ".bench-time"
    figures.unlink(missing_ok=True)
    cmd = [GNU_TIME, "-f", "%U %S %M", "-o", str(figures), *tool.cmd] if GNU_TIME else tool.cmd
    started = time.perf_counter()
    with (cwd / ".bench-stdout").open("wb") as out, (cwd / ".bench-stderr").open("wb") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=tool.env, start_new_session=True)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    cpu, rss = usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
    if GNU_TIME and not timed_out:
        user, system, peak = figures.read_text().split()[-3:]
        cpu, rss = float(user) + float(system), int(peak) / 1024
    run = Run(wall, cpu, rss, timed_out)
    if timed_out:
        tool.error = f"stopped after {timeout:g} s"
        return run
    done = subprocess.CompletedProcess(
        tool.cmd, proc.returncode, (cwd / ".bench-stdout").read_bytes(), (cwd / ".bench-stderr").read_bytes()
    )
    try:
        tool.findings = tool.count(done)
        tool.error = None
    except (ValueError, KeyError, TypeError, OSError) as exc:
        tool.error = f"exit {done.returncode}: {exc}; stderr: {done.stderr[-300:].decode(errors='replace')}"
    return run


def _json_file(path: Path, key: str | None = None) -> Count:
    def count(proc: subprocess.CompletedProcess[bytes]) -> int:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return len(data[key] if key else data)

    return count


def _aisec(path: Path) -> Count:
    def count(proc: subprocess.CompletedProcess[bytes]) -> int:
        if proc.returncode not in (0, 1):
            raise ValueError(proc.stderr.decode(errors="replace")[-300:])
        return len(json.loads(path.read_text(encoding="utf-8"))["findings"])

    return count


def _stdout_list(proc: subprocess.CompletedProcess[bytes]) -> int:
    return len(json.loads(proc.stdout.decode(errors="replace") or "[]"))


def _checkov(proc: subprocess.CompletedProcess[bytes]) -> int:
    text = proc.stdout.decode(errors="replace").strip()
    if not text:
        raise ValueError("no output")
    data: Any = json.loads(text)
    total = 0
    for report in data if isinstance(data, list) else [data]:
        results = report.get("results") if isinstance(report, dict) else None
        if isinstance(results, dict):
            total += len(results.get("failed_checks") or [])
        elif isinstance(report, dict):
            total += int(report.get("failed", 0) or 0)
    return total


def _dockerfiles(repo: Path) -> list[str]:
    """The Dockerfiles aisec-ci's discovery finds, so hadolint reads exactly those."""
    return sorted(f.path for f in discover(repo).files if f.kind is FileKind.DOCKERFILE)


def tools_for(repo: Path, out: Path, peer_bin: Path | None) -> tuple[list[Tool], list[str]]:
    missing: list[str] = []
    tools: list[Tool] = []

    def ours(pair: str, scanners: str | None) -> None:
        report = out / f"aisec-{pair.replace(' ', '')}.json"
        cmd = [sys.executable, "-m", "aisec_ci", "scan", str(repo), "--offline", "--format", "json"]
        cmd += ["--output", str(report), "--fail-on", "none", "--quiet"]
        cmd += ["--scanners", scanners] if scanners else []
        label = f"aisec-ci --scanners {scanners}" if scanners else "aisec-ci (all scanners)"
        # This checkout, whatever aisec-ci the interpreter has installed.
        path = os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH", "")) if p)
        tools.append(Tool(pair, label, cmd, _aisec(report), peer=False, env={**os.environ, "PYTHONPATH": path}))

    def peer(pair: str, name: str, label: str, args: list[str], count: Count) -> None:
        exe = find_peer(name, peer_bin)
        if exe is None:
            missing.append(name)
            return
        tools.append(Tool(pair, label, [exe, *args], count))

    ours("whole scan", None)
    ours("secrets", "secrets")
    gl, bl = out / "gitleaks.json", out / "betterleaks.json"
    peer("secrets", "gitleaks", "gitleaks dir", ["dir", str(repo), "--no-banner", "--redact", "--report-format",
         "json", "--report-path", str(gl), "--exit-code", "0", "--log-level", "error"], _json_file(gl))  # fmt: skip
    peer("secrets", "betterleaks", "betterleaks fs", ["fs", str(repo), "--no-banner", "--redact", "-o", str(bl),
         "--exit-code", "0", "--log-level", "error"], _json_file(bl, "findings"))  # fmt: skip
    ours("kubernetes", "kubernetes")
    peer("kubernetes", "checkov", "checkov --framework kubernetes", ["-d", str(repo), "--framework", "kubernetes",
         "--skip-download", "--quiet", "-o", "json"], _checkov)  # fmt: skip
    ours("docker + workflows", "docker,workflows")
    dockerfiles = _dockerfiles(repo)
    if dockerfiles:
        peer("docker + workflows", "hadolint", f"hadolint ({len(dockerfiles)} Dockerfiles)",
             ["--no-fail", "-f", "json", *(str(repo / p) for p in dockerfiles)], _stdout_list)  # fmt: skip
    peer("docker + workflows", "zizmor", "zizmor --offline", ["--offline", "--no-exit-codes", "--no-progress",
         "--format", "json", str(repo)], _stdout_list)  # fmt: skip
    return tools, missing


def warm(repo: Path) -> None:
    """Read every file once so no tool pays for the first trip to the disk."""
    for dirpath, _dirs, names in os.walk(repo):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                try:
                    with path.open("rb") as fh:
                        while fh.read(1 << 20):
                            pass
                except OSError:
                    pass


def bench(
    repo: Path, runs: int, peer_bin: Path | None, timeout: float, slow: float, out: Path, pairs: set[str]
) -> list[str]:
    tools, missing = tools_for(repo, out, peer_bin)
    tools = [t for t in tools if not pairs or t.pair in pairs]
    warm(repo)
    for round_no in range(runs):
        for tool in tools:
            if tool.single or (tool.runs and tool.runs[-1].timed_out):
                continue
            run = run_once(tool, out, timeout if tool.peer else 24 * 3600)
            tool.runs.append(run)
            if round_no == 0 and tool.peer and (run.wall > slow or run.timed_out):
                tool.single = True
    lines = [
        f"### {repo.name}",
        "",
        "| scanner | tool | wall s (median) | CPU s | peak RSS MB | findings | runs |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for tool in tools:
        wall = statistics.median(r.wall for r in tool.runs)
        cpu = statistics.median(r.cpu for r in tool.runs)
        rss = max(r.rss_mb for r in tool.runs)
        stopped = any(r.timed_out for r in tool.runs)
        shown = f"> {timeout:g}" if stopped else f"{wall:.2f}"
        found = "error" if tool.error and not stopped else ("-" if stopped else str(tool.findings))
        lines.append(f"| {tool.pair} | {tool.name} | {shown} | {cpu:.2f} | {rss:.0f} | {found} | {len(tool.runs)} |")
    lines += [f"{t.name}: {t.error}" for t in tools if t.error]
    if missing:
        lines.append(f"not on PATH or in --peer-bin: {', '.join(sorted(set(missing)))}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repos", nargs="+", type=Path, help="repository checkouts to measure")
    ap.add_argument("--runs", type=int, default=3, help="runs per tool, taking turns (default 3)")
    ap.add_argument("--peer-bin", type=Path, help="directory holding gitleaks, betterleaks, checkov, hadolint, zizmor")
    ap.add_argument("--peers-timeout", type=float, default=900, help="stop a peer run after this many seconds")
    ap.add_argument("--slow-seconds", type=float, default=60, help="a peer slower than this on its first run runs once")
    ap.add_argument("--pairs", default="", help="only these rows, comma-separated (e.g. 'secrets,whole scan')")
    ap.add_argument("--out", type=Path, default=None, help="directory for the tools' reports (default: a temp dir)")
    args = ap.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-repos-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}")
        for repo in args.repos:
            print()
            pairs = {p.strip() for p in args.pairs.split(",") if p.strip()}
            print("\n".join(bench(repo.resolve(), max(1, args.runs), args.peer_bin, args.peers_timeout,
                                  args.slow_seconds, out, pairs)))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
