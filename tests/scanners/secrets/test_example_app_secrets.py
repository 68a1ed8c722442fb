"""The secrets planted in examples/vulnerable-ai-app: each is found with the rule it
should get, and no raw value (nor its base64 form, nor a PEM body line) reaches
any report format, stdout or stderr."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "vulnerable-ai-app"

EXPECTED = {
    ("secrets/github-token", ".env", "critical"),
    ("secrets/credential-url", ".env", "high"),
    ("secrets/kaggle-api-key", "kaggle.json", "high"),
    ("secrets/openai-api-key", "k8s/model-registry-secret.yaml", "critical"),
    ("secrets/huggingface-token", "k8s/model-registry-secret.yaml", "high"),
    ("secrets/private-key", "deploy/ssh/id_ed25519", "critical"),
}


def _planted(root: Path) -> list[str]:
    """The raw values of the new example files, read the way an attacker would."""
    env = dict(
        line.split("=", 1) for line in (root / ".env").read_text().splitlines() if "=" in line and line[0] != "#"
    )
    password = re.search(r"://[^:]+:([^@]+)@", env["MLFLOW_BACKEND_STORE_URI"])
    assert password
    values = [env["GITHUB_TOKEN"], password.group(1), json.loads((root / "kaggle.json").read_text())["key"]]
    secret_yaml = (root / "k8s" / "model-registry-secret.yaml").read_text()
    for name in ("OPENAI_API_KEY", "HF_TOKEN"):
        found = re.search(rf"^  {name}: (\S+)$", secret_yaml, re.M)
        assert found
        values += [found.group(1), base64.b64decode(found.group(1)).decode()]
    pem_body = (root / "deploy" / "ssh" / "id_ed25519").read_text().splitlines()[1:-1]
    values += pem_body
    return values


@pytest.fixture(scope="module")
def example_reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("example-secrets")
    repo = tmp / "app"
    shutil.copytree(EXAMPLE, repo)
    out = tmp / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "aisec_ci", "--debug", "scan", str(repo), "--scanners", "secrets", "--no-git"]
    for fmt, ext in (("json", "json"), ("sarif", "sarif"), ("markdown", "md"), ("text", "txt")):
        cmd += ["--format", fmt, "--output", str(out / f"report.{ext}")]
    cmd += ["--fail-on", "high", "--jobs", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return repo, out, proc


def test_example_secrets_are_found(example_reports: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    _repo, out, proc = example_reports
    assert proc.returncode == 1, proc.stderr[-2000:]  # critical keys fail the gate
    findings = json.loads((out / "report.json").read_text())["findings"]
    got = {(f["rule_id"], f["path"], f["severity"]) for f in findings}
    assert got >= EXPECTED
    # The base64 text of the Secret is reported once, decoded, not again as a keyword or entropy hit.
    in_secret = [f for f in findings if f["path"] == "k8s/model-registry-secret.yaml"]
    assert sorted((f["start_line"], f["properties"].get("encoding")) for f in in_secret) == [
        (9, "base64"),
        (10, "base64"),
    ]
    # The SSH key is one finding spanning the PEM block, not one per body line.
    [key] = [f for f in findings if f["path"] == "deploy/ssh/id_ed25519"]
    assert key["start_line"] == 1 and key["end_line"] > 3


def test_no_raw_value_anywhere(example_reports: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    repo, out, proc = example_reports
    probes = [p for p in _planted(repo) if len(p) >= 8]
    assert len(probes) >= 10
    texts = {p.name: p.read_text() for p in out.iterdir()}
    assert len(texts) == 4 and all(texts.values())  # every format was written
    texts["stdout"] = proc.stdout
    texts["stderr"] = proc.stderr
    for name, text in texts.items():
        # The whole value, and the value past its 4-character head: neither may appear.
        leaked = [p[:4] for p in probes if p in text or p[5:] in text]
        assert not leaked, (name, leaked)
