"""One level of base64 where the structure says the value is a secret:
Kubernetes `Secret` data and Docker config `auths[*].auth`.

The decoded value is rendered as `key = "value"` so the same detectors (and
detect-secrets' keyword plugin) judge it; findings point at the encoded line.
"""

from __future__ import annotations

import re

from aisec_ci.scanners.secrets.checksums import b64_decode
from aisec_ci.scanners.secrets.segments import Segment, json_string_items

_K8S_SECRET_RE = re.compile(r"^kind:\s*[\"']?Secret[\"']?\s*$", re.MULTILINE)
_DATA_HEADER_RE = re.compile(r"^(?P<indent>\s*)(?:data|binaryData):\s*$")
_DATA_ITEM_RE = re.compile(
    r"^(?P<indent>\s+)(?P<key>[\w.\-]{1,253}):\s*[\"']?(?P<value>[A-Za-z0-9+/]{4,}={0,2})[\"']?\s*$"
)
MAX_DECODED = 65536


def _printable(raw: bytes) -> str | None:
    if len(raw) > MAX_DECODED:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\n\r\t" for c in text):
        return None
    return text


def _render(key: str, value: str, line: int) -> Segment:
    text = f"{key}:\n{value}\n" if "\n" in value.strip() else f'{key} = "{value.strip()}"\n'
    return Segment(text, [line] * (text.count("\n") + 1), region="decoded", encoding="base64")


def _declares_secret(text: str) -> bool:
    """`_K8S_SECRET_RE.search(text)`, tried only where a line starts with `kind:`: the
    multi-line regex tries every position of a multi-MB bundle."""
    if text.startswith("kind:") and _K8S_SECRET_RE.match(text):
        return True
    at = text.find("\nkind:")
    while at != -1:
        if _K8S_SECRET_RE.match(text, at + 1):
            return True
        at = text.find("\nkind:", at + 1)
    return False


def kubernetes_secret_segments(lines: list[str], text: str) -> list[Segment]:
    if not _declares_secret(text):
        return []
    out: list[Segment] = []
    data_indent: int | None = None
    for number, line in enumerate(lines, start=1):
        if data_indent is None and "ata:" not in line:
            # Outside a data block only a `data:`/`binaryData:` header matters; in a bundle of
            # manifests with one Secret that is nearly every line.
            continue
        if line.strip() == "---":
            data_indent = None
            continue
        header = _DATA_HEADER_RE.match(line)
        if header:
            data_indent = len(header.group("indent"))
            continue
        if data_indent is None or not line.strip() or line.lstrip().startswith("#"):
            continue
        item = _DATA_ITEM_RE.match(line)
        if item is None or len(item.group("indent")) <= data_indent:
            if len(line) - len(line.lstrip()) <= data_indent:
                data_indent = None
            continue
        raw = b64_decode(item.group("value"))
        decoded = _printable(raw) if raw is not None else None
        if decoded:
            out.append(_render(item.group("key"), decoded, number))
    return out


def docker_config_segments(text: str) -> list[Segment]:
    if '"auths"' not in text:
        return []
    out: list[Segment] = []
    counted = 0
    line = 1
    for item in json_string_items(text):
        path = item.path
        if len(path) >= 3 and path[-3] == "auths" and path[-1] == "auth":
            line += text.count("\n", counted, item.offset)
            counted = item.offset
            raw = b64_decode(item.value)
            decoded = _printable(raw) if raw is not None else None
            if decoded and ":" in decoded:
                _user, _, password = decoded.partition(":")
                out.append(_render("password", password, line))
    return out
