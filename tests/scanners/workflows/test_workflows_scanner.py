"""The scanner as a whole: registration, rule help, options schema, file selection, and the CLI end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import aisec_ci.scanners.registry as registry
from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.workflows import SCANNER
from aisec_ci.scanners.workflows.scanner import is_action_path, is_workflow_path
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.workflows.workflows_testlib import FIXTURES, source_file

REPO_FIXTURE = FIXTURES / "repo"


def test_registered_with_its_rules() -> None:
    assert registry.all_scanners()["workflows"] is SCANNER
    ids = [r.id for r in SCANNER.rules]
    assert len(ids) == len(set(ids)) == 21
    assert all(rule_id.startswith("workflows/") for rule_id in ids)
    for rule_id in ids:
        assert registry.catalog().get(rule_id) is not None


def test_every_rule_explains_itself() -> None:
    for rule in SCANNER.rules:
        help_md = rule.help_markdown()
        for part in ("## What it does", "## Why is this bad?", "## Example", "## Fix"):
            assert part in help_md, (rule.id, part)
        assert any(tag.startswith("CWE-") for tag in rule.tags), rule.id


def test_options_schema_accepts_documented_options_and_rejects_others() -> None:
    validator = Draft202012Validator(dict(SCANNER.options_schema))
    Draft202012Validator.check_schema(dict(SCANNER.options_schema))
    good = {"allowed_unpinned_owners": ["ml-org", "ml-org/deploy-*", "actions"], "self_hosted_labels": ["gpu"]}
    assert list(validator.iter_errors(good)) == []
    for bad in (
        {"allowed_unpinned_owner": ["x"]},
        {"allowed_unpinned_owners": "ml-org"},
        {"allowed_unpinned_owners": ["bad owner"]},
        {"self_hosted_labels": [""]},
    ):
        assert list(validator.iter_errors(bad)), bad


@pytest.mark.parametrize(
    ("path", "kind", "wanted"),
    [
        (".github/workflows/ci.yml", FileKind.YAML, True),
        ("sub/project/.github/workflows/ci.yaml", FileKind.YAML, True),
        (".github/workflows/nested/ci.yml", FileKind.YAML, False),
        (".github/actions/setup/action.yml", FileKind.YAML, True),
        ("deploy/values.yaml", FileKind.YAML, False),
        ("anything.yml", FileKind.WORKFLOW, True),
        ("anything.yml", FileKind.ACTION, True),
        ("k8s/pod.yaml", FileKind.KUBERNETES, False),
    ],
)
def test_wants(path: str, kind: FileKind, wanted: bool) -> None:
    scanner = SCANNER(ScanContext(root=Path(".")))
    assert scanner.wants(SourceFile(path=path, abspath=Path(path), kind=kind, size=1)) is wanted
    assert is_workflow_path(".github/workflows/x.yml") and is_action_path("a/action.yaml")


def test_findings_are_deterministic_and_keyed() -> None:
    path = FIXTURES / "cases" / "template-injection-bad.yml"
    scanner = SCANNER(ScanContext(root=path.parent))
    first = list(scanner.scan_file(source_file(path)))
    second = list(scanner.scan_file(source_file(path)))
    assert first == second
    assert all(f.key and f.snippet and f.path == path.name for f in first)


def _run_cli(repo: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "aisec_ci",
            "scan",
            str(repo),
            "--scanners",
            "workflows",
            "--format",
            "json",
            "--output",
            str(out),
            "--fail-on",
            "none",
            "--profile",
            "audit",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_end_to_end_on_a_fixture_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPO_FIXTURE, repo)
    shutil.copy(FIXTURES / "bad-input" / "tabs.yml", repo / ".github" / "workflows" / "broken.yml")
    out = tmp_path / "report.json"
    proc = _run_cli(repo, out)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    found = [(f["path"], f["rule_id"], f["start_line"], f["severity"]) for f in report["findings"]]
    assert found == [
        (".github/actions/fetch-model/action.yml", "workflows/curl-pipe-shell", 11, "medium"),
        (".github/workflows/label.yml", "workflows/dangerous-trigger", 4, "low"),
        (".github/workflows/train.yml", "workflows/missing-permissions", 1, "medium"),
        (".github/workflows/train.yml", "workflows/self-hosted-runner", 10, "high"),
        (".github/workflows/train.yml", "workflows/persist-credentials", 12, "low"),
        (".github/workflows/train.yml", "workflows/unpinned-action", 12, "low"),
        (".github/workflows/train.yml", "workflows/template-injection", 17, "high"),
        # Strict-profile hygiene that shipped switched off before profiles (this run is the audit profile).
        (".github/workflows/train.yml", "workflows/secrets-outside-env", 34, "low"),
    ]
    # `ml-org/hf-upload-action@v1` is allowed by .aisec.yml; the cache finding carries an inline ignore.
    assert [(s["rule_id"], s["suppression"]["kind"]) for s in report["suppressed"]] == [
        ("workflows/cache-poisoning", "inline")
    ]
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert "invalid YAML at line 5" in skipped[".github/workflows/broken.yml"]
    assert all(f["fingerprint"] for f in report["findings"])


def test_cli_rejects_unknown_workflows_option(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPO_FIXTURE, repo)
    (repo / ".aisec.yml").write_text("workflows:\n  allowed_owners: [ml-org]\n")
    proc = _run_cli(repo, tmp_path / "report.json")
    assert proc.returncode == 2
    assert "workflows" in proc.stderr and "allowed_owners" in proc.stderr
