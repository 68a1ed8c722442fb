"""Credentials in the scanned text never reach a finding's message, snippet, key or properties."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.scanners.docker.redaction import redact_text, redact_url
from tests.scanners.docker.docker_support import RULES, scan, write


def _assert_absent(secret: str, path: Path) -> None:
    found = scan(path, include_disabled=True)
    assert found
    for f in found:
        for field in (f.message, f.snippet, f.key, str(f.properties)):
            assert secret not in field, (f.rule_id, field)


def test_tokens_in_run_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "FROM ubuntu:22.04\n"
        'RUN curl -fsSL -H "Authorization: Bearer tok_live_abc123" https://ci:tok_live_abc123@get.example.com/i.sh'
        " | sudo bash\n"
        "RUN GITHUB_TOKEN=tok_live_abc123 pip install git+https://github.com/org/private.git\n",
    )
    _assert_absent("tok_live_abc123", path)


def test_uv_extra_index_with_password() -> None:
    _assert_absent("s3cr3t", RULES / "pip.Dockerfile")


def test_redact_text() -> None:
    assert redact_url("https://u:p@h/x") == "https://***@h/x"
    assert redact_text("HF_TOKEN=abc MODEL=gpt2 PASS=$X") == "HF_TOKEN=<redacted> MODEL=gpt2 PASS=$X"
    assert redact_text("curl -H 'Authorization: token abc'") == "curl -H 'Authorization: token <redacted>'"
    assert redact_text("mlflow --password hunter2 --port 5000") == "mlflow --password <redacted> --port 5000"
