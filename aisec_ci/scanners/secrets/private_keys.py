"""Private key blocks (PEM, OpenSSH, PGP, PuTTY) and GCP service-account key files.

detect-secrets fires on the `BEGIN … PRIVATE KEY` header alone, so documentation
with a placeholder body is flagged. Here the body must decode: DER must be one
well-formed ASN.1 SEQUENCE, OpenSSH keys must carry the `openssh-key-v1` magic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aisec_ci.rules import Rule
from aisec_ci.scanners.secrets.checksums import b64_decode
from aisec_ci.scanners.secrets.detector import SHAPED, STRUCTURE, Candidate, Detector, Verdict, provider_rule
from aisec_ci.severity import Severity

PRIVATE_KEY = Rule(
    id="secrets/private-key",
    name="Private key in source",
    short_description="A private key block is committed to the repository.",
    severity=Severity.CRITICAL,
    what="Finds PEM/OpenSSH/PGP/PuTTY private key blocks. PEM bodies are decoded and parsed as ASN.1 DER "
    "(OpenSSH keys by their `openssh-key-v1` magic); a block whose body does not decode (a placeholder "
    "in documentation) is not reported. Encrypted keys are reported as high.",
    why="A private key lets anyone impersonate the server, sign releases or log in over SSH as its owner. "
    "Keys in git history stay retrievable after the file is deleted.",
    example="-----BEGIN RSA PRIVATE KEY-----\n<base64 body>\n-----END RSA PRIVATE KEY-----",
    example_language="text",
    fix="Revoke and rotate the key (new certificate, new deploy key), remove it from history, and mount it "
    "at run time from a secret store.",
    tags=("CWE-321", "CWE-798", "secrets"),
    precision="very-high",
)
GCP_SERVICE_ACCOUNT = provider_rule(
    "gcp-service-account-key",
    "Google Cloud service account",
    'service-account key JSON (`"type": "service_account"` with a `private_key` whose PEM body parses).',
    '{"type": "service_account", "private_key_id": "…", "private_key": "-----BEGIN PRIVATE KEY-----\\n…"}',
    "Use workload identity federation (GitHub OIDC, GKE workload identity) instead of key files.",
    severity=Severity.CRITICAL,
)

RULES = (PRIVATE_KEY, GCP_SERVICE_ACCOUNT)

_BLOCK_RE = re.compile(
    r"-----BEGIN (?P<kind>[A-Z0-9]{1,12}(?: [A-Z0-9]{1,12}){0,2} )?PRIVATE KEY(?: BLOCK)?-----"
    r"(?P<body>.{0,12000}?)-----END (?:[A-Z0-9]{1,12}(?: [A-Z0-9]{1,12}){0,2} )?PRIVATE KEY(?: BLOCK)?-----",
    re.DOTALL,
)
_PUTTY_RE = re.compile(
    r"PuTTY-User-Key-File-[23]: [\w-]{3,30}\r?\n(?P<body>(?:[\w-]{1,40}: [^\n]{0,200}\r?\n){0,4}"
    r"Public-Lines: \d{1,3}\r?\n[\s\S]{0,12000}?Private-MAC: [0-9a-f]{40,64})"
)
# Escaped newlines (JSON), string concatenation in code, quotes and whitespace;
# `+` alone is base64 and must stay.
_BODY_NOISE_RE = re.compile(r"\\[nr]|[\"'`][ \t]*\+[ \t]*(?:\\?\r?\n[ \t]*)?[\"'`]|[\s\"'`,;]")
_OPENSSH_MAGIC = b"openssh-key-v1\x00"


def _der_sequence_ok(raw: bytes) -> bool:
    """One complete DER SEQUENCE spanning the whole buffer."""
    if len(raw) < 64 or raw[0] != 0x30:
        return False
    first = raw[1]
    if first < 0x80:
        length, header = first, 2
    else:
        n = first & 0x7F
        if not 1 <= n <= 3 or len(raw) < 2 + n:
            return False
        length, header = int.from_bytes(raw[2 : 2 + n], "big"), 2 + n
    return header + length == len(raw)


def body_verdict(kind: str, body: str) -> Verdict | None:
    """Decode and parse a key body; None for placeholders and non-keys."""
    lines = [ln for ln in re.split(r"\\n|\r?\n", body)]
    if any(":" in ln for ln in lines[:4]) and "ENCRYPTED" in body:
        # Legacy encrypted PEM (Proc-Type/DEK-Info headers): usable with its passphrase.
        return Verdict(Severity.HIGH, STRUCTURE) if len(body) > 128 else None
    compact = _BODY_NOISE_RE.sub("", body)
    if "PGP" in kind:
        # Armor headers and the CRC line make PGP bodies non-contiguous; require bulk.
        return SHAPED if len(compact) >= 200 else None
    raw = b64_decode(compact.split("=", 1)[0] if compact.count("=") > 2 else compact)
    if raw is None:
        return None
    if raw.startswith(_OPENSSH_MAGIC):
        return Verdict(Severity.CRITICAL, STRUCTURE)
    if "ENCRYPTED" in kind:
        return Verdict(Severity.HIGH, STRUCTURE) if _der_sequence_ok(raw) else None
    return Verdict(Severity.CRITICAL, STRUCTURE) if _der_sequence_ok(raw) else None


class PrivateKeyDetector(Detector):
    rule = PRIVATE_KEY
    secret_type = "Private key"
    keywords = ("private key", "putty-user-key-file")
    multiline = True

    def find(self, text: str, path: str = "") -> Iterator[Candidate]:
        for m in _BLOCK_RE.finditer(text):
            kind = (m.group("kind") or "").strip()
            verdict = body_verdict(kind, m.group("body"))
            if verdict is not None:
                yield Candidate(m.start("body"), m.end(), _BODY_NOISE_RE.sub("", m.group("body")), verdict)
        for m in _PUTTY_RE.finditer(text):
            yield Candidate(m.start("body"), m.end(), m.group("body"), Verdict(Severity.CRITICAL, STRUCTURE))


DETECTORS: tuple[Detector, ...] = (PrivateKeyDetector(),)
