"""Credentials of AI/ML services: model APIs, hubs, vector stores, experiment trackers."""

from __future__ import annotations

from aisec_ci.scanners.secrets.detector import (
    SHAPED,
    STRUCTURE,
    RegexDetector,
    Verdict,
    anchored,
    provider_rule,
)
from aisec_ci.severity import Severity

_B = r"(?<![A-Za-z0-9_\-])"  # token start boundary
_E = r"(?![A-Za-z0-9_\-])"  # token end boundary
_VALIDATED = Verdict(Severity.CRITICAL, STRUCTURE)

OPENAI = provider_rule(
    "openai-api-key",
    "OpenAI",
    "project, service-account, admin and legacy `sk-` keys. Keys carrying the `T3BlbkFJ` marker "
    "(base64 of `OpenAI`) are structurally validated and reported as critical.",
    'client = OpenAI(api_key="sk-proj-…")',
    "Use `OpenAI()` with `OPENAI_API_KEY` set in the environment.",
    severity=Severity.CRITICAL,
    references=("https://platform.openai.com/docs/api-reference/authentication",),
)
ANTHROPIC = provider_rule(
    "anthropic-api-key",
    "Anthropic",
    "`sk-ant-api03-` and `sk-ant-admin01-` keys; the fixed length (108) and `AA` suffix are checked.",
    'client = anthropic.Anthropic(api_key="sk-ant-api03-…")',
    "Use `anthropic.Anthropic()` with `ANTHROPIC_API_KEY` in the environment.",
    severity=Severity.CRITICAL,
)
HUGGINGFACE = provider_rule(
    "huggingface-token",
    "Hugging Face",
    "user access tokens (`hf_` + 34 letters) and organization tokens (`api_org_`).",
    'login(token="hf_…")',
    "Call `huggingface_hub.login()` without a token so it reads `HF_TOKEN`, or use the cached CLI login.",
)
COHERE = provider_rule(
    "cohere-api-key",
    "Cohere",
    "40-character keys next to a `cohere`/`CO_API_KEY` name (the format has no prefix, so a keyword is required).",
    'co = cohere.Client("…")',
    "Read `CO_API_KEY` from the environment.",
    precision="medium",
)
REPLICATE = provider_rule(
    "replicate-api-token",
    "Replicate",
    "`r8_` + 37 alphanumerics.",
    'os.environ["REPLICATE_API_TOKEN"] = "r8_…"',
    "Set `REPLICATE_API_TOKEN` outside the code.",
)
GROQ = provider_rule(
    "groq-api-key",
    "Groq",
    "`gsk_` + 52 alphanumerics.",
    'client = Groq(api_key="gsk_…")',
    "Use `GROQ_API_KEY` from the environment.",
)
PERPLEXITY = provider_rule(
    "perplexity-api-key",
    "Perplexity",
    "`pplx-` + 48 alphanumerics.",
    'PPLX_KEY = "pplx-…"',
    "Read the key from the environment.",
)
MISTRAL = provider_rule(
    "mistral-api-key",
    "Mistral AI",
    "32-character keys next to a `mistral` name (no prefix, so a keyword is required).",
    'client = Mistral(api_key="…")',
    "Use `MISTRAL_API_KEY` from the environment.",
    precision="medium",
)
GOOGLE = provider_rule(
    "google-api-key",
    "Google AI / Gemini (Google API key)",
    "`AIza` + 35 characters, the format of Google API keys used by Gemini and other Google APIs.",
    'genai.configure(api_key="AIza…")',
    "Use `GOOGLE_API_KEY`/`GEMINI_API_KEY` from the environment and restrict the key to the APIs it needs.",
)
AZURE_OPENAI = provider_rule(
    "azure-openai-key",
    "Azure OpenAI",
    "32-hex-digit keys next to an `azure…key` name or in an `AzureOpenAI(...)` call.",
    'AzureOpenAI(api_key="…", azure_endpoint="https://x.openai.azure.com")',
    "Use Entra ID (managed identity) or `AZURE_OPENAI_API_KEY` from the environment.",
    precision="medium",
)
LANGSMITH = provider_rule(
    "langsmith-api-key",
    "LangSmith",
    "`lsv2_pt_`/`lsv2_sk_` keys (32 + 10 hex digits).",
    'LANGCHAIN_API_KEY = "lsv2_pt_…"',
    "Set `LANGSMITH_API_KEY` in the environment.",
)
PINECONE = provider_rule(
    "pinecone-api-key",
    "Pinecone",
    "`pcsk_` keys, and legacy UUID keys next to a `pinecone` name.",
    'pc = Pinecone(api_key="pcsk_…")',
    "Use `PINECONE_API_KEY` from the environment.",
)
WANDB = provider_rule(
    "wandb-api-key",
    "Weights & Biases",
    "`wandb_v1_` keys, and 40-hex-digit keys next to a `wandb` name.",
    'wandb.login(key="…")',
    "Run `wandb login` on the machine or set `WANDB_API_KEY` in CI secrets.",
)
DATABRICKS = provider_rule(
    "databricks-token",
    "Databricks / MLflow",
    "`dapi` + 32 hex digits personal access tokens (also used as `MLFLOW_TRACKING_TOKEN`).",
    'os.environ["DATABRICKS_TOKEN"] = "dapi…"',
    "Use a Databricks secret scope, OAuth M2M, or a CI secret.",
)
KAGGLE = provider_rule(
    "kaggle-api-key",
    "Kaggle",
    "the 32-hex-digit `key` of a `kaggle.json` and `KAGGLE_KEY` assignments.",
    '{"username": "alice", "key": "…"}',
    "Keep `kaggle.json` in `~/.kaggle/` (mode 600), never in the repository; in CI use `KAGGLE_KEY` secrets.",
)

