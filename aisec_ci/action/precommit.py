"""The pre-commit hook: scan exactly the files pre-commit passes (the staged ones).

`aisec-ci scan` takes one directory, so the hook runs the same pipeline on the
repository root with one anchored include pattern per staged file. Patterns
are gitignore-style, so glob characters in file names are escaped.

    python -m aisec_ci.action.precommit [--scanners secrets,models] [--fail-on low] FILE...
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from aisec_ci.errors import AisecError
from aisec_ci.redaction import safe_message
from aisec_ci.severity import FAIL_ON_CHOICES, parse_fail_on
from aisec_ci.workspace.gitdiff import GitError, run_git

DEFAULT_SCANNERS = ("secrets", "models")
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


def include_pattern(path: str) -> str:
    """An anchored gitignore pattern matching exactly `path` (relative to the root)."""
    escaped = _GLOB_SPECIAL.sub(r"\\\1", path.replace("\\", "/").lstrip("/"))
    # Trailing spaces are dropped by gitignore matching unless escaped.
    stripped = escaped.rstrip(" ")
    return "/" + stripped + "\\ " * (len(escaped) - len(stripped))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aisec-ci-pre-commit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scanners", default=",".join(DEFAULT_SCANNERS))
    parser.add_argument("--fail-on", default="low", choices=FAIL_ON_CHOICES)
    parser.add_argument("files", nargs="*")
    args = parser.parse_args(argv)
    if not args.files:
        return 0
    from aisec_ci.pipeline import ScanOptions, run_scan
    from aisec_ci.report.text import render_text, use_color
    from aisec_ci.scanners.registry import all_scanners, catalog

    cwd = Path.cwd()
    try:
        root = Path(run_git(cwd, "rev-parse", "--show-toplevel").decode("utf-8", "surrogateescape").strip())
    except GitError:
        root = cwd
    prefix = cwd.resolve().relative_to(root.resolve()).as_posix() if cwd.resolve() != root.resolve() else ""
    available = all_scanners()
    scanners = [s.strip() for s in args.scanners.split(",") if s.strip() in available]
    includes = [include_pattern(f"{prefix}/{f}" if prefix else f) for f in args.files]
    fail_on = parse_fail_on(args.fail_on)
    try:
        result = run_scan(
            ScanOptions(root=root, scanners=scanners, include=includes, fail_on=fail_on, fail_on_set=True)
        )
    except AisecError as exc:
        sys.stderr.write(f"aisec-ci: error: {safe_message(str(exc))}\n")
        return exc.exit_code
    # Every unstaged file is "not matched"; listing them would bury the findings.
    result.skipped = [s for s in result.skipped if not s.reason.startswith("not matched by")]
    if result.findings:
        sys.stdout.write(render_text(result, catalog(), color=use_color(sys.stdout, os.environ)))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
