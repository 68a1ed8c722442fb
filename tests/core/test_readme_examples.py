"""Every YAML example in the README works as written.

Config blocks load through the config loader (schema, rule ids, scanner options). Workflow
blocks (whole workflows, or step lists a reader pastes into one) validate against GitHub's
workflow schema as SchemaStore publishes it (vendored by check-jsonschema) and pass our own
workflows scanner with nothing at medium or above. The documented placeholders `<commit-sha>`
and `<digest>` stand for real pins and are replaced by well-formed ones first."""

from __future__ import annotations

import importlib.resources
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from aisec_ci.config.loader import load_config
from tests.conftest import REPO, load_json, run_cli

_BLOCK = re.compile(r"^```ya?ml\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SHA = "0123456789abcdef0123456789abcdef01234567"
_DIGEST = "0" * 64


@dataclass(frozen=True)
class Block:
    line: int
    text: str

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def _blocks() -> list[Block]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return [Block(readme.count("\n", 0, m.start()) + 2, m.group(1)) for m in _BLOCK.finditer(readme)]


def _real(text: str) -> str:
    return text.replace("<commit-sha>", _SHA).replace("<digest>", _DIGEST)


def _kind(block: Block) -> str:
    data = yaml.safe_load(_real(block.text))
    if isinstance(data, list):
        return "steps"
    assert isinstance(data, dict), block.id
    if "jobs" in data:
        return "workflow"
    if "repos" in data:
        return "pre-commit"
    return "config"


BLOCKS = _blocks()


def _by_kind(kind: str) -> list[Block]:
    return [b for b in BLOCKS if _kind(b) == kind]


def test_the_readme_has_the_examples_these_tests_check() -> None:
    kinds = {_kind(b) for b in BLOCKS}
    assert {"config", "workflow", "steps", "pre-commit"} <= kinds
    assert len(_by_kind("workflow")) >= 5


@pytest.mark.parametrize("block", _by_kind("config"), ids=lambda b: b.id)
def test_config_examples_load(block: Block, tmp_path: Path) -> None:
    path = tmp_path / ".aisec.yml"
    path.write_text(block.text, encoding="utf-8")
    load_config(path, root=tmp_path)  # raises ConfigError with the key path on any mistake


def _workflow_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("github-workflows.json").read_text(encoding="utf-8"))
    return schema


def _as_workflow(block: Block) -> str:
    if _kind(block) == "workflow":
        return _real(block.text)
    # A list of steps to paste into a job: the smallest workflow that holds it.
    steps = "\n".join(line[6:] if line.startswith("      ") else line for line in _real(block.text).splitlines())
    indented = "\n".join("      " + line if line else line for line in steps.splitlines())
    return (
        "name: example\non: push\npermissions: {contents: read}\njobs:\n  scan:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n" + indented + "\n"
    )


WORKFLOW_BLOCKS = _by_kind("workflow") + _by_kind("steps")


@pytest.mark.parametrize("block", WORKFLOW_BLOCKS, ids=lambda b: b.id)
def test_workflow_examples_follow_githubs_workflow_schema(block: Block) -> None:
    workflow = yaml.safe_load(_as_workflow(block))
    if True in workflow:  # YAML 1.1 reads the key `on` as the boolean true
        workflow["on"] = workflow.pop(True)
    errors = sorted(jsonschema.Draft7Validator(_workflow_schema()).iter_errors(workflow), key=str)
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


@pytest.mark.parametrize("block", WORKFLOW_BLOCKS, ids=lambda b: b.id)
def test_workflow_examples_pass_our_own_workflows_scanner(block: Block, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "example.yml").write_text(_as_workflow(block), encoding="utf-8")
    out = tmp_path / "report.json"
    proc = run_cli(
        "scan", repo, "--scanners", "workflows", "--format", "json", "--output", out, "--fail-on", "none",
        "--no-git", plugin=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    findings = [
        f"{f['rule_id']} ({f['severity']}): {f['message']}"
        for f in load_json(out)["findings"]
        if f["severity"] in ("medium", "high", "critical")
    ]
    assert findings == []


def test_the_fork_publishing_example_never_reads_pull_requests_of_workflow_run() -> None:
    # GitHub leaves workflow_run.pull_requests empty for fork pull requests.
    publish = [b for b in _by_kind("workflow") if "workflow_run" in b.text]
    assert publish and all("pull_requests[" not in b.text for b in publish)
    scan = [b for b in _by_kind("workflow") if "upload-artifact" in b.text and "pull_request" in b.text]
    names = {yaml.safe_load(_real(b.text)).get("name") for b in scan}
    waited = {w for b in publish for w in yaml.safe_load(_real(b.text))[True]["workflow_run"]["workflows"]}
    assert waited <= names, "workflow_run names a workflow that has no such `name:`"
