"""The README's main command on the bundled example: every planted problem is
found by the scanner that owns it, every report format is written, and no
planted secret appears in any output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, load_json, run_cli

# Problems planted in examples/vulnerable-ai-app, by scanner: (rule id, path).
EXPECTED = {
    "secrets": [
        ("secrets/openai-api-key", "notebooks/explore.ipynb"),
        ("secrets/huggingface-token", "Dockerfile"),
        ("secrets/aws-secret-access-key", "docker-compose.yml"),
        ("secrets/github-token", ".env"),
        ("secrets/credential-url", ".env"),
        ("secrets/kaggle-api-key", "kaggle.json"),
        ("secrets/openai-api-key", "k8s/model-registry-secret.yaml"),
        ("secrets/huggingface-token", "k8s/model-registry-secret.yaml"),
        ("secrets/private-key", "deploy/ssh/id_ed25519"),
        # image/: the spec tools/make_image.py builds into an image; its files are scanned as source too.
        ("secrets/openai-api-key", "image/layers/04-copy-app/app/.env"),
        ("secrets/huggingface-token", "image/config.json"),
    ],
    "docker": [
        ("docker/root-user", "Dockerfile"),
        ("docker/unpinned-base-image", "Dockerfile"),
        ("docker/curl-pipe-shell", "Dockerfile"),
        ("docker/secret-in-env", "Dockerfile"),
        ("docker/insecure-package-index", "Dockerfile"),
        ("compose/privileged", "docker-compose.yml"),
        ("compose/docker-socket-mount", "docker-compose.yml"),
        ("docker/root-user", "image/Dockerfile"),
    ],
    "kubernetes": [
        ("exposure/ml-service-exposed", "k8s/raycluster.yaml"),
        ("k8s/ml-server-without-network-policy", "k8s/raycluster.yaml"),
        ("k8s/gpu-pod-placement", "k8s/raycluster.yaml"),
        ("k8s/privileged-container", "k8s/deployment.yaml"),
        ("k8s/host-namespaces", "k8s/deployment.yaml"),
        ("k8s/writable-model-host-path", "k8s/deployment.yaml"),
        ("k8s/nvidia-visible-devices-all", "k8s/deployment.yaml"),
    ],
    "cloud": [
        ("iam/full-admin", "iam/model-bucket-policy.json"),
        ("iam/public-principal", "iam/model-bucket-policy.json"),
        ("iam/open-trust-policy", "iam/github-oidc-trust.json"),
        ("exposure/nginx-proxy-without-auth", "nginx/mlflow.conf"),
        ("exposure/nginx-no-tls-redirect", "nginx/mlflow.conf"),
        ("apigateway/model-method-without-api-key", "infra/api.tf"),
        ("apigateway/stage-without-throttling", "infra/api.tf"),
        ("apigateway/usage-plan-without-limits", "infra/api.tf"),
        ("iam/model-invoke-on-any-resource", "infra/api.tf"),
        ("s3/model-bucket-without-kms", "infra/endpoint.tf"),
        ("sagemaker/endpoint-config-without-kms", "infra/endpoint.tf"),
    ],
    "workflows": [
        ("workflows/untrusted-checkout", ".github/workflows/pr-eval.yml"),
        ("workflows/template-injection", ".github/workflows/pr-eval.yml"),
        ("workflows/unpinned-action", ".github/workflows/pr-eval.yml"),
        ("workflows/self-hosted-runner", ".github/workflows/release.yml"),
        ("workflows/cache-poisoning", ".github/workflows/release.yml"),
        ("workflows/use-trusted-publishing", ".github/workflows/release.yml"),
        ("workflows/curl-pipe-shell", ".github/actions/fetch-model/action.yml"),
        ("workflows/template-injection", ".github/actions/fetch-model/action.yml"),
    ],
    "models": [
        ("models/pickle-code-execution", "models/classifier.pkl"),
        ("models/pickle-code-execution", "models/classifier.pt"),
        ("models/pickle-code-execution", "models/pipeline.joblib"),
        ("models/pickle-code-execution", "image/layers/04-copy-app/app/models/classifier.pkl"),
    ],
    "code": [
        ("code/yaml-unsafe-load", "app/serve.py"),
        ("code/torch-load-unsafe", "app/serve.py"),
        ("code/pickle-load", "app/serve.py"),
        ("code/trust-remote-code", "app/serve.py"),
        ("code/eval-model-output", "app/serve.py"),
        ("code/gradio-public-without-auth", "app/serve.py"),
        ("code/torch-load-unsafe", "notebooks/explore.ipynb"),
        ("code/langchain-python-repl", "app/agent.py"),
        ("code/shell-injection", "app/agent.py"),
        ("code/tls-verify-disabled", "app/agent.py"),
        ("code/numpy-allow-pickle", "app/agent.py"),
    ],
    "deps": [
        ("deps/vulnerable-package", "requirements.txt"),
        ("deps/unpinned-requirement", "requirements.txt"),
        ("deps/vulnerable-package", "requirements-dev.txt"),
        ("deps/unverifiable-source", "requirements-dev.txt"),
        ("deps/vulnerable-package", "environment.yml"),
        ("deps/audit-incomplete", "environment.yml"),
        ("deps/vulnerable-package", "image/layers/04-copy-app/app/requirements.txt"),
        # lodash 4.17.20 (GHSA-35jh-r3h4-6jhm): the embedded snapshot holds PyPI records only, and the OSV
        # API is unreachable in this run, so the lock file's npm packages are reported as not audited.
        ("deps/audit-incomplete", "frontend/package-lock.json"),
    ],
}


def _planted_secrets() -> list[str]:
    nb = (EXAMPLE / "notebooks" / "explore.ipynb").read_text()
    compose = (EXAMPLE / "docker-compose.yml").read_text()
    docker = (EXAMPLE / "Dockerfile").read_text()
    image_env = (EXAMPLE / "image" / "layers" / "04-copy-app" / "app" / ".env").read_text()
    image_config = (EXAMPLE / "image" / "config.json").read_text()
    found = [
        re.search(r"sk-proj-[A-Za-z0-9_-]+", nb),
        re.search(r'AWS_SECRET_ACCESS_KEY: "([^"]+)"', compose),
        re.search(r"HF_TOKEN=(hf_[A-Za-z]+)", docker),
        re.search(r"OPENAI_API_KEY=(sk-proj-[A-Za-z0-9_-]+)", image_env),
        re.search(r"HF_TOKEN=(hf_[A-Za-z]+)", image_config),
    ]
    values = [m.group(m.lastindex or 0) for m in found if m]
    assert len(values) == 5
    return values


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str, str]:
    out = tmp_path_factory.mktemp("example")
    proc = run_cli(
        "scan", EXAMPLE,
        "--format", "json", "--output", out / "r.json",
        "--format", "sarif", "--output", out / "r.sarif",
        "--format", "markdown", "--output", out / "r.md",
        "--format", "text", "--output", out / "r.txt",
        plugin=False, env={"AISEC_OSV_URL": "http://127.0.0.1:9"},
    )  # fmt: skip
    return out, proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def audit_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The same scan in the audit profile: every rule, hygiene and low confidence included."""
    out = tmp_path_factory.mktemp("example-audit") / "r.json"
    run_cli(
        "scan", EXAMPLE, "--profile", "audit", "--format", "json", "--output", out,
        plugin=False, env={"AISEC_OSV_URL": "http://127.0.0.1:9"},
    )  # fmt: skip
    return load_json(out)


