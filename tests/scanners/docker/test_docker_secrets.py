"""docker/secret-in-env and docker/secret-build-arg."""

from __future__ import annotations

from aisec_ci.scanners.docker.secretnames import is_secret_name
from tests.scanners.docker.docker_support import RULES, hits, scan


def test_literal_and_build_arg_credentials() -> None:
    found = scan(RULES / "secrets.Dockerfile")
    assert hits(found, "docker/secret") == {
        ("docker/secret-in-env", 2),
        ("docker/secret-in-env", 3),
        ("docker/secret-build-arg", 4),
        ("docker/secret-build-arg", 5),
        ("docker/secret-in-env", 6),
    }


def test_values_never_reach_the_report() -> None:
    text = (RULES / "secrets.Dockerfile").read_text()
    found = scan(RULES / "secrets.Dockerfile")
    for secret in ("sk-placeholder-not-a-real-key", "changeme", "not-a-real-password"):
        assert secret in text
        for f in found:
            assert secret not in f.message and secret not in f.snippet and secret not in f.key
            assert secret not in str(f.properties)
    assert any(f.snippet == "ENV OPENAI_API_KEY=<redacted>" for f in found)


def test_secret_names() -> None:
    for name in ("HF_TOKEN", "WANDB_API_KEY", "db_password", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "MY_APIKEY"):
        assert is_secret_name(name), name
    for name in ("TOKENIZERS_PARALLELISM", "GPG_KEY", "HF_TOKEN_FILE", "MAX_NEW_TOKENS", "PASSWORD_LENGTH", "PATH"):
        assert not is_secret_name(name), name
