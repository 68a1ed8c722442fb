"""A `pypi-` token is PyPI's only when its macaroon's location is PyPI's own host.

The macaroons are built here byte by byte (v2 binary format: a version byte 2, a
header section of type/length/value fields — 1 location, 2 identifier — ended by 0,
caveat sections each ended by 0, an empty section, then the 32-byte signature, type 6)
so the test does not depend on the token factory it would be checking."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest

from aisec_ci.scanners.secrets.checksums import pypi_macaroon_location
from aisec_ci.severity import Severity
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.secrets.secret_tokens import scan_path


def _field(ftype: int, value: bytes) -> bytes:
    assert len(value) < 128  # one-byte varint lengths keep the builder short
    return bytes([ftype, len(value)]) + value


def macaroon_token(location: bytes, seed: int = 1) -> str:
    ident = json.dumps({"version": 1, "permissions": "user", "nonce": str(uuid.UUID(int=seed))}).encode()
    caveat = b'{"version": 1, "permissions": "user"}'
    raw = (
        b"\x02"
        + _field(1, location)
        + _field(2, ident)
        + b"\x00"
        + _field(2, caveat)
        + b"\x00"
        + b"\x00"
        + bytes([6, 32])
        + bytes(range(seed, seed + 32))
    )
    return "pypi-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


FOREIGN = [b"evil.example.net", b"pypi.org.evil.net", b"notpypi.org", b"pypi.orgx", b"upload.pypi.org", b"PYPI.ORG"]


def test_pypi_org_token_has_the_shape_pypi_issues() -> None:
    # PyPI's tokens all start this way: bytes 02 01 08 "pypi.org".
    assert macaroon_token(b"pypi.org").startswith("pypi-AgEIcHlwaS5vcmc")
    assert pypi_macaroon_location(macaroon_token(b"pypi.org")[len("pypi-") :]) == "pypi.org"


@pytest.mark.parametrize("location", FOREIGN)
def test_foreign_location_is_not_pypi(location: bytes) -> None:
    token = macaroon_token(location)
    assert token.startswith("pypi-AgE")  # still matches the detector's pattern
    assert pypi_macaroon_location(token[len("pypi-") :]) is None


def test_scanner_reports_only_the_pypi_org_token(tmp_path: Path) -> None:
    lines = [f"t{i} = '{macaroon_token(loc, seed=i + 1)}'" for i, loc in enumerate([b"pypi.org", *FOREIGN])]
    path = tmp_path / "tokens.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    findings = scan_path(path, FileKind.TEXT)
    pypi = [
        (f.start_line, f.severity, f.properties["validation"]) for f in findings if f.rule_id == "secrets/pypi-token"
    ]
    assert pypi == [(1, Severity.CRITICAL, "structure")]


def test_test_pypi_index_is_accepted_as_documented() -> None:
    # The rule's published description names `pypi.org` or `test.pypi.org`; TestPyPI
    # tokens are live credentials of PyPI's second index. Pinned so a change is deliberate.
    token = macaroon_token(b"test.pypi.org")
    assert token.startswith("pypi-AgENdGVzdC5weXBpLm9yZw")
    assert pypi_macaroon_location(token[len("pypi-") :]) == "test.pypi.org"
