"""Whether a literal in a Secret, a credential-named ConfigMap key or an env var is
a secret at all. The judgement of the value is the secrets scanner's (placeholders,
templates, identifiers, test paths); this module only adds what a manifest knows
that a line of text does not: the key's name, base64 in `data`, certificates."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from aisec_ci.scanners.secrets import false_positives
from aisec_ci.severity import Severity

# Names whose value identifies rather than authenticates: a user name, an access key id.
_IDENTIFIER_KEY_RE = re.compile(
    r"(?i)(?:^|[_.-])(?:user|username|user[_-]?name|login|account|email|host|port|region|bucket|endpoint)$"
    r"|^(?:root[_-]?user|access[_-]?key(?:[_-]?id)?|accesskey)$|(?:[_-]|\b)id$"
)
# Public halves of TLS material: certificates and CA bundles are meant to be handed out.
_PUBLIC_KEY_NAME_RE = re.compile(r"(?i)(?:^|[._-])(?:crt|cert|certificate|ca|ca[_-]?bundle|pub)$|\.pub$|\.crt$")
_PUBLIC_PEM_RE = re.compile(r"-----BEGIN (?:CERTIFICATE|PUBLIC KEY|TRUSTED CERTIFICATE)-----")
_PRIVATE_PEM_RE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# What a person types as a demo or default password (`minioadmin`, `minio123`, `mlflow`):
# it lets anyone into that deployment, but it is a default, not a leaked credential.
_MEMORABLE_RE = re.compile(r"^[A-Za-z]{3,16}[0-9]{0,4}$")


@dataclass(frozen=True)
class Verdict:
    severity: Severity | None
    """None: not a secret, say nothing; otherwise the severity to report at."""
    reason: str = ""
    """Why the severity is below the rule's, for the message."""


def decode_data(value: str) -> str:
    """A Secret's `data` value as text; the raw value when it is not valid base64."""
    compact = "".join(value.split())
    try:
        return base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return value


def judge(key: str, value: str, path: str, default: Severity) -> Verdict:
    """How to report the literal `value` held under `key` in the file at `path`."""
    text = value.strip()
    if _PRIVATE_PEM_RE.search(text):
        return Verdict(false_positives.lower_for_test_path(default, path))
    if _PUBLIC_PEM_RE.search(text) or (_PUBLIC_KEY_NAME_RE.search(key) and "key" not in key.lower()):
        return Verdict(None, "a public certificate")
    if _IDENTIFIER_KEY_RE.search(key):
        return Verdict(None, "an identifier, not a credential")
    if "\n" not in text:
        reason = false_positives.generic_filter_reason(text, f"{key}: {text}", "kubernetes")
        if reason is not None:
            return Verdict(None, f"a {reason} value")
        if _MEMORABLE_RE.match(text):
            sev = false_positives.lower_for_test_path(min(default, Severity.MEDIUM), path)
            return Verdict(sev, "a default or demo password")
    return Verdict(false_positives.lower_for_test_path(default, path))
