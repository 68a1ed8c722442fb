from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.scanners.secrets.secret_tokens import TokenFactory

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "secrets"


def token_values(seed: int = 7) -> dict[str, str]:
    t = TokenFactory(seed)
    pem_body = t.rsa_pem_body()
    values = {
        "OPENAI": t.openai(),
        "ANTHROPIC": t.anthropic(),
        "HUGGINGFACE": t.huggingface(),
        "COHERE": t.alnum(40),
        "REPLICATE": t.replicate(),
        "GROQ": t.groq(),
        "PERPLEXITY": t.perplexity(),
        "MISTRAL": t.alnum(32),
        "GOOGLE": t.google(),
        "AZURE_OPENAI": t.hex(32),
        "LANGSMITH": t.langsmith(),
        "PINECONE": t.pinecone(),
        "WANDB": t.hex(40),
        "DATABRICKS": t.databricks(),
        "KAGGLE": t.hex(32),
        "GITHUB": t.github(),
        "GITLAB": t.gitlab(),
        "NPM": t.npm(),
        "PYPI": t.pypi(),
        "AWS_KEY_ID": t.aws_key_id(),
        "AWS_SECRET": t.aws_secret(),
        "AZURE_STORAGE": t.azure_storage_key(),
        "SLACK": t.slack(),
        "SLACK_HOOK": t.alnum(24),
        "STRIPE": t.stripe(),
        "JWT": t.jwt(),
        "DB_PASSWORD": "Tr41n" + t.alnum(10),
        "GENERIC_PASSWORD": "Pw9" + t.alnum(13),
        "PEM": "-----BEGIN RSA PRIVATE KEY-----\n" + pem_body + "\n-----END RSA PRIVATE KEY-----",
        "PEM_BODY_ESCAPED": pem_body.replace("\n", "\\n"),
        "IMAGE_B64": base64.b64encode(t.rng.randbytes(3000)).decode(),
    }
    values["B64_OPENAI"] = base64.b64encode(t.openai().encode()).decode()
    values["B64_PASSWORD"] = base64.b64encode(("K8s" + t.alnum(13)).encode()).decode()
    values["B64_DOCKER_AUTH"] = base64.b64encode(f"bot:{t.github()}".encode()).decode()
    return values


@pytest.fixture
def tokens() -> dict[str, str]:
    return token_values()
