"""JSON Web Tokens: the header must decode to JSON naming an `alg`."""

from __future__ import annotations

import json

from aisec_ci.rules import Rule
from aisec_ci.scanners.secrets.checksums import b64url_decode, jwt_header
from aisec_ci.scanners.secrets.detector import STRUCTURE, RegexDetector, Verdict
from aisec_ci.severity import Severity

JWT = Rule(
    id="secrets/jwt",
    name="JSON Web Token in source",
    short_description="A signed JWT (bearer token) is hard-coded.",
    severity=Severity.HIGH,
    what="Finds `eyJ…` three-part tokens whose header decodes to a JSON object with an `alg`. The public "
    "jwt.io sample token is ignored; unsigned (`alg: none`) tokens are reported as low.",
    why="A bearer token grants whatever its claims say until it expires; long-lived service tokens are often "
    "valid for years.",
    example='headers = {"Authorization": "Bearer eyJhbGciOi…"}',
    example_language="python",
    fix="Revoke the token (or rotate the signing key), and obtain tokens at run time.",
    tags=("CWE-798", "secrets"),
)

RULES = (JWT,)

# The jwt.io sample: documentation everywhere, never a credential.
_SAMPLE_SUBJECTS = frozenset({"1234567890"})


def _jwt(secret: str, _line: str) -> Verdict | None:
    header = jwt_header(secret)
    if header is None:
        return None
    parts = secret.split(".")
    raw = b64url_decode(parts[1]) if len(parts) > 1 else None
    try:
        claims = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        claims = None
    if not isinstance(claims, dict):
        return None
    if claims.get("sub") in _SAMPLE_SUBJECTS and claims.get("name") == "John Doe":
        return None
    if str(header.get("alg", "")).lower() == "none" or len(parts) < 3 or not parts[2]:
        return Verdict(Severity.LOW, STRUCTURE)
    return Verdict(Severity.HIGH, STRUCTURE)


DETECTORS = (
    RegexDetector(
        JWT,
        "JSON Web Token",
        ("eyj",),
        r"(?<![A-Za-z0-9_\-])(?P<secret>eyJ[A-Za-z0-9_\-]{10,4000}\.eyJ[A-Za-z0-9_\-]{4,8000}\.[A-Za-z0-9_\-]{0,2000})"
        r"(?![A-Za-z0-9_\-])",
        _jwt,
    ),
)
