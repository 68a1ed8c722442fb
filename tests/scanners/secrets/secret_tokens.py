"""Synthetic credentials in each provider's real format, generated at test time
(valid checksums where the format has one), so no real-looking key is committed."""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
import zlib
from pathlib import Path

from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.secrets.checksums import base36_encode, base62_encode
from aisec_ci.scanners.secrets.scanner import SecretsScanner
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


class TokenFactory:
    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def crc_token(self, prefix: str) -> str:
        body = self.chars(ALNUM, 30)
        return f"{prefix}_{body}{base62_encode(zlib.crc32(body.encode()), 6)}"

    def github(self, kind: str = "ghp") -> str:
        return self.crc_token(kind)

    def github_bad_checksum(self) -> str:
        tok = self.github()
        last = tok[-1]
        return tok[:-1] + ("A" if last != "A" else "B")

    def npm(self) -> str:
        return self.crc_token("npm")

    def openai(self) -> str:
        return "sk-proj-" + self.chars(ALNUM + "_-", 74) + "T3BlbkFJ" + self.chars(ALNUM + "_-", 74)

    def anthropic(self) -> str:
        return "sk-ant-api03-" + self.chars(ALNUM + "_-", 93) + "AA"

    def huggingface(self) -> str:
        return "hf_" + self.chars(string.ascii_letters, 34)

    def replicate(self) -> str:
        return "r8_" + self.chars(ALNUM, 37)

    def groq(self) -> str:
        return "gsk_" + self.chars(ALNUM, 52)

    def perplexity(self) -> str:
        return "pplx-" + self.chars(ALNUM, 48)

    def google(self) -> str:
        return "AIzaSy" + self.chars(ALNUM + "_-", 33)

    def langsmith(self) -> str:
        return f"lsv2_pt_{self.chars(HEX, 32)}_{self.chars(HEX, 10)}"

    def pinecone(self) -> str:
        return f"pcsk_{self.chars(ALNUM, 5)}_{self.chars(ALNUM, 63)}"

    def hex(self, n: int) -> str:
        return self.chars(HEX, n)

    def alnum(self, n: int) -> str:
        return self.chars(ALNUM, n)

    def databricks(self) -> str:
        return "dapi" + self.hex(32)

    def gitlab(self) -> str:
        return "glpat-" + self.chars(ALNUM + "_-", 20)

    def gitlab_routable(self, org: int = 24, checksum_ok: bool = True) -> str:
        """GitLab's routable layout: base64url(routing lines + 16 random bytes + their count),
        `.`, the payload length in 2 base36 digits, then the CRC32 of all that in 7 base36 digits."""
        random_bytes = self.rng.randbytes(16)
        raw = f"c:1\no:{org:x}".encode() + random_bytes + bytes([len(random_bytes)])
        payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        head = f"glpat-{payload}.{base36_encode(len(payload), 2)}"
        crc = zlib.crc32(head.encode()) ^ (0 if checksum_ok else 1)
        return head + base36_encode(crc, 7)

    def aws_key_id(self) -> str:
        return "AKIA" + self.chars(string.ascii_uppercase + "234567", 16)

    def aws_secret(self) -> str:
        return self.chars(ALNUM, 30) + "7" + self.chars(ALNUM + "/+", 8) + "q"

    def azure_storage_key(self) -> str:
        return base64.b64encode(self.rng.randbytes(64)).decode()

    def slack(self) -> str:
        return f"xoxb-{self.chars(string.digits, 12)}-{self.chars(string.digits, 13)}-{self.chars(ALNUM, 24)}"

    def stripe(self) -> str:
        return "sk_live_" + self.chars(ALNUM, 24)

    def pypi(self) -> str:
        ident = json.dumps(
            {"version": 1, "permissions": "user", "nonce": str(uuid.UUID(int=self.rng.getrandbits(128)))}
        )
        caveat = b'{"permissions": "user", "version": 1}'
        raw = (
            b"\x02\x01\x08pypi.org\x02"
            + bytes([len(ident)])
            + ident.encode()
            + b"\x00"
            + b"\x02"
            + bytes([len(caveat)])
            + caveat
            + b"\x00\x00\x06\x20"
            + self.rng.randbytes(32)
        )
        return "pypi-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def jwt(self) -> str:
        def part(obj: object) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

        sig = base64.urlsafe_b64encode(self.rng.randbytes(32)).decode().rstrip("=")
        return part({"alg": "HS256", "typ": "JWT"}) + "." + part({"sub": "svc-ingest", "iat": 1700000000}) + "." + sig

    def rsa_pem_body(self) -> str:
        """A DER SEQUENCE of random content: structurally a key, usable by nobody."""
        content = b"\x02\x01\x00" + self.rng.randbytes(1190)
        der = b"\x30\x82" + len(content).to_bytes(2, "big") + content
        b64 = base64.b64encode(der).decode()
        return "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))

    def rsa_pem(self) -> str:
        return f"-----BEGIN RSA PRIVATE KEY-----\n{self.rsa_pem_body()}\n-----END RSA PRIVATE KEY-----"


def scanner(**options: object) -> SecretsScanner:
    return SecretsScanner(ScanContext(root=Path("/"), options=options))


def scan_path(path: Path, kind: FileKind, rel: str | None = None, **options: object) -> list:  # type: ignore[type-arg]
    f = SourceFile(path=rel or path.name, abspath=path, kind=kind, size=path.stat().st_size)
    return list(scanner(**options).scan_file(f))


def render(template: Path, dest: Path, values: dict[str, str]) -> Path:
    text = template.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("@@" + key + "@@", value)
    assert "@@" not in text, f"unfilled marker in {template.name}"
    dest.write_text(text, encoding="utf-8")
    return dest
