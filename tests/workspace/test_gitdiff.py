"""Changed files and changed line ranges between revisions, on real git repositories."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from aisec_ci.errors import UsageError
from aisec_ci.workspace import gitdiff
from aisec_ci.workspace.discovery import discover
from aisec_ci.workspace.gitdiff import changed_files, changed_lines, parse_patch, resolve_revision
from tests.workspace.workspace_helpers import run_git, write_files

MakeRepo = Callable[[Mapping[str, str | bytes]], Path]

APP_BASE = "".join(f"line{i}\n" for i in range(1, 11))
APP_HEAD = "line1\nline2\nLINE3\nline4\nline5\nline6\nline7\nnew-a\nnew-b\nline8\nline9\n"

BASE_FILES: dict[str, str | bytes] = {
    "app.py": APP_BASE,
    "config.yaml": "a: 1\nb: 2\n",
    "old_name.py": "def a():\n    return 1\n\n\nx = 2\n",
    "moved_same.txt": "same\n",
    "gone.txt": "bye\n",
    "image.bin": b"\x89PNG\x00\x01\x02\x03",
    "dir with space/file name.py": "x = 1\n",
    'quote"d.txt': "q\n",
    "ünï/côde.py": "a = 1\n",
    "tricky.txt": "one\n",
    "mode.sh": "#!/bin/sh\necho hi\n",
}


def commit_all(root: Path, message: str) -> str:
    run_git(root, "add", "-A")
    run_git(root, "commit", "-q", "-m", message)
    return run_git(root, "rev-parse", "HEAD")


@pytest.fixture
def two_commits(git_repo: MakeRepo) -> tuple[Path, str, str]:
    root = git_repo(BASE_FILES)
    base = run_git(root, "rev-parse", "HEAD")
    write_files(
        root,
        {
            "app.py": APP_HEAD,
            "image.bin": b"\x89PNG\x00\x09\x09\x09",
            "dir with space/file name.py": "x = 1\ny = 2\n",
            'quote"d.txt': "Q\n",
            "ünï/côde.py": "a = 1\nb = 2\n",
            # Added lines that look like patch headers must not confuse the parser.
            "tricky.txt": "one\n++ b/evil.txt\ndiff --git a/x b/x\n@@ -1 +1 @@\n",
            "added.py": "import os\n\nprint(os.getcwd())\n",
            "tab\there.txt": "t\n",
        },
    )
    (root / "gone.txt").unlink()
    run_git(root, "mv", "old_name.py", "new_name.py")
    write_files(root, {"new_name.py": "def a():\n    return 2\n\n\nx = 2\n"})
    (root / "sub").mkdir()
    run_git(root, "mv", "moved_same.txt", "sub/moved_same.txt")
    (root / "mode.sh").chmod(0o755)
    head = commit_all(root, "change")
    return root, base, head


EXPECTED_LINES = {
    "added.py": [(1, 3)],
    "app.py": [(3, 3), (8, 9)],
    "dir with space/file name.py": [(2, 2)],
    "image.bin": [],
    "mode.sh": [],
    "new_name.py": [(2, 2)],
    'quote"d.txt': [(1, 1)],
    "sub/moved_same.txt": [],
    "tab\there.txt": [(1, 1)],
    "tricky.txt": [(2, 4)],
    "ünï/côde.py": [(2, 2)],
}


def test_changed_lines_between_commits(two_commits: tuple[Path, str, str]) -> None:
    root, base, head = two_commits
    result = changed_lines(root, base, head)
    assert result == EXPECTED_LINES
    assert list(result) == sorted(result)


def test_changed_files_between_commits(two_commits: tuple[Path, str, str]) -> None:
    root, base, head = two_commits
    assert changed_files(root, base, head) == sorted(EXPECTED_LINES)


def test_symbolic_revisions(two_commits: tuple[Path, str, str]) -> None:
    root, base, head = two_commits
    run_git(root, "tag", "-a", "v1.0", "-m", "release", base)
    assert resolve_revision(root, "v1.0") == base
    assert resolve_revision(root, "HEAD") == head
    assert resolve_revision(root, "HEAD~1") == base
    assert changed_files(root, "v1.0", "main") == sorted(EXPECTED_LINES)


def test_working_tree_changes_include_untracked(git_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    root = git_repo({".gitignore": "*.log\n", "app.py": APP_BASE, "gone.py": "x\n"})
    base = run_git(root, "rev-parse", "HEAD")
    write_files(root, {"app.py": APP_HEAD, "staged.py": "s = 1\n"})
    run_git(root, "add", "staged.py")
    write_files(root, {"untracked.yaml": "a: 1\nb: 2\nc: 3", "debug.log": "x\n", "blob.dat": b"\x00\x01\n"})
    write_files(root, {"node_modules/pkg/index.js": "a\nb\n"})
    os.symlink("/etc/passwd", root / "passwd-link")
    write_files(root, {"big.csv": "a,b\n" * 100})
    monkeypatch.setattr(gitdiff, "_COUNT_LINES_LIMIT", 399)  # big.csv is 400 bytes: too large to count
    (root / "gone.py").unlink()
    expected = {
        "app.py": [(3, 3), (8, 9)],
        "big.csv": [],
        "blob.dat": [],
        "node_modules/pkg/index.js": [],
        "passwd-link": [],
        "staged.py": [(1, 1)],
        "untracked.yaml": [(1, 3)],
    }
    assert changed_lines(root, base) == expected
    assert changed_files(root, base) == sorted(expected)
    assert changed_files(root, "HEAD") == sorted(expected)


def test_pull_request_changes_start_at_the_merge_base(git_repo: MakeRepo) -> None:
    root = git_repo({"app.py": APP_BASE, "other.py": "o = 1\n"})
    run_git(root, "checkout", "-q", "-b", "feature")
    write_files(root, {"app.py": APP_HEAD})
    commit_all(root, "feature work")
    run_git(root, "checkout", "-q", "main")
    write_files(root, {"other.py": "o = 2\n", "main_only.py": "m\n"})
    commit_all(root, "main moved on")
    # The base branch moved after the fork; its changes are not the PR's.
    assert changed_lines(root, "main", "feature") == {"app.py": [(3, 3), (8, 9)]}
    run_git(root, "checkout", "-q", "feature")
    assert changed_files(root, "main") == ["app.py"]


def test_subdirectory_root(git_repo: MakeRepo) -> None:
    root = git_repo({"services/api/app.py": "a\n", "services/web/index.js": "w\n", "README.md": "r\n"})
    base = run_git(root, "rev-parse", "HEAD")
    write_files(root, {"services/api/app.py": "a\nb\n", "services/web/index.js": "w2\n", "README.md": "r2\n"})
    head = commit_all(root, "change")
    api = root / "services" / "api"
    assert changed_lines(api, base, head) == {"app.py": [(2, 2)]}
    write_files(api, {"new.txt": "n\n"})
    write_files(root, {"top.txt": "t\n"})
    assert changed_files(api, base) == ["app.py", "new.txt"]


def test_hunks_stay_separate_and_hostile_config_is_ignored(git_repo: MakeRepo, tmp_path: Path) -> None:
    numbers = "".join(f"{i}\n" for i in range(1, 11))
    root = git_repo({"model.txt": numbers, "keep.cfg": numbers, ".gitattributes": "*.txt diff=evil\n"})
    base = run_git(root, "rev-parse", "HEAD")
    write_files(root, {"model.txt": "1\nTWO\n3\n4\n5\nSIX\n7\n8\n9\n10\n", "ĉanged.py": "x\n"})
    run_git(root, "mv", "keep.cfg", "moved.cfg")
    head = commit_all(root, "change")

    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    script = tmp_path / "hook.sh"
    script.write_text(f'#!/bin/sh\ntouch "{marker_dir}/$(basename "$0")-$$"\necho "{{}}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    # What a repository's own .git/config could set: programs to run, and
    # settings that reshape the patch text.
    hostile = {
        "core.fsmonitor": str(script),
        "diff.external": str(script),
        "diff.evil.textconv": str(script),
        "diff.noprefix": "true",
        "diff.mnemonicPrefix": "true",
        "diff.interHunkContext": "10",
        "diff.context": "5",
        "color.ui": "always",
        "color.diff": "always",
        "core.quotepath": "true",
        "diff.renames": "false",
    }
    for key, value in hostile.items():
        run_git(root, "config", key, value)
    # The hooks are live: plain git runs one of them.
    subprocess.run(["git", "diff", base, head], cwd=root, capture_output=True, check=False)
    assert any(marker_dir.iterdir()), "precondition: the hostile config should run the script in plain git"
    for marker in marker_dir.iterdir():
        marker.unlink()

    expected = {"model.txt": [(2, 2), (6, 6)], "moved.cfg": [], "ĉanged.py": [(1, 1)]}
    assert changed_lines(root, base, head) == expected
    assert changed_lines(root, base) == expected
    assert changed_files(root, base, head) == sorted(expected)
    assert list(marker_dir.iterdir()) == []


def test_resolve_revision_errors(git_repo: MakeRepo, tmp_path: Path) -> None:
    root = git_repo({"a.py": "x\n"})
    with pytest.raises(UsageError, match="unknown git revision 'no-such-branch'"):
        resolve_revision(root, "no-such-branch")
    for hostile in ("--output=/tmp/pwned", "-p", "", "main\nHEAD"):
        with pytest.raises(UsageError, match="invalid git revision"):
            resolve_revision(root, hostile)
    with pytest.raises(UsageError, match="unknown git revision 'no-such-branch'"):
        changed_lines(root, "no-such-branch")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UsageError, match="not inside a git work tree"):
        changed_files(plain, "HEAD")


def test_shallow_clone_gets_a_hint(git_repo: MakeRepo, tmp_path: Path) -> None:
    root = git_repo({"a.py": "x\n"})
    write_files(root, {"a.py": "y\n"})
    commit_all(root, "second")
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", "--depth", "1", f"file://{root}", str(clone))
    with pytest.raises(UsageError, match=r"shallow.*fetch-depth: 0"):
        resolve_revision(clone, "HEAD~1")


def test_parse_patch_edge_cases() -> None:
    patch = b"\n".join(
        [
            b"diff --git a/a.txt b/a.txt",
            b"index 1111111..2222222 100644",
            b"--- a/a.txt",
            b"+++ b/a.txt",
            b"@@ -3 +3 @@",
            b"-old",
            b"\\ No newline at end of file",
            b"+new",
            b"\\ No newline at end of file",
            b"diff --git a/gone.py b/gone.py",
            b"deleted file mode 100644",
            b"index 3333333..0000000",
            b"--- a/gone.py",
            b"+++ /dev/null",
            b"@@ -1,2 +0,0 @@",
            b"-x",
            b"-y",
            b'diff --git "a/t\\tab.bin" "b/t\\tab.bin"',
            b"index 4444444..5555555 100644",
            b'Binary files "a/t\\tab.bin" and "b/t\\tab.bin" differ',
            b"diff --git a/with space.py b/with space.py",
            b"index 6666666..7777777 100644",
            b"--- a/with space.py\t",
            b"+++ b/with space.py\t",
            b"@@ -1,0 +2,2 @@ def f():",
            b"+a",
            b"+b",
            b"@@ -9,2 +10,0 @@",
            b"-c",
            b"-d",
            # core.quotepath=on style: octal escapes of UTF-8 bytes.
            b'diff --git "a/\\303\\274ber.txt" "b/\\303\\274ber.txt"',
            b"index 8888888..9999999 100644",
            b'--- "a/\\303\\274ber.txt"',
            b'+++ "b/\\303\\274ber.txt"',
            b"@@ -0,0 +1 @@",
            b"+hello",
            b"diff --git a/caf\xc3\xa9.py b/caf\xc3\xa9.py",
            b"old mode 100644",
            b"new mode 100755",
            b"",
        ]
    )
    assert parse_patch(patch) == {
        "a.txt": [(3, 3)],
        "café.py": [],
        "t\tab.bin": [],
        "with space.py": [(2, 3)],
        "über.txt": [(1, 1)],
    }


def test_non_utf8_names_match_discovery(git_repo: MakeRepo) -> None:
    root = git_repo({"a.py": "x\n"})
    base = run_git(root, "rev-parse", "HEAD")
    fd = os.open(os.fsencode(root) + b"/caf\xe9.py", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"y = 1\n")
    os.close(fd)
    head = commit_all(root, "latin-1 name")
    assert changed_lines(root, base, head) == {"caf\\xe9.py": [(1, 1)]}
    assert [f.path for f in discover(root).files] == ["a.py", "caf\\xe9.py"]
