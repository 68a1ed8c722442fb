"""Discovery: git-aware listing, walking, filters, caps and every kind of bad input."""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from aisec_ci.errors import UsageError
from aisec_ci.workspace import discovery, gitdiff
from aisec_ci.workspace.discovery import Workspace, discover, format_size
from aisec_ci.workspace.files import path_bytes
from aisec_ci.workspace.kinds import FileKind
from tests.call_budget import assert_linear, count_calls
from tests.workspace.workspace_helpers import run_git, write_files

MakeRepo = Callable[[Mapping[str, str | bytes]], Path]
FIXTURE_REPO = Path(__file__).resolve().parents[1] / "fixtures" / "workspace" / "repo"


def kinds(ws: Workspace) -> dict[str, FileKind]:
    return {f.path: f.kind for f in ws.files}


def reasons(ws: Workspace) -> dict[str, str]:
    return {s.path: s.reason for s in ws.skipped}


# -- walk mode ----------------------------------------------------------------


def test_walk_classifies_and_excludes_tool_directories(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "app/main.py": "print('hi')\n",
            "requirements.txt": "torch==1.13.0\n",
            "Dockerfile": "FROM python:3.11\n",
            "node_modules/left-pad/index.js": "module.exports = 1\n",
            "node_modules/left-pad/node_modules/x/index.js": "1\n",
            ".venv/lib/python3.11/site-packages/yaml/__init__.py": "x = 1\n",
            "pkg/__pycache__/m.cpython-311.pyc": b"\x00\x01",
            "sentiment.egg-info/PKG-INFO": "Name: sentiment\n",
            ".git/config": "[core]\n",
            "vendored/.git": "gitdir: ../.git/modules/vendored\n",
            "src/.ipynb_checkpoints/train-checkpoint.ipynb": "{}\n",
        },
    )
    ws = discover(tmp_path, use_git=False)
    assert ws.is_git is False
    assert ws.root == tmp_path.resolve()
    assert kinds(ws) == {
        "Dockerfile": FileKind.DOCKERFILE,
        "app/main.py": FileKind.PYTHON,
        "requirements.txt": FileKind.REQUIREMENTS,
    }
    # Each excluded directory once, never the files inside it or nested excluded dirs.
    assert reasons(ws) == {
        ".git/": "excluded directory (version control metadata)",
        ".venv/": "excluded directory (dependency/tool cache)",
        "node_modules/": "excluded directory (dependency/tool cache)",
        "pkg/__pycache__/": "excluded directory (dependency/tool cache)",
        "sentiment.egg-info/": "excluded directory (dependency/tool cache)",
        "src/.ipynb_checkpoints/": "excluded directory (dependency/tool cache)",
        "vendored/.git": "version control metadata",
    }
    assert [s.path for s in ws.skipped] == sorted(s.path for s in ws.skipped)
    assert ws.by_kind() == {"dockerfile": 1, "python": 1, "requirements": 1}


def test_fixture_repository_kinds_and_source_file_content() -> None:
    ws = discover(FIXTURE_REPO, use_git=False)
    assert ws.skipped == []
    assert [f.path for f in ws.files] == sorted(f.path for f in ws.files)
    by_path = {f.path: f for f in ws.files}
    assert by_path["charts/model-server/templates/deployment.yaml"].kind is FileKind.HELM_TEMPLATE
    req = by_path["requirements.txt"]
    assert req.kind is FileKind.REQUIREMENTS
    assert req.size == (FIXTURE_REPO / "requirements.txt").stat().st_size
    assert req.lines == ["torch==1.13.0", "pyyaml==5.3"]
    assert req.abspath == FIXTURE_REPO.resolve() / "requirements.txt"
    counts = ws.by_kind()
    assert list(counts) == sorted(counts)
    assert sum(counts.values()) == len(ws.files)
    assert counts["requirements"] == 8  # six .txt/.in files and two rye .lock files


def test_output_is_deterministic(tmp_path: Path) -> None:
    write_files(tmp_path, {f"d{i % 7}/f{i}.py": f"x = {i}\n" for i in range(60)})
    os.symlink("/etc/hostname", tmp_path / "link")
    first = discover(tmp_path, use_git=False)
    second = discover(tmp_path, use_git=False)
    assert [(f.path, f.kind, f.size) for f in first.files] == [(f.path, f.kind, f.size) for f in second.files]
    assert first.skipped == second.skipped


# -- git mode -----------------------------------------------------------------


