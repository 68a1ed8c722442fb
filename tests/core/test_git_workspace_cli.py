"""The workspace as the reports show it, end to end: special files in a git work
tree, NUL bytes far into a text file, and file names that are not UTF-8."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import load_json, make_repo, run_cli


def reasons(report: dict[str, Any]) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in report["skipped"]}


def test_fifos_are_listed_as_skipped_in_git_mode(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.py": "x = 1\n", "build/keep.txt": "k\n", ".gitignore": "*.fifo\nbuild/\nout/\n"})
    os.mkfifo(repo / "pipe")  # untracked, not ignored: beside tracked files
    (repo / "only").mkdir()
    os.mkfifo(repo / "only" / "p")  # in a directory git lists nothing in
    os.mkfifo(repo / "ignored.fifo")
    os.mkfifo(repo / "build" / "p")  # inside an ignored directory that holds a tracked file
    (repo / "out" / "deep").mkdir(parents=True)
    os.mkfifo(repo / "out" / "deep" / "p")
    out = tmp_path / "r.json"

    for mode in ((), ("--no-git",)):
        proc = run_cli("scan", repo, *mode, "--scanners", "testkit", "--format", "json", "--output", out, timeout=60)
        assert proc.returncode == 0, proc.stderr
        skipped = reasons(load_json(out))
        assert skipped["pipe"] == "not a regular file (FIFO)"
        assert skipped["only/p"] == "not a regular file (FIFO)"
        if not mode:
            # What .gitignore hides stays out of a git-mode report.
            assert not {"ignored.fifo", "build/p", "out/deep/p"} & set(skipped), skipped


def test_nul_byte_far_into_a_text_file_names_its_line(tmp_path: Path) -> None:
    filler = "".join(f"value_{i} = {i}\n" for i in range(1, 1002))  # lines 1-1001, past the 8 KiB head
    k8s_head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n"
    k8s_filler = "".join(f"  k{i}: v\n" for i in range(1, 1002))  # lines 6-1006
    repo = tmp_path / "app"
    make_repo(repo, {"app.py": filler + "y = 1\x00\n", "cm.yaml": k8s_head + k8s_filler + "  bad: \x00\n"})
    out = tmp_path / "r.json"

    proc = run_cli("scan", repo, "--scanners", "code,kubernetes", "--format", "json", "--output", out)

    assert proc.returncode == 0, proc.stderr
    skipped = reasons(load_json(out))
    assert "line 1002" in skipped["app.py"], skipped
    assert "line 1007" in skipped["cm.yaml"], skipped


def _write_raw(directory: Path, name: bytes, content: bytes) -> None:
    fd = os.open(os.fsencode(directory) + b"/" + name, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, content)
    os.close(fd)


def test_non_utf8_names_stay_distinct_in_every_report(
    tmp_path: Path, sarif_validate: Callable[[dict[str, Any]], None]
) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.py": "x = 1\n"})
    for raw in (b"caf\xe9.py", b"caf\xe8.py"):
        _write_raw(repo, raw, b"x = 1  # SECURITY-MARK[high]\n")
    make_repo(repo, {}, "latin-1 names")
    js, sarif, text = tmp_path / "r.json", tmp_path / "r.sarif", tmp_path / "r.txt"

    for mode in ((), ("--no-git",)):
        proc = run_cli(
            "scan", repo, *mode, "--scanners", "testkit",
            "--format", "json", "--output", js, "--format", "sarif", "--output", sarif,
            "--format", "text", "--output", text,
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert sorted(f["path"] for f in load_json(js)["findings"]) == ["caf\\xe8.py", "caf\\xe9.py"]
        log = json.loads(sarif.read_text(encoding="utf-8"))
        sarif_validate(log)
        results = log["runs"][0]["results"]
        uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
        assert uris == ["caf%E8.py", "caf%E9.py"]
        shown = text.read_text(encoding="utf-8")
        assert "caf\\xe8.py:1" in shown and "caf\\xe9.py:1" in shown and "\ufffd" not in shown
