"""End to end: the CLI finds Dockerfile variants and Compose files in a repository and reports
our findings with their lines, skipping broken files with a reason."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.scanners.docker.docker_support import COMPOSE, FIXTURES, REPO, RULES


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "kitchen-sink", repo / "services" / "llm")
    shutil.copytree(FIXTURES / "hardened", repo / "services" / "api")
    (repo / "services" / "api" / "Dockerfile").rename(repo / "services" / "api" / "Dockerfile.gpu")
    (repo / "services" / "api" / ".dockerignore").rename(repo / "services" / "api" / "Dockerfile.gpu.dockerignore")
    shutil.copy(RULES / "curl-pipe.Dockerfile", repo / "tools.Dockerfile")
    shutil.copy(RULES / "comments-only.Dockerfile", repo / "Dockerfile_cuda")
    shutil.copy(COMPOSE / "docker-compose.yml", repo / "docker-compose.yml")
    shutil.copy(COMPOSE / "docker-compose.invalid.yml", repo / "compose.override.yaml")
    return repo


def test_cli_scan(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    out = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "aisec_ci", "scan", str(repo), "--scanners", "docker", "--no-git", "--quiet"]
    cmd += ["--format", "json", "--output", str(out), "--fail-on", "none"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    found = {(f["path"], f["rule_id"], f["start_line"]) for f in report["findings"]}
    assert ("services/llm/Dockerfile", "docker/curl-pipe-shell", 14) in found
    assert ("services/llm/Dockerfile", "docker/broad-copy-context", 27) in found
    assert ("tools.Dockerfile", "docker/curl-pipe-shell", 9) in found
    assert ("docker-compose.yml", "compose/docker-socket-mount", 29) in found
    assert ("docker-compose.yml", "compose/ml-service-exposed", 16) in found
    # The hardened image (with its Dockerfile-specific ignore file) gives nothing.
    assert not [f for f in found if f[0].startswith("services/api/")]
    # Hygiene rules of the strict profile stay out of the default report, and are counted.
    assert not [f for f in found if f[1] == "docker/missing-healthcheck"]
    assert report["summary"]["hidden"]["out_of_profile"]["strict"] >= 2
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert "only comments" in skipped["Dockerfile_cuda"]
    assert "invalid YAML at line 6" in skipped["compose.override.yaml"]
    # Ignore files are read with their Dockerfile, not reported as unhandled.
    assert "services/api/Dockerfile.gpu.dockerignore" not in skipped
    secrets = ("not-a-real-key-0000", "mlflow123", "hf_placeholder_not_real")
    assert not any(s in out.read_text() for s in secrets)


def test_cli_follows_extends_and_checks_start_commands(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(COMPOSE / "extends", repo / "deploy")
    shutil.copy(RULES / "start-commands.Dockerfile", repo / "Dockerfile.serve")
    shutil.copy(RULES / "packages.Dockerfile", repo / "tools.Dockerfile")
    out = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "aisec_ci", "scan", str(repo), "--scanners", "docker", "--no-git", "--quiet"]
    cmd += ["--profile", "audit", "--format", "json", "--output", str(out), "--fail-on", "none"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    found = {(f["path"], f["rule_id"], f["start_line"]) for f in report["findings"]}
    assert ("deploy/docker-compose.yml", "compose/docker-socket-mount", 3) in found
    assert ("Dockerfile.serve", "docker/curl-pipe-shell", 8) in found
    assert ("Dockerfile.serve", "docker/tls-verification-disabled", 7) in found
    assert ("tools.Dockerfile", "docker/package-unpinned", 13) in found
    # The base file is read through the service that extends it, never reported under its own name.
    assert not [f for f in found if f[0] == "deploy/common-services.yml"]
    # Inherited findings keep distinct fingerprints per base problem.
    inherited = [f for f in report["findings"] if f["path"] == "deploy/docker-compose.yml"]
    assert len({f["fingerprint"] for f in inherited}) == len(inherited) == 4
