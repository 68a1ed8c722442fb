"""Whether an environment variable or build argument name holds a credential."""

from __future__ import annotations

import itertools
import re

# Whole names of well-known credentials in ML and cloud tooling.
_KNOWN = frozenset(
    {
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HUGGINGFACE_TOKEN",
        "HUGGINGFACEHUB_API_TOKEN",
        "WANDB_API_KEY",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "COHERE_API_KEY",
        "MISTRAL_API_KEY",
        "REPLICATE_API_TOKEN",
        "COMET_API_KEY",
        "NEPTUNE_API_TOKEN",
        "KAGGLE_KEY",
        "NGC_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AZURE_CLIENT_SECRET",
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_CONNECTION_STRING",
        "GOOGLE_API_KEY",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "GITLAB_TOKEN",
        "NPM_TOKEN",
        "PYPI_TOKEN",
        "TWINE_PASSWORD",
        "DOCKER_PASSWORD",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_TOKEN",
        "DATABASE_URL",
    }
)
# Name parts that mark a credential.
_SECRET_PARTS = frozenset(
    {
        "TOKEN",
        "SECRET",
        "SECRETS",
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
        "PRIVATEKEY",
    }
)
# Two-part names that mark a credential (`API_KEY`, `ACCESS_KEY`, `PRIVATE_KEY`).
_SECRET_PAIRS = frozenset({("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"), ("SECRET", "KEY"), ("AUTH", "KEY")})
# A last part that means the variable names where the secret is, or describes it, not the secret itself.
_NOT_A_VALUE = frozenset(
    {
        "FILE",
        "PATH",
        "DIR",
        "NAME",
        "ID",
        "TYPE",
        "LENGTH",
        "LEN",
        "SIZE",
        "ENABLED",
        "HEADER",
        "URL",
        "ENDPOINT",
        "HOST",
        "PORT",
        "USER",
        "USERNAME",
        "EXPIRY",
        "TTL",
        "REQUIRED",
        "MODE",
        "POLICY",
        "ENV",
        "VAR",
        "REF",
        "ARN",
        "SECRETREF",
        "LIMIT",
        "COUNT",
        "ALGO",
        "ALGORITHM",
        "PROVIDER",
        "PREFIX",
        "SUFFIX",
        "FORMAT",
        "VERSION",
        "LOCATION",
        "KIND",
        "SOURCE",
        "REGION",
        "SCOPE",
        "SCOPES",
        "AUDIENCE",
        "ISSUER",
    }
)
_SPLIT = re.compile(r"[^A-Za-z0-9]+")


def is_secret_name(name: str) -> bool:
    """Whether `name` looks like it holds a credential (`HF_TOKEN`, `DB_PASSWORD`), not a path or flag."""
    upper = name.upper()
    if upper in _KNOWN:
        return True
    parts = [p for p in _SPLIT.split(upper) if p]
    if not parts or parts[-1] in _NOT_A_VALUE:
        return False
    if any(p in _SECRET_PARTS for p in parts):
        # `TOKENIZERS_PARALLELISM` has no part equal to TOKEN, so it is not matched.
        return True
    return any((a, b) in _SECRET_PAIRS for a, b in itertools.pairwise(parts))


def is_placeholder_reference(value: str) -> bool:
    """Whether `value` only refers to another variable (`$HF_TOKEN`, `${HF_TOKEN}`) or is empty."""
    v = value.strip()
    if not v:
        return True
    return bool(re.fullmatch(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(?::?[-?+=][^}]*)?\}?", v))