def test_git_listing_respects_gitignore_and_includes_untracked(git_repo: MakeRepo) -> None:
    root = git_repo(
        {
            ".gitignore": "*.log\n/data/\nsecrets.env\n",
            "train.py": "import torch\n",
            "requirements.txt": "torch==2.0.0\n",
        }
    )
    write_files(
        root,
        {
            "debug.log": "token=abc\n",
            "data/raw.csv": "a,b\n",
            "secrets.env": "KEY=1\n",
            "new_module.py": "x = 1\n",
            "k8s/deploy.yaml": "apiVersion: v1\nkind: Pod\n",
        },
    )
    ws = discover(root)
    assert ws.is_git is True
    assert sorted(kinds(ws)) == [".gitignore", "k8s/deploy.yaml", "new_module.py", "requirements.txt", "train.py"]
    assert kinds(ws)["k8s/deploy.yaml"] is FileKind.KUBERNETES
    # Ignored files are neither scanned nor listed: git already hides them by the user's choice.
    assert ws.skipped == []
    # Without git the same tree is walked and the ignored files show up.
    walked = discover(root, use_git=False)
    assert walked.is_git is False
    assert {"debug.log", "data/raw.csv", "secrets.env"} <= set(kinds(walked))
    assert reasons(walked) == {".git/": "excluded directory (version control metadata)"}


def test_git_subdirectory_root_gives_paths_relative_to_it(git_repo: MakeRepo) -> None:
    root = git_repo({"services/api/Dockerfile": "FROM python:3.11\n", "services/api/app.py": "x=1\n", "README.md": "x"})
    write_files(root, {"services/api/new.txt": "hello\n"})
    ws = discover(root / "services" / "api")
    assert ws.is_git is True
    assert ws.root == (root / "services" / "api").resolve()
    assert kinds(ws) == {"Dockerfile": FileKind.DOCKERFILE, "app.py": FileKind.PYTHON, "new.txt": FileKind.TEXT}


def test_git_tracked_dependency_directory_reported_once(git_repo: MakeRepo) -> None:
    root = git_repo(
        {
            "web/node_modules/a/index.js": "1\n",
            "web/node_modules/b/index.js": "2\n",
            "web/node_modules/b/node_modules/c/index.js": "3\n",
            "venv/bin/activate": "x\n",
            "web/app.js": "console.log(1)\n",
        }
    )
    ws = discover(root)
    assert kinds(ws) == {"web/app.js": FileKind.TEXT}
    assert reasons(ws) == {
        "venv/": "excluded directory (dependency/tool cache)",
        "web/node_modules/": "excluded directory (dependency/tool cache)",
    }


def test_git_unicode_names_with_quotepath_on(git_repo: MakeRepo) -> None:
    names = {
        "données/entraînement.py": "x = 1\n",
        "模型/配置.yaml": "apiVersion: v1\nkind: ConfigMap\n",
        "with space/and\ttab.txt": "t\n",
        'quote"d.json': "{}\n",
    }
    root = git_repo(names)
    # A user config that octal-escapes names must not leak into the paths.
    run_git(root, "config", "core.quotepath", "true")
    write_files(root, {"ñew/ünträcked.py": "y = 2\n"})
    ws = discover(root)
    assert sorted(kinds(ws)) == sorted([*names, "ñew/ünträcked.py"])
    assert kinds(ws)["模型/配置.yaml"] is FileKind.KUBERNETES
    for f in ws.files:
        assert f.abspath.is_file()


def test_non_utf8_file_name_is_scanned_with_a_printable_path(tmp_path: Path) -> None:
    for raw_name in (b"caf\xe9.py", b"caf\xe8.py"):
        fd = os.open(os.fsencode(tmp_path) + b"/" + raw_name, os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"x = 1\n")
        os.close(fd)
    ws = discover(tmp_path, use_git=False)
    # Two names that differ only in an undecodable byte stay two paths.
    assert [f.path for f in ws.files] == ["caf\\xe8.py", "caf\\xe9.py"]
    for f in ws.files:
        f.path.encode("utf-8")  # reports can write it
        assert f.kind is FileKind.PYTHON
        assert f.text == "x = 1\n"  # abspath still names the real file


