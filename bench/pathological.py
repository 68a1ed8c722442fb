#!/usr/bin/env python3
"""Benchmark: inputs whose cost sits inside single C calls (regex searches), timed.

    python bench/pathological.py                          # every case, a markdown table
    python bench/pathological.py --case k8s-blank-lines   # one case (repeatable)

The test suite counts work instead of timing it, but a count of Python calls cannot
see how long one regex search takes. The tests named below guard these cases
structurally (what keeps the search linear); this script keeps the wall time in
view. Each case is scanned in this process at its test size and at a quarter of
it, best of --runs; linear work makes the ratio about 4, quadratic work about 16.

Cases and the tests that guard them:
  k8s-blank-lines        tests/scanners/kubernetes/test_k8s_parsing.py::test_template_detection_is_linear_on_blank_lines
  secrets-minified-line  tests/scanners/secrets/test_false_positives.py::test_huge_minified_line_is_bounded
  terraform-*            tests/scanners/cloud/test_cloud_iam.py::test_hostile_terraform_is_bounded
                         (the test counts the parser's Python work; the tokenizer's
                         string regex is one C call per attempt, timed here)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@dataclass(frozen=True)
class Case:
    name: str
    size: int
    """The size the test uses; the case also runs at a quarter of it."""
    run: Callable[[Path, int], object]
    """Scan an input of size n built under the given directory."""


def _k8s_blank_lines(tmp: Path, n: int) -> object:
    from tests.scanners.kubernetes.k8s_support import scan

    p = tmp / "blank.yaml"
    p.write_text("\n" * n + "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n")
    return scan(p)


def _secrets_minified_line(tmp: Path, n: int) -> object:
    from aisec_ci.workspace.kinds import FileKind
    from tests.scanners.secrets.secret_tokens import TokenFactory, scan_path

    filler = ('{"password":"x","api_key":"y","token":"sk-' + "a" * 20 + '"},') * n
    p = tmp / "bundle.min.js"
    p.write_text("var a=[" + filler + '{"k":"' + TokenFactory(11).groq() + '"}];\n')
    return scan_path(p, FileKind.TEXT)


def _terraform(template: Callable[[int], str]) -> Callable[[Path, int], object]:
    def run(tmp: Path, n: int) -> object:
        from aisec_ci.workspace.kinds import FileKind
        from tests.scanners.cloud.cloud_support import scan

        p = tmp / "hostile.tf"
        p.write_text(template(n))
        return scan(p, FileKind.TERRAFORM)

    return run


CASES = [
    Case("k8s-blank-lines", 500_000, _k8s_blank_lines),
    Case("secrets-minified-line", 40_000, _secrets_minified_line),
    Case("terraform-open-interpolations", 20_000, _terraform(lambda n: 'x = "' + "${" * n)),
    Case("terraform-nested-strings", 20_000, _terraform(lambda n: 'x = "' + '${"a"' * n)),
    Case(
        "terraform-heredoc-braces",
        5_000,
        _terraform(lambda n: 'resource "aws_iam_policy" "p" {\n  policy = <<EOT\n' + "{" * n + "\n"),
    ),
    Case("terraform-open-braces", 20_000, _terraform(lambda n: "{" * n)),
]


def _best(case: Case, tmp: Path, n: int, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        case.run(tmp, n)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--case", action="append", default=[], help="only this case (repeatable)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cases = [c for c in CASES if not args.case or c.name in args.case]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}\n")
    print("| case | size | seconds at size/4 | seconds at size | ratio |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="aisec-pathological-") as name:
        tmp = Path(name)
        for case in cases:
            case.run(tmp, case.size // 4)  # warm-up: imports and compiled patterns
            small = _best(case, tmp, case.size // 4, args.runs)
            large = _best(case, tmp, case.size, args.runs)
            print(f"| {case.name} | {case.size} | {small:.3f} | {large:.3f} | {large / small:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
