"""Fixtures for workspace tests: real git repositories built in tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.workspace.workspace_helpers import GIT_TEST_ENV, run_git, write_files


@pytest.fixture(autouse=True)
def _isolated_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_TEST_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[[Mapping[str, str | bytes]], Path]:
    """Make a repository with `files` committed on branch main; returns its root."""

    def make(files: Mapping[str, str | bytes], name: str = "repo") -> Path:
        root = tmp_path / name
        root.mkdir()
        run_git(root, "init", "-q", "-b", "main")
        write_files(root, files)
        run_git(root, "add", "-A")
        run_git(root, "commit", "-q", "--allow-empty", "-m", "initial")
        return root

    return make