def test_gate_fails_on_the_example(example_run: tuple[Path, int, str, str]) -> None:
    out, code, _, stderr = example_run
    assert code == 1, stderr
    report = load_json(out / "r.json")
    assert report["gate"]["passed"] is False
    assert report["summary"]["by_severity"]["critical"] >= 1


@pytest.mark.parametrize("scanner", sorted(EXPECTED))
def test_each_scanner_finds_its_planted_problems(audit_report: dict, scanner: str) -> None:
    report = audit_report
    if scanner not in report["scanners"]:
        pytest.skip(f"the {scanner} scanner is not part of this build")
    # A problem two scanners report on one line is one result that names the other rule.
    found = {
        (rule_id, f["path"])
        for f in report["findings"]
        for rule_id in (f["rule_id"], *f["properties"].get("also_reported_by", ()))
    }
    missing = [pair for pair in EXPECTED[scanner] if pair not in found]
    assert not missing, f"{scanner} missed {missing}"


def test_the_default_profile_keeps_every_medium_or_higher_source_finding(
    example_run: tuple[Path, int, str, str], audit_report: dict
) -> None:
    out, _, _, _ = example_run
    default = load_json(out / "r.json")
    assert default["profile"] == "default" and audit_report["profile"] == "audit"
    rank = ["info", "low", "medium", "high", "critical"]
    wanted = {
        f["fingerprint"]
        for f in audit_report["findings"]
        if f["role"] == "source" and rank.index(f["severity"]) >= 2 and f["confidence"] != "low"
    }
    shown = {f["fingerprint"] for f in default["findings"]}
    assert wanted, "the example has medium+ source findings"
    lost = sorted((f["rule_id"], f["path"]) for f in audit_report["findings"] if f["fingerprint"] in wanted - shown)
    assert not lost
    # What the default profile leaves out is counted, with the way to see it.
    hidden = default["summary"]["hidden"]["out_of_profile"]
    assert hidden.get("strict", 0) >= 1
    assert len(default["findings"]) + sum(hidden.values()) == len(audit_report["findings"])
    assert {f["profile"] for f in default["findings"]} == {"default"}
    assert "more findings in the strict profile" in (out / "r.txt").read_text()


def test_the_safe_model_has_no_finding(example_run: tuple[Path, int, str, str]) -> None:
    out, _, _, _ = example_run
    report = load_json(out / "r.json")
    assert not [f for f in report["findings"] if f["path"] == "models/weights.safetensors"]


def test_no_planted_secret_in_any_output(example_run: tuple[Path, int, str, str], sarif_validate) -> None:
    out, _, stdout, stderr = example_run
    sarif_validate(load_json(out / "r.sarif"))
    outputs = {p.name: p.read_text() for p in out.iterdir()} | {"stdout": stdout, "stderr": stderr}
    for secret in _planted_secrets():
        for name, text in outputs.items():
            assert secret not in text, f"a planted secret leaked into {name}"
            # Nor a long slice of it (a redaction shows at most the first 4 characters).
            assert secret[4:20] not in text, f"part of a planted secret leaked into {name}"


def test_every_file_is_accounted_for(example_run: tuple[Path, int, str, str]) -> None:
    out, _, _, _ = example_run
    report = load_json(out / "r.json")
    on_disk = {p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.rglob("*") if p.is_file()}
    skipped = {s["path"] for s in report["skipped"]}
    # A skipped directory (path ending in "/", such as the image spec's site-packages) stands for its files.
    skipped_dirs = {s for s in skipped if s.endswith("/")}
    skipped_files = skipped - skipped_dirs
    assert skipped_files <= on_disk
    under_dirs = {p for p in on_disk if p.startswith(tuple(skipped_dirs))}
    assert all(any(p.startswith(d) for p in on_disk) for d in skipped_dirs)
    assert report["summary"]["files_scanned"] + len(skipped_files) + len(under_dirs) == len(on_disk)
