"""Every provider detector on synthetic tokens in its real format, in each file kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.scanners.secrets.content import ContentScanner
from aisec_ci.severity import Severity
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.secrets.conftest import FIXTURES
from tests.scanners.secrets.secret_tokens import TokenFactory, render, scan_path

# marker -> (rule id, severity outside test paths)
EXPECTED_PY = {
    "OPENAI": ("secrets/openai-api-key", Severity.CRITICAL),
    "ANTHROPIC": ("secrets/anthropic-api-key", Severity.CRITICAL),
    "HUGGINGFACE": ("secrets/huggingface-token", Severity.HIGH),
    "COHERE": ("secrets/cohere-api-key", Severity.HIGH),
    "REPLICATE": ("secrets/replicate-api-token", Severity.HIGH),
    "GROQ": ("secrets/groq-api-key", Severity.HIGH),
    "PERPLEXITY": ("secrets/perplexity-api-key", Severity.HIGH),
    "MISTRAL": ("secrets/mistral-api-key", Severity.HIGH),
    "GOOGLE": ("secrets/google-api-key", Severity.HIGH),
    "AZURE_OPENAI": ("secrets/azure-openai-key", Severity.HIGH),
    "LANGSMITH": ("secrets/langsmith-api-key", Severity.HIGH),
    "PINECONE": ("secrets/pinecone-api-key", Severity.HIGH),
    "WANDB": ("secrets/wandb-api-key", Severity.HIGH),
    "DATABRICKS": ("secrets/databricks-token", Severity.HIGH),
    "KAGGLE": ("secrets/kaggle-api-key", Severity.HIGH),
    "GITHUB": ("secrets/github-token", Severity.CRITICAL),
    "GITLAB": ("secrets/gitlab-token", Severity.HIGH),
    "NPM": ("secrets/npm-token", Severity.CRITICAL),
    "PYPI": ("secrets/pypi-token", Severity.CRITICAL),
    "AWS_KEY_ID": ("secrets/aws-access-key-id", Severity.HIGH),
    "AWS_SECRET": ("secrets/aws-secret-access-key", Severity.CRITICAL),
    "AZURE_STORAGE": ("secrets/azure-storage-key", Severity.CRITICAL),
    "SLACK": ("secrets/slack-token", Severity.HIGH),
    "STRIPE": ("secrets/stripe-key", Severity.HIGH),
    "JWT": ("secrets/jwt", Severity.HIGH),
    "DB_PASSWORD": ("secrets/credential-url", Severity.HIGH),
    "GENERIC_PASSWORD": ("secrets/generic-secret", Severity.MEDIUM),
}


def _marker_lines(template: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for number, line in enumerate(template.read_text().splitlines(), start=1):
        for part in line.split("@@")[1::2]:
            out.setdefault(part, number)
    return out


def test_every_provider_in_python(tmp_path: Path, tokens: dict[str, str]) -> None:
    tmpl = FIXTURES / "positive" / "app.py.tmpl"
    path = render(tmpl, tmp_path / "app.py", tokens)
    findings = scan_path(path, FileKind.PYTHON)
    by_line = {(f.start_line, f.rule_id): f for f in findings}
    lines = _marker_lines(tmpl)
    for marker, (rule_id, severity) in EXPECTED_PY.items():
        f = by_line.get((lines[marker], rule_id))
        assert f is not None, (
            f"{marker}: no {rule_id} on line {lines[marker]}: {[(x.start_line, x.rule_id) for x in findings]}"
        )
        assert f.severity == severity, (marker, f.severity)
    # Nothing else: each secret is one finding, no generic duplicates.
    assert len(findings) == len(EXPECTED_PY), sorted((f.start_line, f.rule_id) for f in findings)


@pytest.mark.parametrize(
    ("template", "kind", "expected"),
    [
        ("settings.env.tmpl", FileKind.TEXT, {"openai-api-key", "huggingface-token", "cohere-api-key", "github-token"}),
        ("config.yaml.tmpl", FileKind.YAML, {"anthropic-api-key", "groq-api-key", "databricks-token"}),
        ("config.json.tmpl", FileKind.JSON, {"openai-api-key", "pinecone-api-key", "slack-token"}),
        ("pyproject.toml.tmpl", FileKind.PYPROJECT, {"huggingface-token", "replicate-api-token"}),
        ("setup.cfg.tmpl", FileKind.SETUP_CFG, {"pypi-token"}),
        ("Dockerfile.tmpl", FileKind.DOCKERFILE, {"openai-api-key", "npm-token"}),
        ("deploy.sh.tmpl", FileKind.TEXT, {"groq-api-key", "jwt"}),
        ("id_rsa.tmpl", FileKind.TEXT, {"private-key"}),
        ("service-account.json.tmpl", FileKind.JSON, {"gcp-service-account-key"}),
    ],
)
def test_file_kinds(tmp_path: Path, tokens: dict[str, str], template: str, kind: FileKind, expected: set[str]) -> None:
    path = render(FIXTURES / "positive" / template, tmp_path / template.removesuffix(".tmpl"), tokens)
    found = {f.rule_id.split("/", 1)[1] for f in scan_path(path, kind)}
    assert found == expected


def test_private_key_spans_block(tmp_path: Path, tokens: dict[str, str]) -> None:
    path = render(FIXTURES / "positive" / "id_rsa.tmpl", tmp_path / "id_rsa", tokens)
    [f] = scan_path(path, FileKind.TEXT)
    assert f.severity is Severity.CRITICAL
    assert f.start_line == 1 and f.end_line == tokens["PEM"].count("\n") + 1
    assert f.snippet.startswith("-----BEGIN RSA PRIVATE KEY-----")


def _scan_text(tmp_path: Path, text: str, name: str = "mod.py", kind: FileKind = FileKind.PYTHON) -> list:  # type: ignore[type-arg]
    p = tmp_path / name
    p.write_text(text)
    return scan_path(p, kind)


def test_bad_github_checksum_is_not_a_github_token(tmp_path: Path) -> None:
    t = TokenFactory(3)
    good, bad = t.github(), t.github_bad_checksum()
    findings = _scan_text(tmp_path, f'ok = "{good}"\nfixture = "{bad}"\n')
    assert [(f.start_line, f.rule_id) for f in findings if f.rule_id == "secrets/github-token"] == [
        (1, "secrets/github-token")
    ]
    assert findings[0].properties["validation"] == "checksum"


def test_bad_npm_checksum_and_bad_pypi_macaroon_rejected(tmp_path: Path) -> None:
    t = TokenFactory(4)
    npm = t.npm()
    npm_bad = npm[:-2] + ("zz" if not npm.endswith("zz") else "yy")
    pypi = t.pypi()
    pypi_bad = "pypi-AgEIcHlwaS5vcmc" + "A" * 80  # decodes, but not to a complete macaroon
    findings = _scan_text(tmp_path, f"a = '{npm}'\nb = '{npm_bad}'\nc = '{pypi}'\nd = '{pypi_bad}'\n", name="t.txt")
    rules = {(f.start_line, f.rule_id) for f in findings}
    assert (1, "secrets/npm-token") in rules and (3, "secrets/pypi-token") in rules
    assert not any(line in (2, 4) and rule in ("secrets/npm-token", "secrets/pypi-token") for line, rule in rules)


def test_openai_without_marker_is_shaped_not_validated(tmp_path: Path) -> None:
    t = TokenFactory(5)
    key = "sk-proj-" + t.alnum(120)
    [f] = _scan_text(tmp_path, f'KEY = "{key}"\n')
    assert f.rule_id == "secrets/openai-api-key" and f.severity is Severity.HIGH


def test_test_paths_lower_severity_not_hide(tmp_path: Path, tokens: dict[str, str]) -> None:
    (tmp_path / "tests").mkdir()
    p = tmp_path / "tests" / "test_client.py"
    p.write_text(f'GROQ = "{tokens["GROQ"]}"\n')
    [f] = scan_path(p, FileKind.PYTHON, rel="tests/test_client.py")
    assert f.rule_id == "secrets/groq-api-key" and f.severity is Severity.MEDIUM  # one step below high


def test_a_checksum_proven_key_keeps_its_severity_in_tests(tmp_path: Path, tokens: dict[str, str]) -> None:
    (tmp_path / "tests").mkdir()
    p = tmp_path / "tests" / "test_client.py"
    p.write_text(f'GH = "{tokens["GITHUB"]}"\n')
    [f] = scan_path(p, FileKind.PYTHON, rel="tests/test_client.py")
    assert f.rule_id == "secrets/github-token" and f.severity is Severity.CRITICAL


def test_pragma_allowlist(tmp_path: Path, tokens: dict[str, str]) -> None:
    groq = tokens["GROQ"]
    text = f'A = "{groq}"  # pragma: allowlist secret\n# pragma: allowlist nextline secret\nB = "{groq}"\n'
    # The working-tree scan reports both and the engine lists them as suppressed inline
    # (test_realworld_fp); the history scan, which has no such pass, drops them itself.
    assert len(_scan_text(tmp_path, text)) == 2
    assert ContentScanner({}, skip_allowlisted=True).scan("mod.py", text, FileKind.PYTHON) == []


def test_keyed_encodings(tmp_path: Path, tokens: dict[str, str]) -> None:
    k8s = render(FIXTURES / "positive" / "k8s-secret.yaml.tmpl", tmp_path / "secret.yaml", tokens)
    found = {(f.start_line, f.rule_id, f.properties.get("encoding")) for f in scan_path(k8s, FileKind.KUBERNETES)}
    assert (7, "secrets/openai-api-key", "base64") in found
    assert (8, "secrets/generic-secret", "base64") in found
    # The base64 text itself is not reported again (as a keyword or entropy hit) beside its decoded finding.
    assert {line for line, _, _ in found} == {7, 8} and len(found) == 2
    docker = render(FIXTURES / "positive" / "docker-config.json.tmpl", tmp_path / "config.json", tokens)
    [f] = scan_path(docker, FileKind.JSON)
    assert (f.start_line, f.rule_id, f.properties["encoding"]) == (4, "secrets/github-token", "base64")


def test_percent_encoded_url_password(tmp_path: Path) -> None:
    findings = _scan_text(
        tmp_path, 'u = "mysql://svc:Zq%40r81%2FkLx9@db.corp:3306/x"\nv = "mysql://svc:%3Cpassword%3E@db.corp/x"\n'
    )
    assert [(f.start_line, f.rule_id) for f in findings] == [(1, "secrets/credential-url")]


def test_keyword_anchored_forms(tmp_path: Path) -> None:
    t = TokenFactory(5)
    pinecone_uuid = "deb280e6-2c27-4105-9d3a-" + t.hex(12)
    lines = {
        f"AZURE_OPENAI_API_KEY={t.hex(32)}": "azure-openai-key",
        f'client = AzureOpenAI(api_key="{t.hex(32)}", api_version="2024-02-01")': "azure-openai-key",
        f"WANDB_API_KEY={t.hex(40)}": "wandb-api-key",
        f'wandb.login(key="{t.hex(40)}")': "wandb-api-key",
        f'{{"username": "alice", "key": "{t.hex(32)}"}}': "kaggle-api-key",
        f'os.environ["KAGGLE_KEY"] = "{t.hex(32)}"': "kaggle-api-key",
        f'PINECONE_API_KEY = "{pinecone_uuid}"': "pinecone-api-key",
        f'client = Mistral(api_key="{t.alnum(32)}")': "mistral-api-key",
        f"export COHERE_API_KEY='{t.alnum(40)}'": "cohere-api-key",
        f'gh_fine = "github_pat_11{t.alnum(20)}_{t.alnum(59)}"': "github-token",
    }
    findings = _scan_text(tmp_path, "\n".join(lines) + "\n", name="settings.txt", kind=FileKind.TEXT)
    got = [(f.start_line, f.rule_id) for f in findings]
    assert got == [(i, "secrets/" + rule) for i, rule in enumerate(lines.values(), start=1)]


def test_uuid_without_provider_keyword_is_not_reported(tmp_path: Path) -> None:
    text = 'experiment_secret = "deb280e6-2c27-4105-9d3a-0123456789ab"\n'
    assert _scan_text(tmp_path, text) == []


def test_gitlab_routable_token_checksum(tmp_path: Path) -> None:
    t = TokenFactory(23)
    good, bad, legacy = t.gitlab_routable(), t.gitlab_routable(checksum_ok=False), t.gitlab()
    text = f'A = "{good}"\nB = "{bad}"\nC = "{legacy}"\n'
    got = [(f.start_line, f.rule_id, f.severity, f.properties["validation"]) for f in _scan_text(tmp_path, text)]
    gitlab = [g for g in got if g[1] == "secrets/gitlab-token"]
    # The routable token's CRC32 is verified; the one with a broken checksum is not reported as GitLab's.
    assert gitlab == [
        (1, "secrets/gitlab-token", Severity.CRITICAL, "checksum"),
        (3, "secrets/gitlab-token", Severity.HIGH, "format"),
    ]


def test_base36_matches_rubys_to_s_36() -> None:
    """GitLab writes these digits with Ruby's Integer#to_s(36): lower-case, 0-9 then a-z, zero-padded here."""
    from aisec_ci.scanners.secrets.checksums import base36_encode

    assert base36_encode(35, 2) == "0z" and base36_encode(36, 2) == "10"
    assert base36_encode(0xFFFFFFFF, 7) == "1z141z3"
    for n in (0, 1, 12345, 2**31, 2**32 - 1):
        assert int(base36_encode(n, 7), 36) == n


def test_twilio_discord_telegram_when_named(tmp_path: Path) -> None:
    t = TokenFactory(31)
    twilio = "SK" + t.hex(32)
    discord = "M" + t.alnum(23) + "." + t.alnum(6) + "." + t.alnum(27)
    telegram = "12345678" + "9:" + t.alnum(35)
    text = (
        f'TWILIO_API_KEY = "{twilio}"\n'
        f'DISCORD_BOT_TOKEN = "{discord}"\n'
        f'url = f"https://api.telegram.org/bot{telegram}/sendMessage"\n'
        f'sms_key = "{twilio}"\n'  # no service name on the line: not this rule
    )
    found = [(f.start_line, f.rule_id) for f in _scan_text(tmp_path, text) if f.rule_id.endswith("provider-token")]
    assert found == [(1, "secrets/other-provider-token"), (2, "secrets/other-provider-token"),
                     (3, "secrets/other-provider-token")]  # fmt: skip
    types = {f.properties["secret_type"] for f in _scan_text(tmp_path, text) if f.start_line <= 3}
    assert {"Twilio API Key", "Discord Bot Token", "Telegram Bot Token"} <= types
