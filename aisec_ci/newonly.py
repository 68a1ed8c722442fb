"""New-only selection: check the base revision out in a temporary worktree, and
say which findings its scan already had, so only those a change introduces are
reported.

The pipeline runs the base scan itself (with the HEAD's configuration); this
module owns the git side and the question "was this finding already there?".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aisec_ci.errors import UsageError
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.result import ScanResult
from aisec_ci.sameproblem import member_fingerprints
from aisec_ci.suppress.inline import MARKER
from aisec_ci.workspace.discovery import DEFAULT_MAX_FILE_SIZE
from aisec_ci.workspace.files import path_bytes
from aisec_ci.workspace.gitdiff import GitError, resolve_revision, run_git
from aisec_ci.workspace.reading import read_bounded_text


def _git(root: Path, *args: str) -> str:
    try:
        return run_git(root, *args).decode("utf-8", "surrogateescape").strip()
    except GitError as exc:
        raise UsageError(f"new-only: {exc} (in {root})") from None


@contextmanager
def base_checkout(root: Path, base: str) -> Iterator[Path | None]:
    """The directory at `base` that corresponds to `root` (a directory or file
    of the current work tree), checked out in a temporary worktree that is
    removed afterwards; None when that path did not exist at `base`."""
    root = root.resolve()
    start = root if root.is_dir() else root.parent
    sha = resolve_revision(start, base, "--base")
    toplevel = Path(_git(start, "rev-parse", "--show-toplevel")).resolve()
    sub = root.relative_to(toplevel)
    tmp = Path(tempfile.mkdtemp(prefix="aisec-base-"))
    worktree = tmp / "base"
    try:
        _git(toplevel, "worktree", "add", "--detach", "--quiet", "--end-of-options", str(worktree), sha)
        target = worktree / sub
        yield target if target.exists() else None
    finally:
        # Should this fail, the directory still goes below and `git worktree prune` forgets it.
        with contextlib.suppress(GitError):
            run_git(toplevel, "worktree", "remove", "--force", "--end-of-options", str(worktree))
        shutil.rmtree(tmp, ignore_errors=True)
        # A checkout cut short (cancelled mid-`worktree add`) leaves a registration that
        # `remove` does not know yet: forget every worktree whose directory is gone.
        with contextlib.suppress(GitError):
            run_git(toplevel, "worktree", "prune")


def base_fingerprints(result: ScanResult, base_root: Path) -> frozenset[str]:
    """Fingerprints of every finding the base scan had, reported, merged into a
    reported one (`aisec_ci.sameproblem`) or suppressed.

    A finding suppressed inline in the base counts twice: as it was, and as it
    is once the `aisec: ignore[...]` comment is deleted from its line (the
    fingerprint of a finding without a key hashes its line's text), so removing
    the comment does not make an old finding new.
    """
    directory = base_root if base_root.is_dir() else base_root.parent
    prints = {fp for f in result.findings for fp in member_fingerprints(f)}
    inline: list[Finding] = []
    for s in result.suppressed:
        prints.add(s.finding.fingerprint)
        if s.kind == "inline" and not s.finding.key:
            inline.append(s.finding)
    prints.update(_without_directive(inline, directory))
    return frozenset(prints)


def _without_directive(findings: list[Finding], base_root: Path) -> set[str]:
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.path, []).append(f)
    prints: set[str] = set()
    for path, group in by_path.items():
        lines = _base_lines(base_root, path)
        if lines is None:
            continue
        stripped = list(lines)
        for f in group:
            if 1 <= f.start_line <= len(lines):
                stripped[f.start_line - 1] = _strip_directive(lines[f.start_line - 1])
        again = [f.evolve(fingerprint="") for f in group]
        prints.update(f.fingerprint for f in assign_fingerprints(again, stripped))
    return prints


def _base_lines(base_root: Path, path: str) -> list[str] | None:
    """The base file's lines, split as the engine splits them for fingerprints."""
    try:
        return read_bounded_text(base_root / os.fsdecode(path_bytes(path)), DEFAULT_MAX_FILE_SIZE).splitlines()
    except OSError:
        return None


def _strip_directive(line: str) -> str:
    """The line as it reads once its trailing `# aisec: ignore[...]` comment is deleted."""
    at = line.find(MARKER)
    if at < 0:
        return line
    hash_at = line.rfind("#", 0, at)
    return line[:hash_at].rstrip() if hash_at >= 0 else line
