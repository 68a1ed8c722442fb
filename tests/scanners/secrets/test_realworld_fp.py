"""False-positive patterns seen on real ML repositories (issue 13), end to end through the CLI."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

from tests.conftest import run_cli, write_tree
from tests.scanners.secrets.conftest import token_values
from tests.scanners.secrets.secret_tokens import TokenFactory


def _scan(tmp_path: Path, files: dict[str, str]) -> dict[str, Any]:
    repo = tmp_path / "repo"
    write_tree(repo, files)
    out = tmp_path / "report.json"
    proc = run_cli(
        "scan", repo, "--offline", "--no-git", "--scanners", "secrets", "--fail-on", "none", "--jobs", "1",
        "--format", "json", "--output", out,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def _found(report: dict[str, Any]) -> set[tuple[str, int, str]]:
    return {(f["path"], f["start_line"], f["rule_id"]) for f in report["findings"]}


def test_names_keys_and_expressions_are_not_generic_secrets(tmp_path: Path) -> None:
    t = TokenFactory(113)
    real = "Tr41n" + t.alnum(9)
    constants_go = f"""package utils

const (
\tREDIS_PASSWORD        = "REDIS_PASSWORD"
\tAzureClientSecret     = "AZURE_CLIENT_SECRET"
\tmysqlPassword         = "DBConfig.MySQLConfig.Password"
\tEnableServeServiceKey = "ray.io/enable-serve-service"
\tRayHeadSecretPrefix   = "ray-head-secret"
\tDefaultStorageSecret  = "storage-config"
\tAuthTokenSecretKey    = utils.RAY_AUTH_TOKEN_SECRET_KEY
)

func load(secret *corev1.Secret, k string) {{
\tpassword := strings.TrimSpace(os.Getenv(EnvPassword))
\tsecretKey := string(secret.Data[k])
\tpodSpec.ImagePullSecrets = append(
\t\tpodSpec.ImagePullSecrets, ref)
\tsa.Secrets = mainSA.Secrets
\tfor _, secret := range rc.ImagePullSecrets {{
\t}}
\tdbPassword := "{real}"
}}
"""
    configmap = (
        "data:\n  storageInitializer: |-\n    {\n"
        '      "storageSecretNameAnnotation": "serving.kserve.io/storageSecretName",\n    }\n'
    )
    provider_cases = "cases:\n  - accessKeyKey: minio-access-key\n    secretKeyKey: minio-test-secretKeyKey-6\n"
    models_py = (
        "class V1beta1PodSpec:\n    openapi_types = {\n        'image_pull_secrets': 'list[V1LocalObjectReference]',\n"
        "    }\n    attribute_map = {\n        'image_pull_secrets': 'imagePullSecrets',\n"
        "        'password_set': 'passwordSet',\n    }\n"
    )
    runtime_ts = "export const key = typeof apiKey === 'function' ? apiKey : () => apiKey;\n"
    report = _scan(
        tmp_path,
        {
            "pkg/constants.go": constants_go,
            "config/configmap.yaml": configmap,
            "testdata/provider_cases.yaml": provider_cases,
            "python/models/v1beta1_pod_spec.py": models_py,
            "frontend/runtime.ts": runtime_ts,
        },
    )
    # Only the one literal that looks like a credential is left.
    assert _found(report) == {("pkg/constants.go", 21, "secrets/generic-secret")}


def test_allowlist_comments_of_other_tools_are_inline_suppressions(tmp_path: Path) -> None:
    t = TokenFactory(117)
    v = ["Pw9" + t.alnum(11) for _ in range(7)]
    go = f"""package utils

