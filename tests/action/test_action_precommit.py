"""The pre-commit hook scans exactly the files it is given, whatever their names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from aisec_ci.action.precommit import include_pattern
from tests.action.conftest import REPO, git, planted_token


def hook(cwd: Path, *files: str) -> subprocess.CompletedProcess[str]:
    spec = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))[0]
    entry = spec["entry"].split()
    assert entry[0] == "python"
    return subprocess.run(
        [sys.executable, *entry[1:], *spec["args"], *files],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(cwd), "AISEC_OSV_URL": "http://127.0.0.1:9"},
    )


def test_include_pattern_escapes_globs() -> None:
    assert include_pattern("src/we[ird]/*.py") == "/src/we\\[ird\\]/\\*.py"
    assert include_pattern("notes ") == "/notes\\ "


def test_hook_blocks_a_staged_secret_and_ignores_other_files(tmp_path: Path) -> None:
    token = planted_token()
    (tmp_path / "src" / "we[ird]").mkdir(parents=True)
    (tmp_path / "src" / "we[ird]" / "settings.py").write_text(f'HF_TOKEN = "{token}"\n', encoding="utf-8")
    (tmp_path / "scratch.py").write_text(f'HF_TOKEN = "{token}"\n', encoding="utf-8")
    (tmp_path / "ok.py").write_text("BATCH = 32\n", encoding="utf-8")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "src", "ok.py")

    blocked = hook(tmp_path, "src/we[ird]/settings.py", "ok.py")
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "src/we[ird]/settings.py:1" in blocked.stdout and "secrets/huggingface-token" in blocked.stdout
    assert "scratch.py" not in blocked.stdout
    assert token not in blocked.stdout + blocked.stderr

    clean = hook(tmp_path, "ok.py")
    assert clean.returncode == 0 and clean.stdout == ""
    # pre-commit runs hooks from the repository root, but a subdirectory works too.
    nested = hook(tmp_path / "src", "we[ird]/settings.py")
    assert nested.returncode == 1 and "secrets/huggingface-token" in nested.stdout
