#!/usr/bin/env python3
"""Benchmark: every case of the hostile-input corpus, its wall time and peak memory.

    python bench/hostile.py                   # all cases, a markdown table on stdout
    python bench/hostile.py --case yaml-bomb  # one case (repeatable)

The corpus is tests/hostile/corpus.py (the test suite runs the same cases under an
address-space limit and asserts the bounds). Each case is built in a temporary
directory and scanned once through the CLI in its own process; peak memory is the
larger of that process and its worker processes (wait4's maximum resident set).
Target for every case: under 10 s and 500 MB, every file scanned or skipped with a
reason.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hostile.corpus import CASES, SECRETS, run_case

LIMIT = 3 * 1024**3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--case", action="append", default=[], help="only this case (repeatable)")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    cases = [c for c in CASES if not args.case or c.name in args.case]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AISEC_")}
    env["AISEC_OSV_URL"] = "http://127.0.0.1:9"  # never the internet
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}\n")
    print("| case | exit | seconds | peak MiB | skipped | notes | secret leaked |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for case in cases:
        with tempfile.TemporaryDirectory(prefix="aisec-hostile-") as tmp:
            root = Path(tmp) / "repo"
            root.mkdir()
            case.build(root)
            work = Path(tmp) / "work"
            work.mkdir()
            outcome = run_case(case, root, work, python=sys.executable, env=env, limit=LIMIT, timeout=args.timeout)
        skipped = notes = "-"
        if outcome.report:
            report = json.loads(outcome.report)
            skipped, notes = str(len(report["skipped"])), str(len(report["notes"]))
        leaked = any(s in outcome.stdout + outcome.stderr + outcome.report for s in SECRETS)
        worst = max(worst, outcome.seconds)
        code = "timeout" if outcome.exit_code is None else str(outcome.exit_code)
        print(
            f"| {case.name} | {code} | {outcome.seconds:.2f} | {outcome.peak_bytes / 2**20:.0f} | {skipped} | {notes} "
            f"| {'YES' if leaked else 'no'} |",
            flush=True,
        )
    print(f"\nslowest case: {worst:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
