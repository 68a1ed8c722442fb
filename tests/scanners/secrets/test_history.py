"""History mode: blobs of a commit range, or every unique blob, via git cat-file --batch."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from aisec_ci.errors import UsageError
from aisec_ci.scanners.secrets.history import scan_history
from tests.scanners.secrets.secret_tokens import TokenFactory

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, env=ENV, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    t = TokenFactory(31)
    old, new = t.huggingface(), t.groq()
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# demo\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")
    (root / "train.py").write_text(f'import os\nHF_TOKEN = "{old}"\n')
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "leak")
    leak = git(root, "rev-parse", "HEAD")
    (root / "train.py").write_text('import os\nHF_TOKEN = os.environ["HF_TOKEN"]\n')
    git(root, "commit", "-q", "-am", "fix")
    base = git(root, "rev-parse", "HEAD")
    (root / "serve.py").write_text(f'GROQ_API_KEY = "{new}"\n')
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "serve")
    head = git(root, "rev-parse", "HEAD")
    return root, {"leak": leak, "base": base, "head": head, "old": old, "new": new}


def test_range_scans_only_new_blobs_and_names_commit(repo: tuple[Path, dict[str, str]]) -> None:
    root, info = repo
    findings = scan_history(root, f"{info['base']}..{info['head']}")
    assert [(f.path, f.rule_id, f.start_line) for f in findings] == [("serve.py", "secrets/groq-api-key", 1)]
    assert findings[0].properties["commit"] == info["head"]
    assert info["head"][:12] in findings[0].message and info["new"] not in findings[0].message


def test_full_history_finds_deleted_secret(repo: tuple[Path, dict[str, str]]) -> None:
    root, info = repo
    got = {(f.path, f.rule_id, f.properties["commit"]) for f in scan_history(root, None)}
    assert got == {
        ("train.py", "secrets/huggingface-token", info["leak"]),
        ("serve.py", "secrets/groq-api-key", info["head"]),
    }


def test_bad_range_is_a_usage_error(repo: tuple[Path, dict[str, str]]) -> None:
    root, _ = repo
    with pytest.raises(UsageError, match="git rev-list failed"):
        scan_history(root, "nope..HEAD")


def test_history_option_through_cli(repo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    import json
    import sys

    root, info = repo
    (root / ".aisec.yml").write_text("secrets:\n  history: all\n")
    out = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "aisec_ci", "scan", str(root), "--scanners", "secrets", "--format", "json"]
    proc = subprocess.run(
        [*cmd, "--output", str(out), "--fail-on", "none"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(out.read_text())["findings"]
    got = sorted((f["path"], f["rule_id"], f["properties"].get("commit")) for f in findings)
    # The deleted token comes from history; the live one once, from the working tree.
    assert got == [("serve.py", "secrets/groq-api-key", None), ("train.py", "secrets/huggingface-token", info["leak"])]
    assert info["old"] not in out.read_text()
