"""End to end through the CLI on a small AI repository: findings, skips, config, suppression."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.scanners.code.code_support import FIXTURES

REPO = FIXTURES / "repo"

# Reviewed by hand: every entry is a real problem, and the clean lines of the repository
# (weights_only=True, the Flask debug server inside tests/) are absent.
EXPECTED = {
    ("app/agent.py", 9, "code/langchain-python-repl", "high"),
    ("app/agent.py", 18, "code/shell-injection", "critical"),
    ("app/agent.py", 22, "code/eval-model-output", "critical"),
    ("app/serve.py", 12, "code/gradio-public-without-auth", "high"),
    ("notebooks/review_checkpoint.ipynb", 57, "code/torch-load-unsafe", "medium"),
    ("notebooks/review_checkpoint.ipynb", 68, "code/pickle-load", "high"),
    ("notebooks/review_checkpoint.ipynb", 87, "code/yaml-unsafe-load", "high"),
    ("notebooks/review_checkpoint.ipynb", 97, "code/trust-remote-code", "high"),
}


def _scan(repo: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    proc = run_cli("scan", repo, "--scanners", "code", "--format", "json", "--output", out, *extra, plugin=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(out.read_text())


def _copy(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo)
    return repo


def test_cli_reports_code_findings_and_skips_python2(tmp_path: Path) -> None:
    code, report = _scan(_copy(tmp_path), tmp_path / "out.json", "--fail-on", "none")
    assert code == 0
    got = {(f["path"], f["start_line"], f["rule_id"], f["severity"]) for f in report["findings"]}
    assert got == EXPECTED
    assert {f["scanner"] for f in report["findings"]} == {"code"}
    assert all(len(f["fingerprint"]) == 32 for f in report["findings"])
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert "Python syntax error at line 5" in skipped["legacy/export_model.py"]
    notebook = [f for f in report["findings"] if f["path"].endswith(".ipynb")]
    assert sorted(f["properties"]["cell"] for f in notebook) == [4, 5, 7, 8]


def test_cli_gate_fails_on_critical(tmp_path: Path) -> None:
    code, report = _scan(_copy(tmp_path), tmp_path / "out.json", "--fail-on", "critical")
    assert code == 1
    assert report["gate"]["failing"] == 2


def test_cli_config_options_and_inline_suppression(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    (repo / "app" / "tools.py").write_text(
        "import pickle\n\n"
        "def restore(blob, q):\n"
        "    state = pickle.loads(blob)  # aisec: ignore[code/pickle-load] blob is our own signed cache\n"
        "    plan = consult_oracle(q)\n"
        "    return eval(plan)\n"
    )
    cell: dict[str, object] = {
        "cell_type": "code",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        "source": [
            "import joblib\n",
            "a = joblib.load('a.joblib')  # aisec: ignore[code/pickle-load] built by this notebook\n",
            "b = joblib.load('b.joblib')",
        ],
    }
    (repo / "notebooks" / "cache.ipynb").write_text(json.dumps({"cells": [cell], "nbformat": 4}, indent=1))
    (repo / ".aisec.yml").write_text("code:\n  llm_call_names: [oracle]\n")
    _, report = _scan(repo, tmp_path / "out.json", "--fail-on", "none")
    tools = [(f["start_line"], f["rule_id"]) for f in report["findings"] if f["path"] == "app/tools.py"]
    assert tools == [(6, "code/eval-model-output")]
    cache = [f for f in report["findings"] if f["path"] == "notebooks/cache.ipynb"]
    assert [f["snippet"] for f in cache] == ["b = joblib.load('b.joblib')"]
    assert report["summary"]["suppressed"]["inline"] == 2


def test_cli_rejects_unknown_code_option(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    (repo / ".aisec.yml").write_text("code:\n  llm_names: [oracle]\n")
    proc = run_cli(
        "scan", repo, "--scanners", "code", "--format", "json", "--output", tmp_path / "o.json", plugin=False
    )
    assert proc.returncode == 2
    assert "llm_names" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_sarif_for_code_findings_is_valid(tmp_path: Path, sarif_validate: Callable[[dict[str, Any]], None]) -> None:
    repo = _copy(tmp_path)
    out = tmp_path / "out.sarif"
    proc = run_cli(
        "scan", repo, "--scanners", "code", "--format", "sarif", "--output", out, "--fail-on", "none", plugin=False
    )
    assert proc.returncode == 0, proc.stderr
    log = json.loads(out.read_text())
    sarif_validate(log)
    run = log["runs"][0]
    rules = {r["id"] for r in run["tool"]["driver"]["rules"]}
    results = run["results"]
    assert {r["ruleId"] for r in results} <= rules
    notebook = [
        r for r in results if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(".ipynb")
    ]
    regions = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in notebook)
    assert regions == [57, 68, 87, 97]
