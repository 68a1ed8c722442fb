"""`--history` (secrets in git history) and detect-secrets baselines, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec_ci.scanners.registry import all_scanners
from tests.conftest import load_json, make_repo, run_cli
from tests.scanners.secrets.secret_tokens import TokenFactory

pytestmark = pytest.mark.skipif("secrets" not in all_scanners(), reason="the secrets scanner is not part of this build")


def test_history_finds_a_secret_removed_from_head(tmp_path: Path) -> None:
    token = TokenFactory(seed=11).github()
    repo = tmp_path / "app"
    first = make_repo(repo, {"app.py": "print('hi')\n"})
    leak = make_repo(repo, {"settings.py": f'GITHUB_TOKEN = "{token}"\n'}, "add settings")
    make_repo(repo, {"settings.py": "import os\nGITHUB_TOKEN = os.environ['GITHUB_TOKEN']\n"}, "use env")
    out = tmp_path / "r.json"

    proc = run_cli("scan", repo, "--scanners", "secrets", "--format", "json", "--output", out, plugin=False)
    assert proc.returncode == 0, proc.stderr  # HEAD is clean
    assert load_json(out)["findings"] == []

    proc = run_cli(
        "scan", repo, "--scanners", "secrets", "--history", f"{first}..HEAD",
        "--format", "json", "--output", out, plugin=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    findings = load_json(out)["findings"]
    assert [(f["rule_id"], f["path"]) for f in findings] == [("secrets/github-token", "settings.py")]
    assert leak[:7] in findings[0]["message"] or findings[0]["properties"].get("commit", "").startswith(leak[:7])
    assert token not in out.read_text() and token not in proc.stderr

    proc = run_cli("scan", repo, "--scanners", "docker", "--history", "all", plugin=False)
    assert proc.returncode == 2 and "secrets" in proc.stderr


def test_detect_secrets_baseline_is_honoured(tmp_path: Path) -> None:
    import hashlib

    token = TokenFactory(seed=12).github()
    repo = tmp_path / "app"
    make_repo(repo, {"settings.py": f'GITHUB_TOKEN = "{token}"\n'})
    out = tmp_path / "r.json"
    run_cli("scan", repo, "--scanners", "secrets", "--format", "json", "--output", out, plugin=False)
    assert len(load_json(out)["findings"]) == 1
    ds = {
        "version": "1.5.0",
        "plugins_used": [{"name": "GitHubTokenDetector"}],
        "filters_used": [],
        "results": {
            "settings.py": [
                {
                    "type": "GitHub Token",
                    "filename": "settings.py",
                    "hashed_secret": hashlib.sha1(token.encode()).hexdigest(),
                    "is_verified": False,
                    "line_number": 1,
                }
            ]
        },
        "generated_at": "2026-01-01T00:00:00Z",
    }
    (repo / ".secrets.baseline").write_text(json.dumps(ds))
    proc = run_cli("scan", repo, "--scanners", "secrets", "--format", "json", "--output", out, plugin=False)
    report = load_json(out)
    assert proc.returncode == 0, proc.stderr
    assert report["findings"] == [] and report["summary"]["suppressed"]["baseline"] == 1
    assert ".secrets.baseline" in report["suppressed"][0]["suppression"]["reason"]


def test_revisions_that_look_like_options_never_reach_git(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"app.py": "print('hi')\n"})
    written = tmp_path / "written-by-git"
    for args in (
        (f"--history=--output={written}",),
        ("--history", f"HEAD..--output={written}"),
        ("--new-only", f"--base=--output={written}"),
    ):
        proc = run_cli("scan", repo, "--scanners", "secrets", *args, plugin=False)
        option = "--base" if "--new-only" in args else "--history"
        assert proc.returncode == 2, (args, proc.stderr)
        assert option in proc.stderr and "starts with '-'" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
        assert not written.exists(), args


def test_history_option_in_the_config_is_checked_too(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    written = tmp_path / "written-by-git"
    make_repo(repo, {"app.py": "x\n", ".aisec.yml": f"secrets:\n  history: '--output={written}'\n"})
    proc = run_cli("scan", repo, "--scanners", "secrets", plugin=False)
    assert proc.returncode == 2 and "secrets.history" in proc.stderr, proc.stderr
    assert not written.exists()


def test_history_that_cannot_be_scanned_is_a_usage_error(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"app.py": "x\n"})
    proc = run_cli("scan", repo, "--scanners", "secrets", "--history", "no-such-branch..HEAD", plugin=False)
    assert proc.returncode == 2, proc.stderr
    assert "--history" in proc.stderr and "'no-such-branch'" in proc.stderr

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "app.py").write_text("x\n")
    for history in ("all", "HEAD~1..HEAD"):
        proc = run_cli("scan", plain, "--scanners", "secrets", "--history", history, plugin=False)
        assert proc.returncode == 2, proc.stderr
        assert "--history" in proc.stderr and "not inside a git work tree" in proc.stderr


def test_history_notes_for_no_git_and_shallow_clones(tmp_path: Path) -> None:
    token = TokenFactory(seed=13).github()
    repo = tmp_path / "app"
    make_repo(repo, {"settings.py": f'TOKEN = "{token}"\n'})
    make_repo(repo, {"settings.py": "import os\nTOKEN = os.environ['TOKEN']\n"}, "use env")
    make_repo(repo, {"b.py": "y\n"}, "third")
    out = tmp_path / "r.json"

    proc = run_cli(
        "scan", repo, "--scanners", "secrets", "--history", "all", "--no-git",
        "--format", "json", "--output", out, plugin=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = load_json(out)
    assert report["findings"] == []  # history was not scanned, and the report says why
    assert any("--no-git" in n and "history" in n for n in report["notes"]), report["notes"]

    clone = tmp_path / "clone"
    from tests.conftest import git

    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    proc = run_cli(
        "scan", clone, "--scanners", "secrets", "--history", "all", "--format", "json", "--output", out, plugin=False
    )
    assert proc.returncode == 0, proc.stderr
    assert any("shallow" in n and "incomplete" in n for n in load_json(out)["notes"]), load_json(out)["notes"]
    proc = run_cli(
        "scan", repo, "--scanners", "secrets", "--history", "all", "--format", "json", "--output", out, plugin=False
    )
    assert proc.returncode == 1, proc.stderr
    assert not any("shallow" in n for n in load_json(out)["notes"])
