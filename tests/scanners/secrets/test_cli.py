"""End to end through the CLI: config options reach the scanner, the gate sees severities."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.scanners.secrets.secret_tokens import TokenFactory


def _run(repo: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    out = repo.parent / "report.json"
    cmd = [sys.executable, "-m", "aisec_ci", "scan", str(repo), "--scanners", "secrets", "--no-git"]
    cmd += ["--format", "json", "--output", str(out), "--jobs", "1", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _repo(tmp_path: Path, config: str = "") -> tuple[Path, TokenFactory]:
    t = TokenFactory(41)
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "app.py").write_text(f'db_password = "Pw9{t.alnum(12)}"\nHF = "{t.huggingface()}"\n')
    nb = {
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": [f'key = "{t.anthropic()}"\n']}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (repo / "notebooks" / "eval.ipynb").write_text(json.dumps(nb, indent=1))
    if config:
        (repo / ".aisec.yml").write_text(config)
    return repo, t


def test_gate_fails_on_validated_key(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path)
    proc = _run(repo, "--fail-on", "critical")
    assert proc.returncode == 1, proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    got = {(f["path"], f["rule_id"], f["severity"], f["start_line"]) for f in report["findings"]}
    assert got == {
        ("app.py", "secrets/generic-secret", "medium", 1),
        ("app.py", "secrets/huggingface-token", "high", 2),
        ("notebooks/eval.ipynb", "secrets/anthropic-api-key", "critical", 8),
    }
    nb = next(f for f in report["findings"] if f["path"].endswith(".ipynb"))
    assert nb["properties"]["cell"] == 0 and all(f["fingerprint"] for f in report["findings"])


def test_config_disables_generic_checks(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path, "secrets:\n  generic: false\n")
    proc = _run(repo, "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    rules = {f["rule_id"] for f in json.loads((tmp_path / "report.json").read_text())["findings"]}
    assert rules == {"secrets/huggingface-token", "secrets/anthropic-api-key"}


def test_unknown_option_is_a_config_error(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path, "secrets:\n  verify: true\n")
    proc = _run(repo)
    assert proc.returncode == 2 and "secrets.verify" in proc.stderr
