#!/usr/bin/env python3
"""What a maintainer's first run shows on real repositories.

    python bench/realworld.py /path/to/kuberay /path/to/pipelines ...
    python bench/realworld.py --profile strict --top 15 REPO ...
    python bench/realworld.py --tool-root /path/to/other/checkout REPO ...   # an older aisec-ci, for before/after
    python bench/realworld.py --sample 40 --seed 7 REPO ...                  # findings to judge by hand

For each repository (a checkout outside this project), one whole `aisec-ci scan` with the
network off (`--offline`: vulnerability data from the bundled snapshot), then per repository:
wall time, findings in all, and the findings at medium or above by role, by profile and by
rule (the `--top` rules). Reports older than JSON schema 2 have no roles or profiles: those
columns show `-`. `--sample N` also prints N medium+ findings drawn at random (seeded) across
the repositories, one per line, for judging whether a maintainer would act on them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
HERE = Path(__file__).resolve().parents[1]


def scan(repo: Path, tool_root: Path, profile: str | None, out: Path) -> tuple[float, dict[str, Any]]:
    cmd = [sys.executable, "-m", "aisec_ci", "scan", str(repo), "--offline", "--quiet", "--fail-on", "none"]
    cmd += ["--format", "json", "--output", str(out)]
    if profile:
        cmd += ["--profile", profile]
    env = {**os.environ, "PYTHONPATH": str(tool_root)}
    started = time.monotonic()
    # Run from the report's directory: `python -m` puts the working directory first on sys.path,
    # which would shadow --tool-root with whatever checkout the command was started in.
    proc = subprocess.run(cmd, env=env, cwd=out.parent, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{repo}: aisec-ci exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return elapsed, json.loads(out.read_text(encoding="utf-8"))


def medium_plus(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if RANK[f["severity"]] >= RANK["medium"]]


def table(title: str, counts: Counter[str], limit: int | None = None) -> list[str]:
    rows = counts.most_common(limit)
    lines = [f"  {title}:"]
    lines += [f"    {n:>6}  {key}" for key, n in rows]
    if limit is not None and len(counts) > limit:
        rest = sum(counts.values()) - sum(n for _, n in rows)
        lines.append(f"    {rest:>6}  ({len(counts) - limit} more rules)")
    return lines


def summary(repo: Path, elapsed: float, report: dict[str, Any], top: int) -> list[str]:
    med = medium_plus(report)
    hidden = (report.get("summary") or {}).get("hidden") or {}
    lines = [
        f"{repo.name}: {elapsed:.1f} s, {len(report['findings'])} findings, {len(med)} at medium or above "
        f"(profile {report.get('profile', '-')})"
    ]
    if hidden:
        parts = [f"{n} in {p}" for p, n in (hidden.get("out_of_profile") or {}).items()]
        parts += [f"{sum((hidden.get(k) or {}).values())} {k} by role" for k in ("lowered", "skipped")]
        lines.append("  left out or lowered: " + ", ".join(parts))
    lines += table("medium+ by role", Counter(f.get("role") or "-" for f in med))
    lines += table("medium+ by profile", Counter(f.get("profile") or "-" for f in med))
    lines += table("medium+ by rule", Counter(f["rule_id"] for f in med), top)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--profile", help="profile to scan with (default: the tool's default)")
    parser.add_argument("--tool-root", type=Path, default=HERE, help="aisec-ci checkout to run (default: this one)")
    parser.add_argument("--top", type=int, default=12, help="rules listed per repository")
    parser.add_argument("--sample", type=int, default=0, help="print N random medium+ findings to judge")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the per-repository figures as JSON")
    args = parser.parse_args()

    figures: dict[str, Any] = {}
    pool: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for repo in args.repos:
            elapsed, report = scan(repo.resolve(), args.tool_root.resolve(), args.profile, Path(tmp) / "r.json")
            print("\n".join(summary(repo, elapsed, report, args.top)), flush=True)
            med = medium_plus(report)
            pool += [(repo.name, f) for f in med]
            figures[repo.name] = {
                "seconds": round(elapsed, 2),
                "findings": len(report["findings"]),
                "medium_plus": len(med),
                "medium_plus_by_role": dict(Counter(f.get("role") or "-" for f in med)),
                "medium_plus_by_rule": dict(Counter(f["rule_id"] for f in med)),
            }
    if args.sample and pool:
        print(f"\nRandom sample of {min(args.sample, len(pool))} medium+ findings (seed {args.seed}):")
        for name, f in random.Random(args.seed).sample(pool, min(args.sample, len(pool))):
            role = f.get("role") or "-"
            print(f"  [{name}] {f['severity']:<8} {f['rule_id']:<40} {role:<9} {f['path']}:{f['start_line']}")
            print(f"      {f['message'][:220]}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
