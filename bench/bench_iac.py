#!/usr/bin/env python3
"""Container and CI benchmark: aisec-ci (docker + workflows) against hadolint + zizmor.

    python bench/bench_iac.py                         # kubeflow-sized tree, then the x20 tree
    python bench/bench_iac.py --scales 1 --runs 9
    python bench/bench_iac.py --peer-bin /tmp/peers/bin

The tree is shaped like one repository: the real-world Dockerfiles and
workflows under ../shared/data/realworld/ copied into subdirectories, about
25 Dockerfiles and 45 workflows at scale 1 (the size of kubeflow/pipelines),
N times that at scale N. Both sides see exactly the same files.

aisec-ci does both jobs in one process (`--scanners docker,workflows`); the
peers need two: hadolint over every Dockerfile in one process and
`zizmor --offline` over the tree. The anchor is the sum of the two peers'
medians. Every figure is the median wall time of whole-process runs after one
warm-up (start-up included, as a user pays it); the three commands run
alternately (A B C A B C ...) so a load spike on a shared machine hits them
alike. Nothing is installed here: peers come from --peer-bin or PATH.

Findings counts are printed beside the times so that speed is not bought with
lost checks; they differ by construction (different rule sets).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from harness import Tool, alternate, count_aisec, find_peer, machine

REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "data" / "realworld"
# kubeflow/pipelines ships about 25 Dockerfiles and 45 workflows.
TARGET_DOCKERFILES = 25
TARGET_WORKFLOWS = 45


@dataclass
class Tree:
    root: Path
    dockerfiles: list[Path] = field(default_factory=list)
    workflows: list[Path] = field(default_factory=list)

    @property
    def files(self) -> int:
        return len(self.dockerfiles) + len(self.workflows)

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.dockerfiles + self.workflows)


def _sources(kind: str) -> list[Path]:
    base = REALWORLD / kind
    return sorted(p for p in base.rglob("*") if p.is_file())


def _is_workflow(path: Path) -> bool:
    return path.suffix in (".yml", ".yaml") and path.parent.name == "workflows" and path.parent.parent.name == ".github"


def build_tree(root: Path, scale: int) -> Tree:
    """Copy the real-world files into `root`; each copy keeps its repository layout."""
    dockerfiles = _sources("dockerfiles")
    workflows = [p for p in _sources("workflows") if _is_workflow(p)]
    if not dockerfiles or not workflows:
        raise SystemExit(f"no real-world Dockerfiles or workflows under {REALWORLD}")
    tree = Tree(root)
    docker_copies = max(1, round(TARGET_DOCKERFILES * scale / len(dockerfiles)))
    workflow_copies = max(1, round(TARGET_WORKFLOWS * scale / len(workflows)))
    for copy in range(docker_copies):
        for src in dockerfiles:
            dst = root / f"images-{copy:03d}" / src.relative_to(REALWORLD / "dockerfiles")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            tree.dockerfiles.append(dst)
    for copy in range(workflow_copies):
        for src in workflows:
            # Each copy is its own checkout so zizmor and we both see `.github/workflows/`.
            dst = root / f"ci-{copy:03d}" / src.relative_to(REALWORLD / "workflows")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            tree.workflows.append(dst)
    return tree


def _count_json_list(proc: subprocess.CompletedProcess[bytes]) -> int:
    data = json.loads(proc.stdout or b"[]")
    if not isinstance(data, list):
        raise TypeError("expected a JSON list of findings")
    return len(data)


def bench_tree(tree: Tree, runs: int, peer_bin: Path | None, jobs: int) -> list[str]:
    out = tree.root.parent / f"{tree.root.name}-aisec.json"
    ours_cmd = [sys.executable, "-m", "aisec_ci", "scan", str(tree.root), "--scanners", "docker,workflows"]
    ours_cmd += ["--format", "json", "--output", str(out), "--fail-on", "none", "--quiet"]
    if jobs:
        ours_cmd += ["--jobs", str(jobs)]
    tools = [Tool("aisec-ci (docker+workflows)", ours_cmd, count_aisec(out))]
    hadolint = find_peer("hadolint", peer_bin)
    zizmor = find_peer("zizmor", peer_bin)
    missing = [n for n, p in (("hadolint", hadolint), ("zizmor", zizmor)) if p is None]
    if hadolint:
        # One process over every Dockerfile, as a pre-commit hook or a CI step would run it.
        files = [str(p.relative_to(tree.root)) for p in tree.dockerfiles]
        tools.append(Tool("hadolint (Dockerfiles)", [hadolint, "--no-fail", "-f", "json", *files], _count_json_list))
    if zizmor:
        cmd = [zizmor, "--offline", "--no-exit-codes", "--no-progress", "--format", "json", "."]
        tools.append(Tool("zizmor --offline (workflows)", cmd, _count_json_list))

    alternate(tools, runs, tree.root)

    mb = tree.size / 1e6
    lines = [
        f"tree: {len(tree.dockerfiles)} Dockerfiles + {len(tree.workflows)} workflows = {tree.files} files, "
        f"{mb:.2f} MB; median of {runs} runs",
        "",
        f"| {'tool':<30} | {'median s':>8} | {'min-max s':>11} | {'files/s':>8} | {'MB/s':>6} | {'findings':>8} |",
        f"|{'-' * 32}|{'-' * 9}:|{'-' * 12}:|{'-' * 9}:|{'-' * 7}:|{'-' * 9}:|",
    ]
    medians: dict[str, float] = {}
    for tool in tools:
        med = statistics.median(tool.times)
        medians[tool.name] = med
        n_files = len(tree.dockerfiles) if "hadolint" in tool.name else tree.files
        n_files = len(tree.workflows) if "zizmor" in tool.name else n_files
        found = "error" if tool.failed else str(tool.findings)
        lines.append(
            f"| {tool.name:<30} | {med:>8.3f} | {min(tool.times):>5.2f}-{max(tool.times):<5.2f} | "
            f"{n_files / med:>8.0f} | {mb / med:>6.2f} | {found:>8} |"
        )
    ours = medians[tools[0].name]
    if not missing:
        anchor = sum(m for name, m in medians.items() if name != tools[0].name)
        lines.append(
            f"| {'hadolint + zizmor (anchor)':<30} | {anchor:>8.3f} | {'':>11} | "
            f"{tree.files / anchor:>8.0f} | {mb / anchor:>6.2f} | {'':>8} |"
        )
        lines += ["", f"aisec-ci is {anchor / ours:.2f}x the speed of hadolint + zizmor together on these files"]
    else:
        lines += ["", f"not on PATH or in --peer-bin: {', '.join(missing)} (no anchor)"]
    for tool in tools:
        if tool.failed:
            lines.append(f"{tool.name} failed: {tool.failed}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="1,20", help="comma-separated tree sizes (1 = kubeflow-sized)")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per tool and tree (median reported)")
    ap.add_argument("--jobs", type=int, default=0, help="aisec-ci --jobs (0: its default, every CPU)")
    ap.add_argument("--peer-bin", type=Path, help="directory holding the hadolint and zizmor executables")
    ap.add_argument("--keep", action="store_true", help="keep the generated trees")
    args = ap.parse_args()
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}")
    for name in ("hadolint", "zizmor"):
        exe = find_peer(name, args.peer_bin)
        if exe:
            version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout.strip()
            print(f"# {name}: {version.splitlines()[0] if version else exe}")
    work = Path(tempfile.mkdtemp(prefix="bench-iac-"))
    try:
        for scale in (int(s) for s in args.scales.split(",") if s.strip()):
            tree = build_tree(work / f"scale-{scale}", scale)
            print(f"\n## scale {scale}")
            print("\n".join(bench_tree(tree, args.runs, args.peer_bin, args.jobs)))
    finally:
        if args.keep:
            print(f"\ntrees kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