def test_backslashes_are_doubled_so_no_name_reads_like_an_escape(tmp_path: Path) -> None:
    for raw_name in (b"\\xe9.py", b"\xe9.py"):
        fd = os.open(os.fsencode(tmp_path) + b"/" + raw_name, os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)
    ws = discover(tmp_path, use_git=False)
    shown = sorted(f.path for f in ws.files)
    assert shown == ["\\\\xe9.py", "\\xe9.py"]
    assert sorted(path_bytes(p) for p in shown) == sorted([b"\\xe9.py", b"\xe9.py"])


def test_git_deleted_tracked_file_and_file_deleted_after_listing(
    git_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = git_repo({"keep.py": "x\n", "removed.py": "y\n", "later.py": "z\n"})
    (root / "removed.py").unlink()
    write_files(root, {"scratch.txt": "temp\n"})
    real_list_files = gitdiff.list_files

    def list_then_delete(base: Path) -> gitdiff.GitListing:
        listing = real_list_files(base)
        # Another process removes files between the listing and the lstat.
        (base / "scratch.txt").unlink()
        (base / "later.py").unlink()
        return listing

    monkeypatch.setattr(discovery, "list_files", list_then_delete)
    ws = discover(root)
    assert kinds(ws) == {"keep.py": FileKind.PYTHON}
    assert reasons(ws) == {
        "later.py": "deleted from the working tree (tracked by git)",
        "removed.py": "deleted from the working tree (tracked by git)",
        "scratch.txt": "vanished during discovery",
    }


def test_git_submodule_and_nested_repository(git_repo: MakeRepo, tmp_path: Path) -> None:
    root = git_repo({"main.py": "x\n"})
    sha = run_git(root, "rev-parse", "HEAD")
    # A gitlink entry is what `git submodule add` records; no network or file transport needed.
    run_git(root, "update-index", "--add", "--cacheinfo", f"160000,{sha},vendor/lib")
    (root / "vendor" / "lib").mkdir(parents=True)
    write_files(root / "vendor" / "lib", {"inner.py": "z\n"})
    nested = root / "experiments" / "clone"
    nested.mkdir(parents=True)
    run_git(nested, "init", "-q")
    write_files(nested, {"notebook.ipynb": "{}\n"})
    ws = discover(root)
    assert kinds(ws) == {"main.py": FileKind.PYTHON}
    assert reasons(ws) == {
        "experiments/clone/": "nested git repository (not scanned)",
        "vendor/lib/": "git submodule (not scanned; scan it in its own repository)",
    }


def test_empty_repository(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    run_git(root, "init", "-q")
    ws = discover(root)
    assert (ws.is_git, ws.files, ws.skipped, ws.by_kind()) == (True, [], [], {})
    write_files(root, {"first.py": "x\n"})
    ws = discover(root)
    assert kinds(ws) == {"first.py": FileKind.PYTHON}


def test_git_missing_falls_back_to_walk(git_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    root = git_repo({".gitignore": "ignored.txt\n", "a.py": "x\n"})
    write_files(root, {"ignored.txt": "x\n"})
    monkeypatch.setenv("PATH", str(root / "no-such-bin"))
    ws = discover(root)
    assert ws.is_git is False
    assert set(kinds(ws)) == {".gitignore", "a.py", "ignored.txt"}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_git_dubious_ownership_falls_back_to_walk(git_repo: MakeRepo) -> None:
    root = git_repo({".gitignore": "ignored.txt\n", "a.py": "x\n"})
    write_files(root, {"ignored.txt": "x\n"})
    os.chown(root, 54321, 54321)
    ws = discover(root)
    assert ws.is_git is False
    assert set(kinds(ws)) == {".gitignore", "a.py", "ignored.txt"}


# -- symlinks and special files ----------------------------------------------


@pytest.mark.parametrize("use_git", [False, True])
def test_symlinks_are_never_followed(tmp_path: Path, use_git: bool) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    outside = tmp_path / "outside"
    write_files(outside, {"secret.txt": "password=hunter2\n"})
    write_files(root, {"real/config.yaml": "a: 1\n"})
    os.symlink("/etc/passwd", root / "passwd")
    os.symlink("/etc", root / "etc-dir")
    os.symlink(outside, root / "outside-dir")
    os.symlink("../outside/secret.txt", root / "relative-escape.txt")
    os.symlink("real/config.yaml", root / "config-link.yaml")
    os.symlink("real", root / "real-link")
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    os.symlink("missing.txt", root / "dangling")
    if use_git:
        run_git(root, "init", "-q")
        run_git(root, "add", "-A")
        run_git(root, "commit", "-q", "-m", "links")
    ws = discover(root, use_git=use_git)
    assert ws.is_git is use_git
    assert kinds(ws) == {"real/config.yaml": FileKind.YAML}
    got = reasons(ws)
    got.pop(".git/", None)
    assert got == {
        "config-link.yaml": "symlink inside the root (target scanned at its own path)",
        "dangling": "broken symlink",
        "etc-dir": "symlink to a path outside the root",
        "loop-a": "symlink loop",
        "loop-b": "symlink loop",
        "outside-dir": "symlink to a path outside the root",
        "passwd": "symlink to a path outside the root",
        "real-link": "symlink to a directory inside the root (not entered)",
        "relative-escape.txt": "symlink to a path outside the root",
    }


def test_root_given_through_a_symlink_is_resolved(tmp_path: Path) -> None:
    write_files(tmp_path / "project", {"app.py": "x\n"})
    os.symlink(tmp_path / "project", tmp_path / "alias")
    ws = discover(tmp_path / "alias", use_git=False)
    assert ws.root == (tmp_path / "project").resolve()
    assert kinds(ws) == {"app.py": FileKind.PYTHON}


def test_fifo_and_socket_are_skipped_without_blocking(tmp_path: Path) -> None:
    write_files(tmp_path, {"app.py": "x\n"})
    os.mkfifo(tmp_path / "pipe")
    sock_path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(sock_path))
        ws = discover(tmp_path, use_git=False)
    finally:
        server.close()
    assert kinds(ws) == {"app.py": FileKind.PYTHON}
    assert reasons(ws) == {"pipe": "not a regular file (FIFO)", "s.sock": "not a regular file (socket)"}


def test_fifo_as_root_is_a_usage_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UsageError, match="not a directory or regular file"):
        discover(tmp_path / "pipe")


# -- content, size and readability --------------------------------------------


def test_bad_content_inputs(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "blob.dat": bytes(range(256)) * 8,
            "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "latin1.txt": "café crème\n".encode("latin-1"),
            "empty.txt": b"",
            "requirements.txt": b"",
            "win-requirements.txt": "torch==2.0\n".encode("utf-16"),
            "weights.pkl": pickle.dumps({"w": [0.1]}, protocol=0),
        },
    )
    ws = discover(tmp_path, use_git=False)
    assert kinds(ws) == {
        "empty.txt": FileKind.TEXT,
        "latin1.txt": FileKind.TEXT,
        "requirements.txt": FileKind.REQUIREMENTS,
        "weights.pkl": FileKind.MODEL,
    }
    assert reasons(ws) == {
        "blob.dat": "binary file",
        "logo.png": "binary file",
        "win-requirements.txt": "UTF-16 text (not scanned; save it as UTF-8)",
    }
    by_path = {f.path: f for f in ws.files}
    assert by_path["latin1.txt"].text == "caf\ufffd cr\ufffdme\n"
    assert by_path["empty.txt"].size == 0


