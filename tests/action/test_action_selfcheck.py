"""The action's own Dockerfile, workflows and metadata pass aisec-ci's rules
(or carry an inline ignore with its reason), and action.yml declares the
inputs and outputs the entrypoint reads and writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from aisec_ci.action.env import input_name
from tests.action.conftest import REPO

INPUTS = {
    "path", "scanners", "fail-on", "config", "baseline", "new-only", "github-token",
    "upload-sarif", "sarif-file", "comment", "review-comments", "review-comments-limit", "category", "offline-db",
    "safety-api-key", "profile", "min-severity", "exclude", "history", "sbom", "json-file", "markdown-file", "cache",
    "image", "dockerfile",
}  # fmt: skip
OUTPUTS = {"findings", "new-findings", "critical", "high", "medium", "low", "sarif-file", "gate"}


def test_own_files_pass_own_rules(tmp_path: Path) -> None:
    out = tmp_path / "selfcheck.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "aisec_ci", "scan", str(REPO),
            "--include", "/Dockerfile", "--include", "/.dockerignore", "--include", "/action.yml",
            "--include", "/.github/workflows/*.yml",
            "--scanners", "docker,workflows", "--fail-on", "info", "--format", "json", "--output", str(out),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    report = json.loads(out.read_text(encoding="utf-8"))
    assert proc.returncode == 0, [(f["rule_id"], f["path"], f["message"]) for f in report["findings"]]
    scanned = report["summary"]["files_scanned"]
    assert scanned >= 4  # Dockerfile, action.yml, ci.yml, release.yml
    for s in report["suppressed"]:
        assert s["suppression"]["kind"] == "inline" and len(s["suppression"]["reason"]) > 10


def test_action_metadata_matches_the_entrypoint() -> None:
    meta = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert meta["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert set(meta["inputs"]) == INPUTS and set(meta["outputs"]) == OUTPUTS
    assert meta["inputs"]["new-only"]["default"] == "auto"
    assert meta["inputs"]["github-token"]["default"] == "${{ github.token }}"
    source = "".join(p.read_text(encoding="utf-8") for p in (REPO / "aisec_ci" / "action").glob("*.py"))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in INPUTS:
        assert f'"{name}"' in source, f"input {name} ({input_name(name)}) is never read"
        assert f"| `{name}` |" in readme, f"input {name} is missing from the README's inputs table"
    for name in OUTPUTS:
        assert f"`{name}`" in readme.split("### Outputs", 1)[1], f"output {name} is missing from the README"


def test_readme_inputs_table_matches_action_yml() -> None:
    meta = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Inputs", 1)[1].split("### Outputs", 1)[0]
    rows = {line.split("|")[1].strip().strip("`") for line in table.splitlines() if line.startswith("| `")}
    assert rows == set(meta["inputs"])
    outputs = readme.split("### Outputs", 1)[1].split("\n### ", 1)[0]
    out_rows = {
        name.strip().strip("`")
        for line in outputs.splitlines()
        if line.startswith("| `")
        for name in line.split("|")[1].split(",")
    }
    assert out_rows == set(meta["outputs"])


def test_readme_inputs_table_lists_every_input() -> None:
    """The README's table of inputs and action.yml name the same inputs, with the same defaults."""
    meta = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Inputs", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1].strip("`")
    assert set(rows) == set(meta["inputs"])
    for name, spec in meta["inputs"].items():
        default = str(spec.get("default", ""))
        if default and name not in ("config",):
            assert rows[name] == default, name
