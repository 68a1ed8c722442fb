"""New-only selection: scan the base revision in a temporary worktree and
collect its fingerprints, so only findings the change introduces are reported."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from aisec_ci.config.model import find_config
from aisec_ci.errors import UsageError
from aisec_ci.workspace.gitdiff import resolve_revision

if TYPE_CHECKING:
    from aisec_ci.pipeline import ScanOptions


def _git(args: list[str], cwd: Path) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise UsageError(f"git {' '.join(args[:2])} failed in {cwd}: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout.strip()


def base_fingerprints(opts: ScanOptions, base: str) -> frozenset[str]:
    """Fingerprints of every finding (reported or suppressed) at `base`.

    The base scan uses the *current* configuration, so a change cannot hide an
    old finding by loosening `.aisec.yml` in the same pull request.
    """
    from aisec_ci.pipeline import run_scan

    root = opts.root.resolve()
    start = root if root.is_dir() else root.parent
    toplevel = Path(_git(["rev-parse", "--show-toplevel"], start)).resolve()
    sha = resolve_revision(start, base)
    sub = root.relative_to(toplevel)
    config_path = opts.config_path.resolve() if opts.config_path else find_config(start)
    tmp = Path(tempfile.mkdtemp(prefix="aisec-base-"))
    worktree = tmp / "base"
    try:
        _git(["worktree", "add", "--detach", "--quiet", str(worktree), sha], toplevel)
        base_opts = replace(
            opts,
            root=worktree / sub,
            config_path=config_path,
            new_only_base=None,
            apply_baseline=False,
        )
        if not base_opts.root.exists():
            return frozenset()  # the scanned directory did not exist yet: everything is new
        result = run_scan(base_opts)
        prints = {f.fingerprint for f in result.findings}
        prints.update(s.finding.fingerprint for s in result.suppressed)
        return frozenset(prints)
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(worktree)], cwd=toplevel, capture_output=True, check=False
        )
        shutil.rmtree(tmp, ignore_errors=True)