def test_size_caps_for_text_and_model_files(tmp_path: Path) -> None:
    big = 200 * 1024 * 1024
    for name in ("huge.json", "model.pt", "blob.bin.txt"):
        with open(tmp_path / name, "wb") as handle:
            handle.truncate(big)  # sparse: instant and takes no disk space
    write_files(tmp_path, {"small.py": "x\n"})
    ws = discover(tmp_path, use_git=False)
    assert kinds(ws) == {"model.pt": FileKind.MODEL, "small.py": FileKind.PYTHON}
    assert reasons(ws) == {
        "blob.bin.txt": "larger than the 10 MiB cap (200.0 MiB)",
        "huge.json": "larger than the 10 MiB cap (200.0 MiB)",
    }
    capped = discover(tmp_path, use_git=False, max_model_size=100 * 1024 * 1024, max_file_size=1)
    assert reasons(capped)["model.pt"] == "larger than the 100 MiB cap (200.0 MiB)"
    assert reasons(capped)["small.py"] == "larger than the 1 bytes cap (2 bytes)"


def test_format_size() -> None:
    assert format_size(10 * 1024 * 1024, whole=True) == "10 MiB"
    assert format_size(212 * 1024 * 1024) == "212.0 MiB"
    assert format_size(8 * 1024**3, whole=True) == "8 GiB"
    assert format_size(1536) == "1.5 KiB"
    assert format_size(12) == "12 bytes"


