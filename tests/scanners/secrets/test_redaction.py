"""No raw secret value in any Finding field, any report format, or the logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aisec_ci.scanners.secrets.redaction import redact, redact_line
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.secrets.conftest import FIXTURES
from tests.scanners.secrets.secret_tokens import render, scan_path

TEMPLATES = {
    "app.py.tmpl": ("src/app.py", FileKind.PYTHON),
    "notebook.ipynb.tmpl": ("notebooks/train.ipynb", FileKind.NOTEBOOK),
    "settings.env.tmpl": (".env", FileKind.TEXT),
    "config.yaml.tmpl": ("config/providers.yaml", FileKind.YAML),
    "config.json.tmpl": ("config/providers.json", FileKind.JSON),
    "pyproject.toml.tmpl": ("pyproject.toml", FileKind.PYPROJECT),
    "setup.cfg.tmpl": ("setup.cfg", FileKind.SETUP_CFG),
    "Dockerfile.tmpl": ("Dockerfile", FileKind.DOCKERFILE),
    "deploy.sh.tmpl": ("scripts/deploy.sh", FileKind.TEXT),
    "id_rsa.tmpl": ("deploy/id_rsa", FileKind.TEXT),
    "service-account.json.tmpl": ("deploy/service-account.json", FileKind.JSON),
    "k8s-secret.yaml.tmpl": ("k8s/secret.yaml", FileKind.KUBERNETES),
    "docker-config.json.tmpl": ("deploy/docker-config.json", FileKind.JSON),
}
# Long enough that any leak of the value (not its 4-character head) is detectable.
_NOT_SECRETS = {"IMAGE_B64", "SLACK_HOOK", "PEM_BODY_ESCAPED"}


def _leak_probes(tokens: dict[str, str]) -> list[str]:
    """Every secret, and for each its tail: a redaction must not even show a slice past the head."""
    probes = []
    for name, value in tokens.items():
        if name in _NOT_SECRETS:
            continue
        if name == "PEM":
            value = value.splitlines()[1]
        probes.append(value)
        probes.append(value[5:])
    return [p for p in probes if len(p) >= 8]


def _build_repo(root: Path, tokens: dict[str, str]) -> None:
    for template, (rel, _kind) in TEMPLATES.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        render(FIXTURES / "positive" / template, dest, tokens)


def test_no_raw_value_in_any_finding_field(tmp_path: Path, tokens: dict[str, str]) -> None:
    _build_repo(tmp_path, tokens)
    findings = []
    for _template, (rel, kind) in TEMPLATES.items():
        findings.extend(scan_path(tmp_path / rel, kind, rel=rel))
    assert len(findings) >= 45
    probes = _leak_probes(tokens)
    for f in findings:
        blob = json.dumps({**f.to_dict(), "key": f.key}, ensure_ascii=False)
        leaked = [p[:6] for p in probes if p in blob]
        assert not leaked, (f.rule_id, f.path, leaked)
        assert f.key.startswith("sha1:")


def test_no_raw_value_in_cli_reports_and_logs(tmp_path: Path, tokens: dict[str, str]) -> None:
    repo = tmp_path / "repo"
    _build_repo(repo, tokens)
    out = tmp_path / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "aisec_ci", "--debug", "scan", str(repo), "--scanners", "secrets", "--no-git"]
    for fmt, ext in (("json", "json"), ("sarif", "sarif"), ("markdown", "md"), ("text", "txt")):
        cmd += ["--format", fmt, "--output", str(out / f"report.{ext}")]
    cmd += ["--fail-on", "none", "--jobs", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    rules = {f["rule_id"] for f in report["findings"]}
    assert {"secrets/openai-api-key", "secrets/github-token", "secrets/private-key"} <= rules
    assert {f["scanner"] for f in report["findings"]} == {"secrets"}
    probes = _leak_probes(tokens)
    texts = {p.name: p.read_text() for p in out.iterdir()}
    texts["stdout"] = proc.stdout
    texts["stderr"] = proc.stderr
    for name, text in texts.items():
        leaked = [p[:6] for p in probes if p in text]
        assert not leaked, (name, leaked)


def test_redact_shows_at_most_four_chars_and_length() -> None:
    assert redact("ghp_" + "a" * 36) == "ghp_…[40 chars]"
    assert redact("hunter2") == "h…[7 chars]"
    assert redact("abc") == "…[3 chars]"
    line = 'x = "SECRETVALUE123" + "OTHERSECRET999"'
    out = redact_line(line, [(5, 19), (24, 38)])
    assert "SECRETVALUE123" not in out and "OTHERSECRET999" not in out and "[14 chars]" in out


def test_snippets_show_the_files_own_lines(tmp_path: Path, tokens: dict[str, str]) -> None:
    """A Kubernetes Secret's decoded key is shown on its own `KEY: <masked base64>` line (not a made-up
    `KEY = "..."`), and a private key on its header line (not `...[0 chars]`)."""
    _build_repo(tmp_path, tokens)
    secret = scan_path(tmp_path / "k8s/secret.yaml", FileKind.KUBERNETES, rel="k8s/secret.yaml")
    lines = (tmp_path / "k8s/secret.yaml").read_text().splitlines()
    decoded = [f for f in secret if f.properties.get("encoding")]
    assert decoded
    for f in decoded:
        key = lines[f.start_line - 1].split(":", 1)[0].strip()
        assert f.snippet.startswith(f"{key}: ") and "…[" in f.snippet, f.snippet
        assert " = " not in f.snippet
    pem = [f for f in scan_path(tmp_path / "deploy/id_rsa", FileKind.TEXT, rel="deploy/id_rsa")]
    assert pem and all(f.snippet.startswith("-----BEGIN") and "[0 chars]" not in f.snippet for f in pem)
    assert all(f.start_column == 1 for f in pem)
