"""Bounded work per Dockerfile: ignore files read by name stay bounded, and long files,
many stages and long heredocs cost what they hold, not its square."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.docker import context_copy
from aisec_ci.scanners.docker.dockerignore import is_excluded, parse_dockerignore
from tests.conftest import run_cli
from tests.scanners.docker.docker_support import lines, scan, write

BROAD = "docker/broad-copy-context"
_COPY_ALL = "FROM python:3.11.9-slim\nWORKDIR /app\nCOPY . .\nUSER 1000\n"


def _report(repo: Path, out: Path) -> dict[str, Any]:
    proc = run_cli(
        "scan", repo, "--scanners", "docker", "--no-git", "--format", "json", "--output", out, "--fail-on", "none",
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_a_huge_sparse_dockerignore_is_read_only_as_a_prefix(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Dockerfile").write_text(_COPY_ALL)
    ignore = repo / ".dockerignore"
    ignore.write_text("**/*.pyc\n.env\n")
    # 64 MiB, almost all of it a hole: over the discovery cap and the 1 MiB read.
    os.truncate(ignore, 64 * 1024 * 1024)
    report = _report(repo, tmp_path / "out.json")
    assert [s["path"] for s in report["skipped"]] == [".dockerignore"]
    (finding,) = [f for f in report["findings"] if f["rule_id"] == BROAD]
    # The prefix still counts (.env is excluded); what was left unread is said.
    assert finding["properties"]["not_excluded"] == [".git"]
    assert "only the first 1 MiB of .dockerignore was read" in finding["message"]
    assert finding["properties"]["dockerignore_partial"] == "only the first 1 MiB of .dockerignore was read"


def test_a_fifo_dockerignore_read_by_name_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / ".dockerignore"
    os.mkfifo(fifo)

    def release() -> None:
        # Unblocks a reader that waits on the FIFO (the behaviour this test guards against),
        # so a regression fails the assertion below instead of hanging the suite.
        try:
            with open(fifo, "w") as writer:
                writer.write(".git\n.env\n")
        except OSError:
            pass

    threading.Timer(5.0, release).start()
    try:
        context = context_copy.read_context(tmp_path, fifo, ())
    finally:
        # Let the timer's writer, if it already opened, finish.
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
    assert context.patterns == ()
    assert "could not be read (is a FIFO (named pipe), not a regular file)" in context.partial


def test_only_the_first_patterns_of_a_huge_dockerignore_are_used(tmp_path: Path) -> None:
    noise = "".join(f"generated/dir{i}/*.tmp\n" for i in range(context_copy.MAX_PATTERNS + 500))
    (tmp_path / ".dockerignore").write_text(noise + ".git\n.env\n")
    path = write(tmp_path, _COPY_ALL)
    (finding,) = [f for f in scan(path) if f.rule_id == BROAD]
    assert finding.properties["not_excluded"] == [".git", ".env"]
    assert "only the first 2,000 patterns of .dockerignore were used" in finding.message


def test_many_star_patterns_do_not_backtrack(tmp_path: Path) -> None:
    # A backtracking regex takes minutes on this pair; the matcher answers at once.
    patterns = parse_dockerignore("*a*a*a*a*a*a*a*a*a*a*a*a*b\n")
    assert not is_excluded("a" * 80 + ".pem", patterns)
    assert is_excluded("a" * 80 + "b", patterns)
    assert is_excluded("xa" * 12 + "yb", patterns)
    assert not is_excluded("dir/ab", patterns)
    deep = parse_dockerignore("**/a*/**/b*/**/*c*\n")
    assert is_excluded("x/ay/z/bq/w/acb", deep)
    assert not is_excluded("x/ay/z/bq/w/ab", deep)


def test_every_whole_context_copy_shares_one_ignore_match(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text(".git\n.env\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "db.json").write_text("{}\n")
    body = "FROM python:3.11.9-slim\nWORKDIR /app\n" + "COPY . .\n" * 500 + "COPY --exclude=secrets . .\nUSER 1000\n"
    path = write(tmp_path, body)
    # The first copy leaves `secrets` in: one finding per Dockerfile, at that copy.
    assert lines(scan(path), BROAD) == [3]
    (tmp_path / ".dockerignore").write_text(".git\n.env\nsecrets\n")
    assert lines(scan(path), BROAD) == []


def test_findings_in_a_long_heredoc_land_on_their_lines(tmp_path: Path) -> None:
    body = "FROM python:3.11.9-slim\nRUN <<EOF\n" + "".join(f"pip install pkg{i}\n" for i in range(3000)) + "EOF\n"
    # One RUN, so one finding; it spans the installs and lists the line of each.
    [found] = [f for f in scan(write(tmp_path, body)) if f.rule_id == "docker/pip-unpinned"]
    assert (found.start_line, found.end_line) == (3, 3002)
    assert found.properties["lines"] == list(range(3, 3003))
    assert len(found.properties["packages"]) == 3000


def test_long_stage_chains_inherit_workdir_and_env(tmp_path: Path) -> None:
    chain = "".join(f"FROM s{i} AS s{i + 1}\nCOPY app.py app/\nRUN pip install pkg{i}==1.0\n" for i in range(1500))
    body = "FROM python:3.11.9-slim AS s0\nWORKDIR /app\nENV PIP_NO_CACHE_DIR=1\n" + chain + "USER 1000\n"
    found = scan(write(tmp_path, body))
    # WORKDIR and PIP_NO_CACHE_DIR set in the first stage hold for every stage built on it.
    assert lines(found, "docker/copy-relative-without-workdir") == []
    assert lines(found, "docker/pip-cache") == []
    # A stage that starts from an image again starts without them.
    fresh = body + "FROM python:3.11.9-slim\nCOPY app.py app/\nRUN pip install x==1.0\nUSER 1000\n"
    found = scan(write(tmp_path, fresh))
    from_line = fresh.count("\n") - 3
    assert lines(found, "docker/copy-relative-without-workdir") == [from_line + 1]
    assert lines(found, "docker/pip-cache") == [from_line + 2]


def test_a_generated_dockerfile_with_too_many_runs_is_skipped(tmp_path: Path) -> None:
    body = "FROM python:3.11.9-slim\n" + "RUN true\n" * 10_001
    with pytest.raises(SkipFile, match="10,001 RUN instructions, more than the 10,000 analysed"):
        scan(write(tmp_path, body))
    assert scan(write(tmp_path, "FROM python:3.11.9-slim\n" + "RUN true\n" * 10_000 + "USER 1000\n")) is not None
