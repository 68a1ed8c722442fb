"""Roles, the role policy and profiles, end to end through the CLI on one small repository that
has the same problem in source, tests, docs samples, a release copy and a vendored bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_json, run_cli, write_tree
from tests.scanners.models.model_corpus import p_os_system
from tests.scanners.secrets.secret_tokens import TokenFactory

ROOT_DOCKERFILE = "FROM python:3.11\nRUN pip install flask\n"
PRIVILEGED_POD = """apiVersion: v1
kind: Pod
metadata:
  name: trainer
spec:
  containers:
  - name: trainer
    image: ghcr.io/org/trainer:1.0
    securityContext:
      privileged: true
"""
TOKEN = TokenFactory(seed=12).github()


def _repo(tmp_path: Path, config: str = "") -> Path:
    repo = tmp_path / "repo"
    files: dict[str, str | bytes] = {
        "Dockerfile": ROOT_DOCKERFILE,
        "tests/Dockerfile": ROOT_DOCKERFILE,
        "docs/samples/pod.yaml": PRIVILEGED_POD,
        "install/v0.3.0/pod.yaml": PRIVILEGED_POD,
        "legacy/pod.yaml": PRIVILEGED_POD,
        ".gitattributes": "legacy/** linguist-vendored\n",
        # A live key in a test file is still a leak; a malicious pickle under tests/ still runs.
        "tests/test_client.py": f'TOKEN = "{TOKEN}"\n',
        "tests/data/model.pkl": p_os_system(2),
    }
    if config:
        files[".aisec.yml"] = config
    write_tree(repo, files)
    return repo


def _scan(repo: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "r.json"
    proc = run_cli(
        "scan", repo, "--no-git", "--offline", "--scanners", "docker,kubernetes,secrets,models",
        "--format", "json", "--output", out, "--format", "text", "--no-color", *extra, plugin=False,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, load_json(out), proc.stdout


def _by_path(report: dict[str, Any], rule: str) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in report["findings"] if f["rule_id"] == rule}


def test_roles_lower_findings_outside_source_and_keep_them_out_of_the_gate(tmp_path: Path) -> None:
    code, report, text = _scan(_repo(tmp_path), tmp_path, "--fail-on", "medium")
    assert report["schema_version"] == 2 and report["profile"] == "default"
    root_user = _by_path(report, "docker/root-user")
    assert root_user["Dockerfile"]["role"] == "source" and root_user["Dockerfile"]["severity"] == "medium"
    assert root_user["Dockerfile"]["lowered_from"] is None
    assert root_user["tests/Dockerfile"]["role"] == "test"
    assert (root_user["tests/Dockerfile"]["severity"], root_user["tests/Dockerfile"]["lowered_from"]) == (
        "low",
        "medium",
    )
    privileged = _by_path(report, "k8s/privileged-container")
    assert {p: f["role"] for p, f in privileged.items()} == {
        "docs/samples/pod.yaml": "docs",
        "install/v0.3.0/pod.yaml": "release",
        "legacy/pod.yaml": "vendored",  # from .gitattributes
    }
    assert {(f["severity"], f["lowered_from"]) for f in privileged.values()} == {("low", "high")}
    # The two exceptions keep their severity in a test file, and they fail the gate.
    token = next(f for f in report["findings"] if f["rule_id"] == "secrets/github-token")
    assert (token["role"], token["severity"], token["lowered_from"]) == ("test", "critical", None)
    pickle = next(f for f in report["findings"] if f["rule_id"] == "models/pickle-code-execution")
    assert (pickle["role"], pickle["severity"], pickle["lowered_from"]) == ("test", "critical", None)
    failing = {(f["rule_id"], f["path"]) for f in report["findings"] if f["lowered_from"] is None}
    assert report["gate"]["failing"] == len([f for f in report["findings"] if f["lowered_from"] is None])
    assert ("docker/root-user", "Dockerfile") in failing and code == 1
    # Counts by role, and what was lowered, with how to see it as-is.
    summary = report["summary"]
    by_role = {r: sum(1 for f in report["findings"] if f["role"] == r) for r in ("docs", "vendored", "source")}
    assert {r: summary["by_role"][r] for r in by_role} == by_role and by_role["docs"] >= 1
    assert summary["hidden"]["lowered"]["docs"] >= 1 and summary["hidden"]["lowered"]["test"] >= 1
    assert "lowered to low and kept out of the gate" in text and "roles: <role>: policy: report" in text
    assert "[docs, lowered from high]" in text
    assert TOKEN not in text and TOKEN not in json.dumps(report)


def test_only_lowered_findings_pass_the_gate(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    for rel in ("Dockerfile", "tests/test_client.py", "tests/data/model.pkl"):
        (repo / rel).unlink()
    code, report, _ = _scan(repo, tmp_path, "--fail-on", "low")
    assert report["findings"] and all(f["lowered_from"] for f in report["findings"])
    assert code == 0 and report["gate"] == {"fail_on": "low", "passed": True, "failing": 0}


def test_config_roles_override_globs_and_policies(tmp_path: Path) -> None:
    config = "roles:\n  source:\n    paths: ['install/**']\n  docs:\n    policy: skip\n  test:\n    policy: report\n"
    _, report, text = _scan(_repo(tmp_path, config), tmp_path)
    privileged = _by_path(report, "k8s/privileged-container")
    assert set(privileged) == {"install/v0.3.0/pod.yaml", "legacy/pod.yaml"}
    assert (privileged["install/v0.3.0/pod.yaml"]["role"], privileged["install/v0.3.0/pod.yaml"]["severity"]) == (
        "source",
        "high",
    )
    test_root = _by_path(report, "docker/root-user")["tests/Dockerfile"]
    assert (test_root["severity"], test_root["lowered_from"]) == ("medium", None)
    skipped = report["summary"]["hidden"]["skipped"]
    assert list(skipped) == ["docs"] and skipped["docs"] >= 1
    assert f"left out by the role policy ({skipped['docs']} docs" in text


def test_bad_role_config_names_the_key(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "roles:\n  samples:\n    policy: skip\n  docs:\n    policy: hide\n")
    proc = run_cli("scan", repo, "--no-git", "--offline", plugin=False)
    assert proc.returncode == 2
    assert "roles" in proc.stderr and "samples" in proc.stderr and "hide" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_profiles_nest_and_count_what_they_leave_out(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _, default, text = _scan(repo, tmp_path)
    _, strict, _ = _scan(repo, tmp_path, "--profile", "strict")
    _, audit, _ = _scan(repo, tmp_path, "--profile", "audit")
    ids = {name: {f["fingerprint"] for f in r["findings"]} for name, r in (("d", default), ("s", strict), ("a", audit))}
    assert ids["d"] < ids["s"] <= ids["a"]
    assert "docker/pip-unpinned" in {f["rule_id"] for f in strict["findings"]}
    assert "docker/pip-unpinned" not in {f["rule_id"] for f in default["findings"]}
    hidden = default["summary"]["hidden"]["out_of_profile"]
    assert hidden["strict"] == len(ids["s"] - ids["d"])
    assert f"{hidden['strict']} more findings in the strict profile (see them with --profile strict)" in text
    # Same findings, same identity, whatever the profile.
    assert {f["fingerprint"]: f["rule_id"] for f in default["findings"]}.items() <= {
        f["fingerprint"]: f["rule_id"] for f in audit["findings"]
    }.items()


def test_config_profile_and_explicitly_enabled_rules(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "profile: strict\nrules:\n  docker/missing-healthcheck:\n    enabled: true\n")
    _, report, _ = _scan(repo, tmp_path)
    assert report["profile"] == "strict"
    _, narrowed, _ = _scan(repo, tmp_path, "--profile", "default")
    assert narrowed["profile"] == "default"
    # A rule the config enables reports in every profile.
    assert "docker/missing-healthcheck" in {f["rule_id"] for f in narrowed["findings"]}
    assert "docker/pip-unpinned" not in {f["rule_id"] for f in narrowed["findings"]}


def test_min_severity_narrows_the_display_not_the_gate(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    code_all, full, _ = _scan(repo, tmp_path)
    code, report, text = _scan(repo, tmp_path, "--min-severity", "high")
    assert code == code_all and report["findings"] == full["findings"]  # JSON and gate unchanged
    assert "Dockerfile:1:1  docker/root-user" not in text  # medium: not listed
    assert "secrets/github-token" in text
    below = sum(1 for f in report["findings"] if f["severity"] in ("medium", "low", "info"))
    assert f"{below} findings below high not listed (--min-severity)" in text


def test_sarif_carries_role_profile_and_confidence(tmp_path: Path, sarif_validate: Any) -> None:
    out = tmp_path / "r.sarif"
    proc = run_cli(
        "scan", _repo(tmp_path), "--no-git", "--offline", "--scanners", "docker,kubernetes",
        "--format", "sarif", "--output", out, plugin=False,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    log = load_json(out)
    sarif_validate(log)
    run = log["runs"][0]
    rules = {r["id"]: r["properties"] for r in run["tool"]["driver"]["rules"]}
    assert rules["docker/pip-unpinned"]["profile"] == "strict"
    assert rules["docker/root-user"]["confidence"] == "high"
    lowered = [
        r for r in run["results"] if r["properties"].get("role") == "docs" and r["ruleId"] == "k8s/privileged-container"
    ]
    assert lowered and all(r["level"] == "note" and r["properties"]["loweredFrom"] == "high" for r in lowered)
    assert run["properties"]["profile"] == "default"
    assert run["properties"]["byRole"]["docs"] >= 1 and run["properties"]["byRole"]["source"] >= 1
    assert run["properties"]["hidden"]["out_of_profile"]["strict"] >= 1


@pytest.mark.parametrize("count", [4, 9])
def test_text_report_groups_a_noisy_rule(tmp_path: Path, count: int) -> None:
    repo = tmp_path / "repo"
    write_tree(repo, {f"svc{i}/Dockerfile": ROOT_DOCKERFILE for i in range(count)})
    proc = run_cli("scan", repo, "--no-git", "--scanners", "docker", "--no-color", plugin=False)
    listed = proc.stdout.count("docker/root-user  The final stage")
    if count <= 5:
        assert listed == count and "more docker/root-user" not in proc.stdout
    else:
        assert listed == 5
        assert f"… {count - 5} more docker/root-user in {count - 5} files" in proc.stdout
    assert f"{count} findings ({count} medium)" in proc.stdout


def test_a_baseline_accepts_findings_of_every_profile(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    baseline = tmp_path / "baseline.json"
    proc = run_cli("baseline", "create", repo, "--no-git", "--offline", "--output", baseline, plugin=False)
    assert proc.returncode == 0, proc.stderr
    for profile in ("default", "strict", "audit"):
        _, report, _ = _scan(repo, tmp_path, "--profile", profile, "--baseline", str(baseline))
        assert report["findings"] == [], profile
        assert report["summary"]["suppressed"]["baseline"] >= 1