def test_unreadable_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_files(tmp_path, {"ok.py": "x\n", "locked.env": "KEY=1\n"})
    real_open = os.open

    def guarded_open(path: str, flags: int, *args: int) -> int:
        if str(path).endswith("locked.env"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", guarded_open)
    ws = discover(tmp_path, use_git=False)
    assert kinds(ws) == {"ok.py": FileKind.PYTHON}
    assert reasons(ws) == {"locked.env": "unreadable: Permission denied"}


def test_unreadable_directory_is_skipped_and_unreadable_root_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(tmp_path, {"ok.py": "x\n", "private/a.py": "y\n"})
    real_scandir = os.scandir
    denied = {str(tmp_path / "private")}

    def guarded_scandir(path: str) -> Iterator[os.DirEntry[str]]:
        if str(path) in denied:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", guarded_scandir)
    ws = discover(tmp_path, use_git=False)
    assert kinds(ws) == {"ok.py": FileKind.PYTHON}
    assert reasons(ws) == {"private/": "unreadable directory: Permission denied"}
    denied.add(str(tmp_path.resolve()))
    with pytest.raises(UsageError, match=r"cannot read directory .*: Permission denied"):
        discover(tmp_path, use_git=False)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_and_directory_by_permissions(tmp_path: Path) -> None:
    write_files(tmp_path, {"ok.py": "x\n", "locked.env": "KEY=1\n", "private/a.py": "y\n"})
    (tmp_path / "locked.env").chmod(0)
    (tmp_path / "private").chmod(0)
    try:
        ws = discover(tmp_path, use_git=False)
    finally:
        (tmp_path / "locked.env").chmod(0o644)
        (tmp_path / "private").chmod(0o755)
    assert kinds(ws) == {"ok.py": FileKind.PYTHON}
    assert reasons(ws) == {
        "locked.env": "unreadable: Permission denied",
        "private/": "unreadable directory: Permission denied",
    }


# -- roots --------------------------------------------------------------------


def test_nonexistent_root_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"path does not exist: .*no-such-dir"):
        discover(tmp_path / "no-such-dir")


def test_single_file_root(tmp_path: Path) -> None:
    write_files(tmp_path, {"deploy/app.yaml": "apiVersion: apps/v1\nkind: Deployment\n", "deploy/other.py": "x\n"})
    ws = discover(tmp_path / "deploy" / "app.yaml")
    assert ws.root == (tmp_path / "deploy").resolve()
    assert kinds(ws) == {"app.yaml": FileKind.KUBERNETES}
    assert ws.skipped == []


def test_single_file_in_a_repository_is_classified_and_named_by_its_repository_path(git_repo: MakeRepo) -> None:
    workflow = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"
    root = git_repo({".github/workflows/ci.yml": workflow, "src/app.py": "x = 1\n"})
    ws = discover(root / ".github" / "workflows" / "ci.yml")
    assert ws.root == root.resolve()
    assert kinds(ws) == {".github/workflows/ci.yml": FileKind.WORKFLOW}
    # Without git (or outside a repository) the file's own directory is the root, as before.
    alone = discover(root / ".github" / "workflows" / "ci.yml", use_git=False)
    assert alone.root == (root / ".github" / "workflows").resolve()
    assert list(kinds(alone)) == ["ci.yml"]


# -- include / exclude / only_paths --------------------------------------------


def test_include_and_exclude_patterns(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "src/app.py": "x\n",
            "src/gen/proto_pb2.py": "x\n",
            "tests/test_app.py": "x\n",
            "tests/fixtures/keep.yaml": "a: 1\n",
            "docs/index.md": "x\n",
            "Dockerfile": "FROM x\n",
        },
    )
    ws = discover(tmp_path, use_git=False, exclude=["tests/**", "!tests/fixtures/keep.yaml", "*_pb2.py"])
    assert sorted(kinds(ws)) == ["Dockerfile", "docs/index.md", "src/app.py", "tests/fixtures/keep.yaml"]
    assert reasons(ws) == {
        "src/gen/proto_pb2.py": "excluded by pattern '*_pb2.py'",
        "tests/test_app.py": "excluded by pattern 'tests/**'",
    }
    ws = discover(tmp_path, use_git=False, include=["src/", "Dockerfile"], exclude=["src/gen/"])
    assert sorted(kinds(ws)) == ["Dockerfile", "src/app.py"]
    assert reasons(ws) == {
        "docs/index.md": "not matched by --include",
        "src/gen/proto_pb2.py": "excluded by pattern 'src/gen/'",
        "tests/fixtures/keep.yaml": "not matched by --include",
        "tests/test_app.py": "not matched by --include",
    }


