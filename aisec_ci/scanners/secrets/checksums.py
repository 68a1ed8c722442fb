"""Offline integrity checks of token formats that carry one."""

from __future__ import annotations

import base64
import binascii
import json
import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62_encode(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def crc32_base62(payload: str) -> str:
    """GitHub's token checksum: CRC32 of the random part, base62, left-padded to 6."""
    return base62_encode(zlib.crc32(payload.encode("ascii")), 6)


def has_crc32_suffix(body: str) -> bool:
    """True when `body` (the token without its prefix) is 30 random characters
    followed by their 6-character base62 CRC32, as GitHub and npm tokens are."""
    if len(body) != 36 or not body.isascii():
        return False
    return crc32_base62(body[:30]) == body[30:]


_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36_encode(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 36)
        digits.append(_BASE36[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def gitlab_routable_checksum(token: str) -> bool | None:
    """GitLab routable tokens (`glpat-<base64url payload>.<2 base36: payload length><7 base36: CRC32>`,
    the CRC32 taken over everything before it, prefix included). True when the
    checksum holds, False when the token has this layout but a wrong checksum,
    None when it is not in this layout (legacy 20-character tokens)."""
    head, dot, tail = token.rpartition(".")
    if not dot or len(tail) != 9 or not all(c in _BASE36 for c in tail):
        return None
    payload = head.split("-", 1)[1] if "-" in head else ""
    if not payload or int(tail[:2], 36) != len(payload):
        return None
    return base36_encode(zlib.crc32(f"{head}.{tail[:2]}".encode("ascii")), 7) == tail[2:]


def b64url_decode(text: str) -> bytes | None:
    """Decode unpadded base64url; None when it is not valid base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def b64_decode(text: str) -> bytes | None:
    """Decode standard base64 (padding optional, no junk characters)."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def jwt_header(token: str) -> dict[str, object] | None:
    """The decoded JOSE header of a JWT, or None when the first part is not a
    base64url JSON object that names an `alg`."""
    head = token.split(".", 1)[0]
    raw = b64url_decode(head)
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("alg"), str):
        return None
    return data


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while True:
        if pos >= len(data) or shift > 28:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _macaroon_section(data: bytes, pos: int) -> tuple[dict[int, bytes], int]:
    """One v2 section: fields until an end-of-section byte (0)."""
    fields: dict[int, bytes] = {}
    while True:
        if pos >= len(data):
            raise ValueError("section not terminated")
        ftype, pos = _varint(data, pos)
        if ftype == 0:
            return fields, pos
        length, pos = _varint(data, pos)
        if pos + length > len(data):
            raise ValueError("field overruns the token")
        fields[ftype] = data[pos : pos + length]
        pos += length


PYPI_LOCATIONS = (b"pypi.org", b"test.pypi.org")


def pypi_macaroon_location(token_body: str) -> str | None:
    """Parse the macaroon (v2 binary) inside a `pypi-` token; return its location
    when the whole structure decodes (header, caveats, 32-byte signature) and the
    location is PyPI's, else None."""
    raw = b64url_decode(token_body)
    if raw is None or len(raw) < 40 or raw[0] != 2:
        return None
    try:
        header, pos = _macaroon_section(raw, 1)
        location = header.get(1)
        if location not in PYPI_LOCATIONS or not header.get(2):
            return None
        # Caveat sections follow, each ended by 0; an empty section ends the list.
        for _ in range(256):
            section, pos = _macaroon_section(raw, pos)
            if not section:
                break
        ftype, pos = _varint(raw, pos)
        length, pos = _varint(raw, pos)
        if ftype != 6 or length != 32 or pos + length != len(raw):
            return None
    except ValueError:
        return None
    return location.decode("ascii")
