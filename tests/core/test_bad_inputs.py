"""Bad input never produces a traceback: every file is scanned or skipped with a reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import load_json, make_repo, run_cli, write_tree


def scan(root: Path, *extra: str) -> tuple[int, dict, str]:
    out = root.parent / f"{root.name}.json"
    proc = run_cli(
        "scan", root, "--scanners", "testkit", "--format", "json", "--output", out, "--fail-on", "none", *extra
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    return proc.returncode, load_json(out), proc.stderr


def reasons(report: dict) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in report["skipped"]}


@pytest.mark.parametrize("use_git", [True, False])
def test_hostile_tree(tmp_path: Path, use_git: bool) -> None:
    root = tmp_path / "tree"
    files: dict[str, str | bytes] = {
        "ok.py": "x = 1  # SECURITY-MARK[low]\n",
        "latin1.py": "name = 'caf\xe9'  # SECURITY-MARK[low]\n".encode("latin-1"),
        "blob.dat": bytes(range(256)) * 64,
        "empty.txt": "",
    }
    if use_git:
        make_repo(root, files)
    else:
        write_tree(root, files)
    (root / "loop_a").symlink_to("loop_b")
    (root / "loop_b").symlink_to("loop_a")
    (root / "etc_passwd").symlink_to("/etc/passwd")
    (root / "alias.py").symlink_to("ok.py")
    (root / "dirlink").symlink_to(root.parent)
    os.mkfifo(root / "pipe")
    with open(root / "huge.log", "wb") as fh:  # 200 MB, sparse: fast to make
        fh.truncate(200 * 1024 * 1024)
    extra = () if use_git else ("--no-git",)
    _, report, _ = scan(root, *extra)
    why = reasons(report)
    assert "symlink" in why["etc_passwd"] and "outside" in why["etc_passwd"]
    assert "symlink" in why["loop_a"] and "symlink" in why["loop_b"]
    assert "symlink" in why["alias.py"]
    assert "larger than" in why["huge.log"]
    assert why["blob.dat"] == "binary file"
    if not use_git:  # git does not list FIFOs or directory symlinks' contents
        assert "pipe" in why
        assert any(p.startswith("dirlink") for p in why)
    # The invalid-UTF-8 file is scanned, not skipped.
    paths = {f["path"] for f in report["findings"]}
    assert paths == {"ok.py", "latin1.py"}
    # Nothing is silently lost: every regular path is either scanned or skipped.
    assert report["summary"]["files_scanned"] == 3  # ok.py, latin1.py, empty.txt


def test_empty_repo_and_empty_dir(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    from tests.conftest import git

    git(repo, "init", "-q")
    _, report, _ = scan(repo)
    assert report["summary"]["files_scanned"] == 0 and report["findings"] == []
    plain = tmp_path / "plain"
    plain.mkdir()
    _, report, _ = scan(plain)
    assert report["summary"]["files_scanned"] == 0


def test_single_file_root(tmp_path: Path) -> None:
    f = tmp_path / "one.py"
    f.write_text("x  # SECURITY-MARK[high]\n")
    out = tmp_path / "r.json"
    proc = run_cli("scan", f, "--scanners", "testkit", "--format", "json", "--output", out)
    assert proc.returncode == 1, proc.stderr
    assert [x["path"] for x in load_json(out)["findings"]] == ["one.py"]


def test_malformed_config_variants(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.py": "x\n"})
    for text in ("- just\n- a list\n", "fail-on: [1, 2]\n", "\tfail-on: high\n", "unknown-key: 1\n"):
        (repo / ".aisec.yml").write_text(text)
        proc = run_cli("scan", repo, "--scanners", "testkit")
        assert proc.returncode == 2, text
        assert ".aisec.yml" in proc.stderr and "Traceback" not in proc.stderr
    (repo / ".aisec.yml").write_bytes(b"\xff\xfe\x00garbage")
    proc = run_cli("scan", repo, "--scanners", "testkit")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_exclude_and_include_globs(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(
        repo,
        {
            "src/a.py": "x  # SECURITY-MARK[low]\n",
            "tests/fixtures/b.py": "y  # SECURITY-MARK[low]\n",
            "docs/c.md": "z SECURITY-MARK[low]\n",
        },
    )
    _, report, _ = scan(repo, "--exclude", "tests/**")
    assert {f["path"] for f in report["findings"]} == {"src/a.py", "docs/c.md"}
    assert "tests/**" in reasons(report)["tests/fixtures/b.py"]
    _, report, _ = scan(repo, "--include", "src/**")
    assert {f["path"] for f in report["findings"]} == {"src/a.py"}


def test_gitignored_files_are_not_scanned_but_untracked_are(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {".gitignore": "build/\n", "a.py": "x  # SECURITY-MARK[low]\n"})
    (repo / "build").mkdir()
    (repo / "build" / "gen.py").write_text("y  # SECURITY-MARK[low]\n")
    (repo / "new.py").write_text("z  # SECURITY-MARK[low]\n")  # untracked, not ignored
    _, report, _ = scan(repo)
    assert {f["path"] for f in report["findings"]} == {"a.py", "new.py"}
