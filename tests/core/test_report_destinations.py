"""Report and baseline writers never harm what they write to: a device or FIFO is written
as it is (no chmod, no replace), a symlink is written through, an existing file keeps its
mode, and only a file the run creates gets 0644."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_tree

APP = {"Dockerfile": "FROM python:3.11\nRUN pip install torch\n"}


def _scan_to(tmp_path: Path, fmt: str, dest: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("scan", _repo(tmp_path), "--no-git", "--offline", "-q", "--fail-on", "none", "-f", fmt, "-o", dest)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write_tree(repo, APP)
    return repo


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_a_device_destination_keeps_its_type_and_mode(tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # the same device as /dev/null
    os.chmod(null, 0o600)
    proc = _scan_to(tmp_path, "sarif", null)
    assert proc.returncode == 0, proc.stderr
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    proc = run_cli("baseline", "create", _repo(tmp_path), "--no-git", "--offline", "-q", "--output", null)
    assert proc.returncode == 0, proc.stderr
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600


def test_a_fifo_destination_receives_the_report_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo, 0o600)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = _scan_to(tmp_path, "json", fifo)
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert received and b'"docker/root-user"' in received[0]
    st = os.lstat(fifo)
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600


def test_baseline_through_a_symlink_keeps_the_link_and_the_target_mode(tmp_path: Path) -> None:
    target = tmp_path / "shared" / "baseline.json"
    target.parent.mkdir()
    target.write_text("{}", encoding="utf-8")
    os.chmod(target, 0o600)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    proc = run_cli("baseline", "create", _repo(tmp_path), "--no-git", "--offline", "-q", "--output", link)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert '"fingerprint"' in target.read_text(encoding="utf-8")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["baseline.json"]  # no temporary left behind


def test_new_reports_are_0644_and_existing_ones_keep_their_mode(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    old = tmp_path / "old.json"
    old.write_text("stale", encoding="utf-8")
    os.chmod(old, 0o640)
    new = tmp_path / "out" / "new.sarif"
    proc = run_cli("scan", repo, "--no-git", "--offline", "-q", "--fail-on", "none", "--output", old, "--output", new)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(os.stat(old).st_mode) == 0o640 and old.read_text(encoding="utf-8").startswith("{")
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o644


def test_a_directory_destination_is_a_clear_error(tmp_path: Path) -> None:
    proc = _scan_to(tmp_path, "json", tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"aisec-ci: error: cannot write {tmp_path}") and "Traceback" not in proc.stderr