RULES = (
    OPENAI,
    ANTHROPIC,
    HUGGINGFACE,
    COHERE,
    REPLICATE,
    GROQ,
    PERPLEXITY,
    MISTRAL,
    GOOGLE,
    AZURE_OPENAI,
    LANGSMITH,
    PINECONE,
    WANDB,
    DATABRICKS,
    KAGGLE,
)


def _openai_marker(secret: str, _line: str) -> Verdict:
    return _VALIDATED if "T3BlbkFJ" in secret else SHAPED


def _anthropic(secret: str, _line: str) -> Verdict:
    exact = len(secret) == 108 and secret.endswith("AA") and secret.startswith("sk-ant-api03-")
    admin = secret.startswith("sk-ant-admin01-") and secret.endswith("AA")
    return _VALIDATED if exact or admin else SHAPED


_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

DETECTORS = (
    RegexDetector(
        OPENAI,
        "OpenAI API key",
        ("sk-",),
        _B
        + r"(?P<secret>sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{16,200}T3BlbkFJ[A-Za-z0-9_\-]{16,200})"
        + _E,
        _openai_marker,
    ),
    RegexDetector(
        OPENAI,
        "OpenAI API key",
        ("sk-proj-", "sk-svcacct-", "sk-admin-"),
        _B + r"(?P<secret>sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,250})" + _E,
        _openai_marker,
    ),
    RegexDetector(
        ANTHROPIC,
        "Anthropic API key",
        ("sk-ant-",),
        _B + r"(?P<secret>sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_\-]{32,200})" + _E,
        _anthropic,
    ),
    RegexDetector(
        HUGGINGFACE, "Hugging Face token", ("hf_", "api_org_"), _B + r"(?P<secret>(?:hf|api_org)_[A-Za-z]{34})" + _E
    ),
    RegexDetector(
        COHERE,
        "Cohere API key",
        ("cohere", "co_api_key"),
        anchored("cohere|co_api_key", "[A-Za-z0-9]{40}"),
        filtered=True,
    ),
    RegexDetector(REPLICATE, "Replicate API token", ("r8_",), _B + r"(?P<secret>r8_[A-Za-z0-9]{37})" + _E),
    RegexDetector(GROQ, "Groq API key", ("gsk_",), _B + r"(?P<secret>gsk_[A-Za-z0-9]{52})" + _E),
    RegexDetector(PERPLEXITY, "Perplexity API key", ("pplx-",), _B + r"(?P<secret>pplx-[A-Za-z0-9]{48})" + _E),
    RegexDetector(MISTRAL, "Mistral API key", ("mistral",), anchored("mistral", "[A-Za-z0-9]{32}"), filtered=True),
    RegexDetector(GOOGLE, "Google API key", ("aiza",), _B + r"(?P<secret>AIza[0-9A-Za-z_\-]{35})" + _E),
    RegexDetector(
        AZURE_OPENAI,
        "Azure OpenAI key",
        ("azure",),
        r"(?i:azure)[\w.\-(]{0,40}?(?i:key)" + anchored("", "[0-9a-fA-F]{32}").removeprefix("(?i:)"),
        filtered=True,
    ),
    RegexDetector(
        LANGSMITH, "LangSmith API key", ("lsv2_",), _B + r"(?P<secret>lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10})" + _E
    ),
    RegexDetector(
        PINECONE, "Pinecone API key", ("pcsk_",), _B + r"(?P<secret>pcsk_[A-Za-z0-9]{4,8}_[A-Za-z0-9]{50,70})" + _E
    ),
    RegexDetector(
        PINECONE, "Pinecone API key", ("pinecone",), anchored("pinecone", _UUID), filtered=True, uuid_value=True
    ),
    RegexDetector(
        WANDB, "Weights & Biases API key", ("wandb_v1_",), _B + r"(?P<secret>wandb_v1_[A-Za-z0-9_]{60,90})" + _E
    ),
    RegexDetector(WANDB, "Weights & Biases API key", ("wandb",), anchored("wandb", "[0-9a-f]{40}"), filtered=True),
    RegexDetector(DATABRICKS, "Databricks token", ("dapi",), _B + r"(?P<secret>dapi[0-9a-f]{32}(?:-\d)?)" + _E),
    RegexDetector(KAGGLE, "Kaggle API key", ("kaggle",), anchored("kaggle", "[0-9a-f]{32}"), filtered=True),
    RegexDetector(
        KAGGLE,
        "Kaggle API key",
        ('"username"',),
        r'"username"\s{0,4}:\s{0,4}"[^"\\]{1,64}"\s{0,4},\s{0,4}"key"\s{0,4}:\s{0,4}"(?P<secret>[0-9a-f]{32})"',
        filtered=True,
    ),
)