const (
\tRayWorkerSecret = "{v[0]}" //nolint:gosec // G101 -- a name prefix, not a credential
\tAzureSecret     = "{v[1]}" // #nosec G101
\tOtherSecret     = "{v[2]}" // #nosec G304
)
"""
    py = (
        f'db_password = "{v[3]}"  # pragma: allowlist secret\n'
        "# pragma: allowlist nextline secret\n"
        f'api_key = "{v[4]}"\n'
        f'secret = "{v[5]}"  # gitleaks:allow\n'
        f'password = "{v[6]}"\n'
    )
    report = _scan(tmp_path, {"pkg/const.go": go, "app.py": py})
    # `#nosec G304` is about another gosec rule; the last line has no comment at all.
    assert _found(report) == {("pkg/const.go", 6, "secrets/generic-secret"), ("app.py", 5, "secrets/generic-secret")}
    sup = report["suppressed"]
    suppressed = {(s["path"], s["start_line"], s["suppression"]["kind"], s["suppression"]["reason"]) for s in sup}
    assert suppressed == {
        ("pkg/const.go", 4, "inline", "nolint:gosec comment"),
        ("pkg/const.go", 5, "inline", "#nosec comment"),
        ("app.py", 1, "inline", "detect-secrets allowlist comment"),
        ("app.py", 3, "inline", "detect-secrets allowlist comment"),
        ("app.py", 4, "inline", "gitleaks:allow comment"),
    }
    assert report["summary"]["suppressed"]["inline"] == 5
    # Other tools' comments are not this tool's directives gone wrong.
    assert not [f for f in report["findings"] if f["rule_id"] == "core/invalid-suppression"]


def test_public_emulator_and_sample_credentials_are_info(tmp_path: Path) -> None:
    # The documented Azurite key of `devstoreaccount1`, split so that this file is not itself a hit.
    azurite = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq" + "/K1SZFPTOtr/KBHBeksoGMGw=="
    deploy = (
        "env:\n  - name: AZURE_STORAGE_CONNECTION_STRING\n"
        f'    value: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={azurite};'
        'BlobEndpoint=http://azurite:10000/devstoreaccount1"\n'
    )
    minio = "auth:\n  rootUser: minioadmin\n  rootPassword: minioadmin  # CHANGE THIS\n"
    aws = (
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    report = _scan(tmp_path, {"deploy/azurite.yaml": deploy, "deploy/minio.yaml": minio, "docs/credentials": aws})
    by_line = {(f["path"], f["start_line"]): f for f in report["findings"]}
    assert set(by_line) == {
        ("deploy/azurite.yaml", 3),
        ("deploy/minio.yaml", 3),
        ("docs/credentials", 2),
        ("docs/credentials", 3),
    }
    for f in by_line.values():
        assert f["severity"] == "info", f
        assert "public value" in f["message"] and "revoke" not in f["message"]
    assert by_line[("deploy/azurite.yaml", 3)]["rule_id"] == "secrets/azure-storage-key"
    assert "Azurite" in by_line[("deploy/azurite.yaml", 3)]["message"]


def test_certificates_and_gzip_blobs_are_not_keys_but_private_keys_are(tmp_path: Path) -> None:
    tokens = token_values(119)
    # A certificate's DER also starts with a SEQUENCE; what matters is the PEM label.
    cert_body = base64.b64encode(TokenFactory(5).rng.randbytes(700)).decode()
    cert_pem = "-----BEGIN CERTIFICATE-----\n" + cert_body + "\n-----END CERTIFICATE-----\n"
    cert_b64 = base64.b64encode(cert_pem.encode()).decode()
    key_b64 = base64.b64encode((tokens["PEM"] + "\n").encode()).decode()
    archive = base64.b64encode(gzip.compress(TokenFactory(6).rng.randbytes(300), mtime=0)).decode()
    assert archive.startswith("H4sI")
    secret_yaml = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: serving-cert\ntype: kubernetes.io/tls\ndata:\n"
        f"  ca.crt: {cert_b64}\n  tls.crt: {cert_b64}\n  tls.key: {key_b64}\n"
    )
    component = f"__KFP_EMBEDDED_ARCHIVE_B64 = '{archive}'\nCA_BUNDLE = \"{cert_b64}\"\n"
    report = _scan(tmp_path, {"deploy/tls.yaml": secret_yaml, "components/embedded.py": component})
    assert _found(report) == {("deploy/tls.yaml", 9, "secrets/private-key")}
    [key] = report["findings"]
    assert key["severity"] == "critical"


def test_provider_word_inside_an_identifier_is_not_its_token(tmp_path: Path) -> None:
    t = TokenFactory(121)
    colab = "import os\n_ngrok_authtoken = ngrok_authtoken\nconf.get_default().auth_token = _ngrok_authtoken\n"
    npmrc = f"//registry.npmjs.org/:_authToken={t.alnum(12)}-{t.alnum(12)}\n"
    report = _scan(tmp_path, {"notebook_helpers/tunnel.py": colab, "web/.npmrc": npmrc})
    assert _found(report) == {("web/.npmrc", 1, "secrets/npm-token")}


def test_settings_about_a_secret_are_not_the_secret(tmp_path: Path) -> None:
    """postgresql.conf's `password_encryption = scram-sha-256` (seen scanning a real Debian image)."""
    t = TokenFactory(211)
    real = "Zq8" + t.alnum(17)
    report = _scan(
        tmp_path,
        {
            "postgresql.conf": "#password_encryption = scram-sha-256\t# scram-sha-256 or md5\n"
            "password_hash_algorithm = pbkdf2_sha512_rounds\n",
            "app.conf": f"db_password = {real}\n",
        },
    )
    assert _found(report) == {("app.conf", 1, "secrets/generic-secret")}
