#!/usr/bin/env python3
"""What the result cache (`--cache DIR`) saves on real repositories.

    python bench/cache.py /path/to/pipelines /path/to/kserve
    python bench/cache.py --runs 5 --tool-root /path/to/checkout REPO ...

For each repository (a git checkout outside this project, copied whole to a temporary directory,
`.git` included, so that the original is only read), whole `aisec-ci scan --offline` runs
(Python start-up included), each a fresh process started from a neutral directory:

- cold, no cache: the plain scan;
- cold, empty cache: the same with `--cache` on an empty directory (what filling it costs);
- warm: the same again with the cache the cold run filled (nothing changed);
- one file changed: the warm run after appending a line to one Python file of the copy.

Wall time is the median of `--runs` runs (the cold, empty-cache run gets a new directory each
time); peak RSS is the largest resident set among the scan's processes (wait4's `ru_maxrss`
of the scan, which takes in the worker processes it waited for). Every report must be byte for
byte the one of the uncached scan, or the benchmark stops.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def run(repo: Path, tool_root: Path, out: Path, cache: Path | None) -> tuple[float, int, str]:
    """(seconds, peak RSS of the process in KiB, stderr) of one scan."""
    cmd = [sys.executable, "-m", "aisec_ci", "scan", str(repo), "--offline", "--fail-on", "none"]
    cmd += ["--format", "json", "--output", str(out)]
    if cache is not None:
        cmd += ["--cache", str(cache)]
    env = {k: v for k, v in os.environ.items() if k != "AISEC_CACHE_DIR"}
    env["PYTHONPATH"] = str(tool_root)
    # `time -f %M` would need GNU time: wait4 gives the peak RSS of the scan and its workers.
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=out.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{repo}: aisec-ci exited {code}: {stderr.strip()[-2000:]}")
    return elapsed, usage.ru_maxrss, stderr.strip().splitlines()[-1] if stderr.strip() else ""


class Repository:
    """The runs of one repository, each checked against the uncached report."""

    def __init__(self, repo: Path, tool_root: Path, tmp: Path) -> None:
        self.repo, self.tool_root, self.tmp = repo, tool_root, tmp
        self.times: dict[str, list[float]] = {}
        self.rss: dict[str, int] = {}
        self.lines: dict[str, str] = {}

    def measure(self, label: str, cache: Path | None, expected: Path | None) -> None:
        out = self.tmp / "out.json"
        seconds, peak, line = run(self.repo, self.tool_root, out, cache)
        if expected is not None and out.read_bytes() != expected.read_bytes():
            raise SystemExit(f"{self.repo}: the report of the {label} run differs from the uncached one")
        self.times.setdefault(label, []).append(seconds)
        self.rss[label] = max(self.rss.get(label, 0), peak)
        self.lines[label] = line

    def all_runs(self, runs: int) -> None:
        tmp, repo = self.tmp, self.repo
        expected = tmp / "plain.json"
        run(repo, self.tool_root, expected, None)  # warm-up, and the reference report
        cache = tmp / "cache"
        for _ in range(runs):
            self.measure("cold, no cache", None, expected)
            shutil.rmtree(cache, ignore_errors=True)
            self.measure("cold, empty cache", cache, expected)
        for _ in range(runs):
            self.measure("warm", cache, expected)
        victim = _python_file(repo)
        if victim is None:
            return
        victim.write_bytes(victim.read_bytes() + b"\n# aisec-ci cache benchmark\n")
        changed = tmp / "changed.json"
        run(repo, self.tool_root, changed, None)
        for _ in range(runs):
            # Each run starts from the cache of the unchanged tree.
            shutil.copytree(cache, tmp / "changed-cache")
            self.measure("one file changed", tmp / "changed-cache", changed)
            shutil.rmtree(tmp / "changed-cache")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tool-root", type=Path, default=HERE)
    args = parser.parse_args()
    rows = []
    for original in args.repos:
        with tempfile.TemporaryDirectory(prefix="aisec-bench-cache-") as tmp_text:
            tmp = Path(tmp_text)
            repo = tmp / original.resolve().name
            # A copy, not a clone: a partial clone's checkout holds files its object store lacks.
            subprocess.run(["cp", "-a", str(original.resolve()), str(repo)], check=True)
            bench = Repository(repo, args.tool_root, tmp)
            bench.all_runs(args.runs)
            for label, values in bench.times.items():
                rows.append((original.name, label, statistics.median(values), bench.rss[label], bench.lines[label]))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"{'repository':<24} {'run':<18} {'median s':>9} {'peak RSS MiB':>13}  progress line")
    for name, label, seconds, peak, line in rows:
        print(f"{name:<24} {label:<18} {seconds:>9.2f} {peak / 1024:>13.0f}  {line}")
    print(f"(largest child process, workers included: {children / 1024:.0f} MiB)")
    return 0


def _python_file(repo: Path) -> Path | None:
    """A tracked Python file to change for the one-file run (the first in git's order)."""
    proc = subprocess.run(["git", "-C", str(repo), "ls-files", "*.py"], capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        path = repo / line
        if path.is_file() and not path.is_symlink():
            return path
    return None


if __name__ == "__main__":
    raise SystemExit(main())
