"""URLs that carry a password: database DSNs, broker URLs, `https://user:pass@host`."""

from __future__ import annotations

import re
from urllib.parse import unquote

from aisec_ci.rules import Rule
from aisec_ci.scanners.secrets.detector import RegexDetector, Verdict
from aisec_ci.scanners.secrets.false_positives import is_placeholder
from aisec_ci.severity import Severity

CREDENTIAL_URL = Rule(
    id="secrets/credential-url",
    name="Password in a URL",
    short_description="A connection URL embeds a password.",
    severity=Severity.HIGH,
    what="Finds `scheme://user:password@host` URLs (PostgreSQL, MySQL, MongoDB, Redis, AMQP, MLflow/HTTP "
    "basic auth …). Percent-encoded passwords are decoded before placeholder checks. URLs pointing at "
    "localhost are reported as medium.",
    why="Database and broker URLs give direct access to data, usually with broad privileges and no second factor.",
    example='engine = create_engine("postgresql://app:…@db.internal:5432/prod")',
    example_language="python",
    fix="Rotate the password and build the URL from environment variables or a secret store.",
    tags=("CWE-798", "secrets"),
    precision="medium",
)

RULES = (CREDENTIAL_URL,)

_LOCAL_HOST_RE = re.compile(r"@(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|host\.docker\.internal)\b", re.IGNORECASE)
_WEAK_WORDS = frozenset({"password", "pass", "passwd", "pwd", "secret", "changeme", "user", "username", "root"})


def _url_password(secret: str, line: str) -> Verdict | None:
    decoded = unquote(secret)
    if decoded.lower() in _WEAK_WORDS or is_placeholder(decoded) or decoded.startswith(("$", "%", "{", "<")):
        return None
    severity = Severity.MEDIUM if _LOCAL_HOST_RE.search(line) else Severity.HIGH
    return Verdict(severity, "url")


DETECTORS = (
    RegexDetector(
        CREDENTIAL_URL,
        "Password in URL",
        ("://",),
        r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://[^\s:@/'\"`<>]{1,128}:(?P<secret>[^\s@/'\"`<>]{3,256})@[\w.\-\[\]]{1,253}",
        _url_password,
        filtered=False,
    ),
)
