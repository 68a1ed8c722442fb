"""Side-by-side timing of the kubernetes+cloud scanners and checkov on the same files.

Not a test (pytest does not collect `bench_*`). Run by hand:

    python tests/scanners/kubernetes/bench_iac_vs_checkov.py [--copies 10] [--checkov PATH]

It builds a corpus of the real-world manifests and policies in ../shared plus the
test fixtures, repeated `--copies` times, and runs both tools once each on it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SOURCES = [
    REPO.parent / "shared" / "data" / "realworld" / "k8s",
    REPO.parent / "shared" / "data" / "realworld" / "iam",
    REPO / "tests" / "fixtures" / "kubernetes",
    REPO / "tests" / "fixtures" / "cloud",
]


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--checkov", default=shutil.which("checkov") or "")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        for i in range(args.copies):
            for src in SOURCES:
                if src.is_dir():
                    shutil.copytree(src, corpus / f"c{i}" / src.name)
        files = sum(1 for p in corpus.rglob("*") if p.is_file())
        ours = _timed(
            [
                sys.executable,
                "-m",
                "aisec_ci",
                "scan",
                str(corpus),
                "--scanners",
                "kubernetes,cloud",
                "--format",
                "json",
                "--output",
                str(Path(tmp) / "ours.json"),
                "--fail-on",
                "none",
            ]
        )
        print(f"files: {files}")
        print(f"aisec-ci (kubernetes,cloud): {ours:.2f} s")
        if args.checkov:
            theirs = _timed(
                [
                    args.checkov,
                    "-d",
                    str(corpus),
                    "--framework",
                    "kubernetes,cloudformation,terraform",
                    "--skip-download",
                    "--quiet",
                    "--compact",
                    "-o",
                    "json",
                ]
            )
            print(f"checkov: {theirs:.2f} s ({theirs / ours:.1f}x aisec-ci)")
        else:
            print("checkov: not found (pass --checkov PATH)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
