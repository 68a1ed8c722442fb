"""End to end through the CLI on a small ML infrastructure repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import run_cli
from tests.scanners.cloud.cloud_support import FIXTURES


def test_cli_scans_policies_terraform_nginx_and_commands(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for sub in ("infra", "nginx", "policies"):
        (repo / sub).mkdir(parents=True)
    shutil.copy(FIXTURES / "iam-unsafe.tf", repo / "infra" / "main.tf")
    shutil.copy(FIXTURES / "iam-safe.tf", repo / "infra" / "safe.tf")
    shutil.copy(FIXTURES / "bucket-policy-public.json", repo / "policies" / "bucket-policy.json")
    shutil.copy(FIXTURES / "policy-invoke-endpoint-safe.json", repo / "policies" / "invoke-policy.json")
    shutil.copy(FIXTURES / "nginx-mlflow-unsafe.conf", repo / "nginx" / "nginx.conf")
    shutil.copy(FIXTURES / "Dockerfile.mlflow", repo / "Dockerfile")
    shutil.copy(FIXTURES / "iam-unsafe.tf.json", repo / "infra" / "generated.tf.json")
    shutil.copy(FIXTURES / "iam-safe.tf.json", repo / "infra" / "generated-safe.tf.json")
    shutil.copy(FIXTURES / "sagemaker-notebook-unsafe.tf", repo / "infra" / "notebook.tf")
    out = tmp_path / "report.json"
    proc = run_cli(
        "scan", repo, "--scanners", "cloud", "--format", "json", "--output", out, "--fail-on", "none", plugin=False
    )
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(out.read_text())["findings"]
    got = {(f["path"], f["rule_id"]) for f in findings}
    assert ("infra/main.tf", "iam/privilege-escalation") in got
    assert ("policies/bucket-policy.json", "iam/public-principal") in got
    assert ("nginx/nginx.conf", "exposure/nginx-proxy-without-auth") in got
    assert ("Dockerfile", "exposure/mlflow-without-auth") in got
    assert ("infra/generated.tf.json", "iam/open-trust-policy") in got
    assert ("infra/notebook.tf", "iam/sagemaker-notebook-overprivileged") in got
    assert not {p for p, _ in got} & {"infra/safe.tf", "policies/invoke-policy.json", "infra/generated-safe.tf.json"}
