"""Cloud and SaaS credentials: AWS key pairs, Azure storage, Slack, Stripe."""

from __future__ import annotations

from aisec_ci.scanners.secrets.checksums import b64_decode
from aisec_ci.scanners.secrets.detector import (
    SHAPED,
    STRUCTURE,
    RegexDetector,
    Verdict,
    anchored,
    provider_rule,
)
from aisec_ci.scanners.secrets.public_values import PUBLIC_VERDICT, public_credential
from aisec_ci.severity import Severity

_B = r"(?<![A-Za-z0-9_\-])"
_E = r"(?![A-Za-z0-9_\-])"

AWS_KEY_ID = provider_rule(
    "aws-access-key-id",
    "AWS",
    "access key ids (`AKIA`, `ASIA`, `ABIA`, `ACCA` + 16 base32 characters). AWS's documented "
    "`…EXAMPLE` keys are ignored.",
    'aws_access_key_id = "AKIA…"',
    "Use IAM roles (instance profile, IRSA, GitHub OIDC) instead of long-lived keys.",
)
AWS_SECRET = provider_rule(
    "aws-secret-access-key",
    "AWS",
    "40-character secret access keys assigned to an `aws_secret_access_key`-like name.",
    'aws_secret_access_key = "…"',
    "Use IAM roles (instance profile, IRSA, GitHub OIDC) instead of long-lived keys.",
    severity=Severity.CRITICAL,
)
AZURE_STORAGE = provider_rule(
    "azure-storage-key",
    "Azure Storage",
    "`AccountKey=` values of storage connection strings; the key must base64-decode to 64 bytes.",
    'conn = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=…"',
    "Use managed identity or a SAS with a short expiry from a secret store.",
    severity=Severity.CRITICAL,
)
SLACK = provider_rule(
    "slack-token",
    "Slack",
    "bot, user, app and refresh tokens (`xoxb-`, `xoxp-`, `xapp-` …) and incoming-webhook URLs.",
    'SLACK_WEBHOOK = "https://hooks.slack.com/services/T…/B…/…"',
    "Store the token or webhook URL as a CI secret.",
)
STRIPE = provider_rule(
    "stripe-key",
    "Stripe",
    "live secret and restricted keys (`sk_live_`, `rk_live_`); test-mode keys are reported as medium.",
    'stripe.api_key = "sk_live_…"',
    "Use a restricted key from the environment.",
)

RULES = (AWS_KEY_ID, AWS_SECRET, AZURE_STORAGE, SLACK, STRIPE)

_VALIDATED = Verdict(Severity.CRITICAL, STRUCTURE)


def _not_example(secret: str, _line: str) -> Verdict | None:
    if public_credential(secret) is not None:
        return PUBLIC_VERDICT
    return None if "EXAMPLE" in secret.upper() else Verdict(Severity.HIGH, STRUCTURE)


def _aws_secret(secret: str, _line: str) -> Verdict | None:
    if public_credential(secret) is not None:
        return PUBLIC_VERDICT
    if "EXAMPLE" in secret.upper():
        return None
    # Real secret keys mix cases and digits; a word or a path is not one.
    if secret.isalpha() or secret.islower() or secret.isupper() or not any(c.isdigit() for c in secret):
        return None
    return Verdict(Severity.CRITICAL, "keyword")


def _azure_key(secret: str, _line: str) -> Verdict | None:
    raw = b64_decode(secret)
    if raw is None:
        return None
    return _VALIDATED if len(raw) == 64 else SHAPED


def _stripe(secret: str, _line: str) -> Verdict:
    return SHAPED if "_live_" in secret else Verdict(Severity.MEDIUM, "format")


DETECTORS = (
    RegexDetector(
        AWS_KEY_ID,
        "AWS access key id",
        ("akia", "asia", "abia", "acca"),
        _B + r"(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})" + _E,
        _not_example,
    ),
    RegexDetector(
        AWS_SECRET,
        "AWS secret access key",
        ("secret_access_key", "secretaccesskey", "aws_secret", "secret-access-key", "aws_secret_key"),
        anchored(r"secret_?access_?key|secret-access-key|aws_secret(?:_key)?", r"[A-Za-z0-9/+]{40}"),
        _aws_secret,
        filtered=True,
    ),
    RegexDetector(
        AZURE_STORAGE,
        "Azure storage account key",
        ("accountkey=",),
        r"(?i:AccountKey)=(?P<secret>[A-Za-z0-9+/]{80,90}={0,2})(?![A-Za-z0-9+/=])",
        _azure_key,
    ),
    RegexDetector(
        SLACK,
        "Slack token",
        ("xox", "xapp-"),
        _B
        + r"(?P<secret>xox[abposr]-(?:\d{8,14}-){1,3}[A-Za-z0-9]{20,40}"
        + r"|xapp-\d-[A-Z0-9]{9,12}-\d{10,14}-[a-f0-9]{40,80})"
        + _E,
    ),
    RegexDetector(
        SLACK,
        "Slack webhook URL",
        ("hooks.slack.com",),
        r"hooks\.slack\.com/(?:services|workflows)/(?P<secret>T[A-Z0-9]{6,12}/[AB][A-Z0-9]{6,12}/[A-Za-z0-9]{20,32})"
        + _E,
    ),
    RegexDetector(
        STRIPE,
        "Stripe key",
        ("sk_live_", "rk_live_", "sk_test_", "rk_test_"),
        _B + r"(?P<secret>[rs]k_(?:live|test)_[0-9A-Za-z]{20,247})" + _E,
        _stripe,
    ),
)
