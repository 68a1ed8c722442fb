#!/usr/bin/env python3
"""Kubernetes and cloud-policy benchmark: aisec-ci (kubernetes + cloud) against checkov.

    python bench/bench_k8s.py                        # x10 tree, median of 5 runs
    python bench/bench_k8s.py --copies 20 --runs 7
    python bench/bench_k8s.py --peer-bin /tmp/peers-k8s/bin

The tree holds the real-world manifests and policies under
../shared/data/realworld/k8s and /iam plus this repository's kubernetes and
cloud test fixtures, copied --copies times. Both tools see exactly the same
tree:

    aisec-ci scan TREE --scanners kubernetes,cloud --format json
    checkov -d TREE --framework kubernetes,cloudformation,terraform --skip-download --quiet -o json

Every figure is the median wall time of whole-process runs after one warm-up
(start-up included, as a user pays it), run alternately (A B A B ...) so a
load spike on a shared machine hits both alike. Nothing is installed here:
checkov comes from --peer-bin or PATH.

Finding counts are printed beside the times so that speed is not bought with
lost checks; they differ by construction (checkov has no ML custom resources,
no bare policy JSON, no nginx/Ray/MLflow exposure rules).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import Tool, alternate, count_aisec, find_peer, machine

REPO = Path(__file__).resolve().parents[1]
REALWORLD = REPO.parent / "shared" / "data" / "realworld"
SOURCES = (
    ("k8s", REALWORLD / "k8s"),
    ("iam", REALWORLD / "iam"),
    ("fixtures-kubernetes", REPO / "tests" / "fixtures" / "kubernetes"),
    ("fixtures-cloud", REPO / "tests" / "fixtures" / "cloud"),
)


@dataclass
class Tree:
    root: Path
    files: int = 0
    size: int = 0


def build_tree(root: Path, copies: int) -> Tree:
    tree = Tree(root)
    for copy in range(copies):
        for label, src in SOURCES:
            if not src.is_dir():
                continue
            for path in sorted(p for p in src.rglob("*") if p.is_file()):
                if path.name.endswith("snapshot.json"):
                    continue  # test expectations, not configuration
                dst = root / f"copy-{copy:03d}" / label / path.relative_to(src)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dst)
                tree.files += 1
                tree.size += dst.stat().st_size
    if tree.files == 0:
        raise SystemExit(f"no input files under {REALWORLD} or the fixtures")
    return tree


def _count_checkov(proc: subprocess.CompletedProcess[bytes]) -> int:
    """checkov prints one report object per framework (a list when several ran)."""
    text = proc.stdout.decode(errors="replace").strip()
    if not text:
        raise ValueError("no output")
    data: Any = json.loads(text)
    reports = data if isinstance(data, list) else [data]
    total = 0
    for report in reports:
        if isinstance(report, dict):
            results = report.get("results")
            if isinstance(results, dict):
                total += len(results.get("failed_checks") or [])
            else:
                total += int(report.get("failed", 0) or 0)  # an empty run: summary only
    return total


def bench(tree: Tree, runs: int, peer_bin: Path | None) -> list[str]:
    out = tree.root.parent / "aisec.json"
    ours_cmd = [sys.executable, "-m", "aisec_ci", "scan", str(tree.root), "--scanners", "kubernetes,cloud"]
    ours_cmd += ["--format", "json", "--output", str(out), "--fail-on", "none", "--quiet"]
    tools = [Tool("aisec-ci (kubernetes+cloud)", ours_cmd, count_aisec(out))]
    checkov = find_peer("checkov", peer_bin)
    if checkov:
        cmd = [checkov, "-d", str(tree.root), "--framework", "kubernetes,cloudformation,terraform"]
        cmd += ["--skip-download", "--quiet", "-o", "json"]
        tools.append(Tool("checkov (k8s+cfn+terraform)", cmd, _count_checkov))

    alternate(tools, runs, tree.root)

    mb = tree.size / 1e6
    lines = [
        f"tree: {tree.files} files, {mb:.2f} MB; median of {runs} alternating runs",
        "",
        f"| {'tool':<28} | {'median s':>8} | {'min-max s':>11} | {'files/s':>8} | {'MB/s':>6} | {'findings':>8} |",
        f"|{'-' * 30}|{'-' * 9}:|{'-' * 12}:|{'-' * 9}:|{'-' * 7}:|{'-' * 9}:|",
    ]
    medians = {}
    for tool in tools:
        med = statistics.median(tool.times)
        medians[tool.name] = med
        found = "error" if tool.failed else str(tool.findings)
        lines.append(
            f"| {tool.name:<28} | {med:>8.3f} | {min(tool.times):>5.2f}-{max(tool.times):<5.2f} | "
            f"{tree.files / med:>8.0f} | {mb / med:>6.2f} | {found:>8} |"
        )
    if len(tools) == 2:
        ratio = medians[tools[1].name] / medians[tools[0].name]
        lines += ["", f"aisec-ci is {ratio:.1f}x the speed of checkov on these files"]
    else:
        lines += ["", "checkov not on PATH or in --peer-bin: no comparison"]
    lines += [f"{t.name} failed: {t.failed}" for t in tools if t.failed]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=10, help="copies of the input set (default 10)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tool after a warm-up (default 5)")
    parser.add_argument("--peer-bin", type=Path, default=None, help="directory holding the checkov executable")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-k8s-") as tmp:
        tree = build_tree(Path(tmp) / "tree", max(1, args.copies))
        print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}")
        print("\n".join(bench(tree, max(1, args.runs), args.peer_bin)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
