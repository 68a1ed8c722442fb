"""CI cancels a job with signals: the scan stops its workers, removes the base worktree
and temporary files of a new-only scan, says so, and exits with 128 + the signal number."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import cli_env, git, make_repo, write_tree

MARK = "x = 1  # SECURITY-MARK[high]\n"


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def _wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _start(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "aisec_ci", *map(str, args)],
        cwd=cwd,
        env=cli_env(True, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_pool_and_leaves_no_worker(tmp_path: Path, signum: int) -> None:
    repo = tmp_path / "repo"
    files = {f"src/ok_{i:03d}.py": MARK for i in range(100)}
    files["bad/spin.py"] = "SPIN-ME\n"
    files[".aisec.yml"] = "max-file-seconds: 600\n"
    write_tree(repo, files)
    proc = _start(["scan", repo, "--no-git", "--scanners", "testkit", "--jobs", "2", "--quiet"], tmp_path)
    try:
        _wait_for(lambda: len(_children(proc.pid)) >= 2)
        workers = _children(proc.pid)
        time.sleep(1.0)  # let the workers get going (one of them spins on bad/spin.py)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum, err
    assert f"cancelled by {signal.Signals(signum).name}" in err and "Traceback" not in err
    assert out == ""  # no partial report
    _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=10)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from /proc")
def test_sigterm_during_a_new_only_scan_removes_the_base_worktree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    base = make_repo(repo, {"app.py": MARK, "slow.py": "SPIN-ME\n", ".aisec.yml": "max-file-seconds: 600\n"})
    (repo / "slow.py").unlink()
    git(repo, "commit", "-qam", "drop the slow file")
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = _start(
        ["scan", repo, "--scanners", "testkit", "--new-only", "--base", base, "--quiet"], repo, {"TMPDIR": str(temp)}
    )
    try:
        # The head scan is quick; the base scan spins on slow.py inside the temporary worktree.
        _wait_for(lambda: len(git(repo, "worktree", "list").splitlines()) == 2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "cancelled by SIGTERM" in err
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    assert list(temp.iterdir()) == []
