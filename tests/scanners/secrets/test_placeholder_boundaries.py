"""Where "placeholder" ends: short real passwords and values that merely contain
"example" are secrets; template references and masks are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec_ci.scanners.secrets.false_positives import is_placeholder
from tests.conftest import run_cli

# Values chosen for the boundaries of is_placeholder: 6 to 9 characters (the minimum
# length is 6), and "example" beside a random-looking remainder.
REAL = ["Tr0ub4x!", "Zq7#mW", "k9Lm2pQ8z", "s3cr3t-example-9f2", "EXAMPLE_k8Jq2Lw9"]
PLACEHOLDERS = [
    "<your-key>",
    "changeme",
    "xxxxxxxx",
    "${VAR}",
    "example",
    "example-api-key",
    "example_123456",
    "ex",
    "12345",
]


@pytest.mark.parametrize("value", REAL)
def test_real_values_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_placeholders_stay_placeholders(value: str) -> None:
    assert is_placeholder(value)


def _scan(tmp_path: Path, files: dict[str, str]) -> list[dict[str, object]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, text in files.items():
        (repo / name).write_text(text, encoding="utf-8")
    out = tmp_path / "report.json"
    proc = run_cli(
        "scan", repo, "--scanners", "secrets", "--no-git", "--format", "json", "--output", out, "--jobs", "1"
    )
    assert proc.returncode in (0, 1), proc.stderr
    findings: list[dict[str, object]] = json.loads(out.read_text())["findings"]
    # Never a raw value in any output.
    for value in REAL:
        assert value not in proc.stdout + proc.stderr + out.read_text()
    return findings


def test_short_password_and_example_word_are_reported_end_to_end(tmp_path: Path) -> None:
    config = (
        'password = "Tr0ub4x!"\n'
        'api_secret = "s3cr3t-example-9f2"\n'
        'token = "changeme"\n'
        'api_key = "<your-key>"\n'
        'db_password = "${VAR}"\n'
        'secret = "xxxxxxxx"\n'
        'auth_token = "example-api-key"\n'
    )
    findings = _scan(tmp_path, {"settings.py": config, "app.ini": config.replace(" = ", "=")})
    got = sorted((str(f["path"]), f["start_line"], f["rule_id"]) for f in findings)
    assert got == [
        ("app.ini", 1, "secrets/generic-secret"),
        ("app.ini", 2, "secrets/generic-secret"),
        ("settings.py", 1, "secrets/generic-secret"),
        ("settings.py", 2, "secrets/generic-secret"),
    ]