def test_invalid_pattern_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"invalid --exclude pattern 'a/\[z-a\]'"):
        discover(tmp_path, exclude=["a/[z-a]"])


def test_only_paths_restricts_silently(git_repo: MakeRepo) -> None:
    root = git_repo(
        {
            "a.py": "x\n",
            "b.py": "x\n",
            "deploy/k8s.yaml": "apiVersion: v1\nkind: Pod\n",
            "node_modules/x/index.js": "1\n",
            "venv/lib/site.py": "1\n",
        }
    )
    ws = discover(root, only_paths=["./a.py", "deploy/k8s.yaml", "node_modules/x/index.js", "gone.py"])
    assert kinds(ws) == {"a.py": FileKind.PYTHON, "deploy/k8s.yaml": FileKind.KUBERNETES}
    # Only the excluded directory holding a requested path is mentioned; venv/ is not part of this run.
    assert reasons(ws) == {"node_modules/": "excluded directory (dependency/tool cache)"}
    walked = discover(root, use_git=False, only_paths=["b.py", "node_modules/x/index.js"])
    assert kinds(walked) == {"b.py": FileKind.PYTHON}
    assert reasons(walked) == {"node_modules/": "excluded directory (dependency/tool cache)"}


# -- speed ----------------------------------------------------------------------


def test_discovery_has_no_per_file_overhead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 3,000 files: a per-file subprocess or full read would take seconds. Counted, not
    # timed (the real budget, 20,000 files well under 1.5 s, is measured by bench/):
    # no subprocess at all, one head read per file, and work linear in the file count.
    bodies = [
        ("src/m{i}.py", "import os\n" * 20),
        ("k8s/d{i}.yaml", "apiVersion: v1\nkind: ConfigMap\n"),
        ("cfg/c{i}.json", '{"a": 1}\n'),
    ]

    def tree(n: int) -> Path:
        root = tmp_path / f"tree{n}"
        write_files(root, {tpl.format(i=i): body for i in range(n) for tpl, body in bodies})
        shutil.copy(FIXTURE_REPO / "requirements.txt", root / "requirements.txt")
        return root

    trees = {n: tree(n) for n in (100, 400)}  # built before anything is counted
    assert_linear(lambda n: discover(trees[n], use_git=False), 100)
    root = tree(1000)
    processes = count_calls(monkeypatch, subprocess, "Popen", limit=0)
    heads = count_calls(monkeypatch, discovery, "_read_head", limit=3001)
    ws = discover(root, use_git=False)
    assert len(ws.files) == 3001
    assert processes.calls == 0 and heads.calls == 3001


def test_tracked_file_behind_a_directory_turned_symlink(git_repo: MakeRepo, tmp_path: Path) -> None:
    root = git_repo({"conf/app.yaml": "a: 1\n", "conf/deep/x.yaml": "b: 2\n", "main.py": "x\n"})
    outside = tmp_path / "elsewhere"
    write_files(outside, {"app.yaml": "stolen: true\n", "deep/x.yaml": "stolen: true\n"})
    shutil.rmtree(root / "conf")
    os.symlink(outside, root / "conf")
    ws = discover(root)
    assert kinds(ws) == {"main.py": FileKind.PYTHON}
    assert reasons(ws) == {
        "conf": "symlink to a path outside the root",  # git sees the link itself as untracked
        "conf/app.yaml": "inside a symlinked directory (not followed)",
        "conf/deep/x.yaml": "inside a symlinked directory (not followed)",
    }


def test_git_ignored_root_is_walked(git_repo: MakeRepo) -> None:
    root = git_repo({".gitignore": "build/\n", "app.py": "x\n"})
    write_files(root, {"build/gen/settings.json": '{"debug": true}\n'})
    ws = discover(root / "build")
    assert ws.is_git is False
    assert kinds(ws) == {"gen/settings.json": FileKind.JSON}
    assert kinds(discover(root)) == {".gitignore": FileKind.TEXT, "app.py": FileKind.PYTHON}


def test_pattern_reason_without_check_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from aisec_ci.workspace.globs import PatternSet

    patterns = PatternSet(["build/", "*.log", "!keep.log"])
    monkeypatch.setattr(type(patterns._spec), "check_file", None, raising=False)
    assert patterns.matching("build/out/a.o") == "build/"
    assert patterns.matching("logs/x.log") == "*.log"
    assert patterns.matching("keep.log") is None
    assert patterns.matching("src/app.py") is None
