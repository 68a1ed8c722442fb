"""Keep credentials out of snippets, messages and keys built from Dockerfile and Compose text."""

from __future__ import annotations

import re

from aisec_ci.scanners.docker.secretnames import is_secret_name

_USERINFO = re.compile(r"(?<=://)[^/@\s'\"]+@")
_AUTH_HEADER = re.compile(r"(?i)(authorization:\s*(?:bearer|basic|token)\s+|private-token:\s*)[^\s'\"]+")
_ASSIGNMENT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s'\"]+)")
_FLAG_VALUE = re.compile(r"(?i)(--(?:password|token|api-key|secret)[= ]\s*)(\"[^\"]*\"|'[^']*'|\S+)")


def redact_url(url: str) -> str:
    """Drop credentials embedded in a URL (`https://user:token@host/` -> `https://***@host/`)."""
    return _USERINFO.sub("***@", url)


def redact_text(text: str) -> str:
    """Mask URL credentials, auth headers, password flags and values of credential-named variables."""
    out = _USERINFO.sub("***@", text)
    out = _AUTH_HEADER.sub(lambda m: m.group(1) + "<redacted>", out)
    out = _FLAG_VALUE.sub(lambda m: m.group(1) + "<redacted>", out)

    def assignment(m: re.Match[str]) -> str:
        value = m.group(3)
        if not is_secret_name(m.group(1)) or value.lstrip("\"'").startswith("$"):
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}<redacted>"

    return _ASSIGNMENT.sub(assignment, out)
