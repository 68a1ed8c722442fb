"""Hard negatives for every filter, and bad input that must not crash or hang."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aisec_ci.scanners.secrets.false_positives import generic_filter_reason, is_placeholder
from aisec_ci.severity import Severity
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.secrets.conftest import FIXTURES
from tests.scanners.secrets.secret_tokens import TokenFactory, scan_path


def test_negatives_file_has_no_findings() -> None:
    findings = scan_path(FIXTURES / "negative" / "negatives.py", FileKind.PYTHON, rel="src/settings.py")
    # AWS's documented example key pair (lines 11-12) is public: listed at info as such, never a leak.
    public = [f for f in findings if f.properties.get("validation") == "public"]
    assert {(f.start_line, f.severity) for f in public} == {(11, Severity.INFO), (12, Severity.INFO)}
    assert all("public value" in f.message and "revoke" not in f.message for f in public)
    assert [(f.start_line, f.rule_id, f.message) for f in findings if f not in public] == []


def test_lock_file_hashes_ignored() -> None:
    assert scan_path(FIXTURES / "negative" / "uv.lock", FileKind.LOCKFILE, rel="uv.lock") == []


@pytest.mark.parametrize(
    ("secret", "line", "reason"),
    [
        ("abcdefghijklmnopqrstuvwxyz", 'password = "abcdefghijklmnopqrstuvwxyz"', "sequential"),
        ("3f1c2b4a-9d8e-4f7a-b6c5-d4e3f2a1b0c9", 'secret = "3f1c2b4a-9d8e-4f7a-b6c5-d4e3f2a1b0c9"', "uuid"),
        ("${DB_PASSWORD}", 'password = "${DB_PASSWORD}"', "template"),
        ("get_secret", "password = get_secret('db')", "indirect reference"),
        ("Zx81mQ0pLrTt", 'user_id = "Zx81mQ0pLrTt"', "id"),
        ("YOUR_TOKEN_HERE", 'token = "YOUR_TOKEN_HERE"', "placeholder"),
        ("{{ .Values.password }}", 'password: "{{ .Values.password }}"', "template"),
        ("DB_PASSWORD_V2", 'password = os.environ["DB_PASSWORD_V2"]', "environment lookup"),
        ("prod-db-pass", 'db_pass = userdata.get("prod-db-pass")', "environment lookup"),
        ("4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39", 'revision = "4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"', "digest"),
        ("********", 'password = "********"', "not alphanumeric"),
        ("Enter the secret", "secret_prompt = 'Enter the secret'", "prose"),
        ("nginxsecret", "secretName: nginxsecret", "id"),
        ("notARealSecretKeyButLong0123", "AWS_SECRET_ACCESS_KEY: notARealSecretKeyButLong0123", "placeholder"),
        ("Pw9{t.alnum(12)}", 'db_password = f"Pw9{t.alnum(12)}"', "template"),
        ("AbcCdDeEFHhKmoOPQrtTuUwxXyYz", '_LETTERS = frozenset("AbcCdDeEFHhKmoOPQrtTuUwxXyYz")', "alphabet"),
        ("private_key", "PRIVATE_KEY = 'private_key'", "placeholder"),
    ],
)
def test_filter_reasons(secret: str, line: str, reason: str) -> None:
    assert generic_filter_reason(secret, line, "Secret keyword") == reason


def test_real_looking_value_passes_filters() -> None:
    assert generic_filter_reason("Zx81mQ0pLrTt", 'password = "Zx81mQ0pLrTt"', "Secret keyword") is None
    # A literal assigned to the environment, or used as a fallback, is still a hard-coded secret.
    assert generic_filter_reason("Zx81mQ0pLrTt", 'os.environ["PASSWORD"] = "Zx81mQ0pLrTt"', "k") is None
    assert generic_filter_reason("Zx81mQ0pLrTt", 'password = os.getenv("P", "Zx81mQ0pLrTt")', "k") is None
    assert not is_placeholder("Zx81mQ0pLrTt")


def test_huge_minified_line_is_bounded(tmp_path: Path) -> None:
    t = TokenFactory(11)
    token = t.groq()
    # 4 MB on one line, dense with prefilter keywords: work must stay bounded per line.
    filler = ('{"password":"x","api_key":"y","token":"sk-' + "a" * 20 + '"},') * 40000
    p = tmp_path / "bundle.min.js"
    p.write_text("var a=[" + filler + '{"k":"' + token + '"}];\n')
    start = time.perf_counter()
    findings = scan_path(p, FileKind.TEXT)
    assert time.perf_counter() - start < 20
    assert [f.rule_id for f in findings if f.rule_id == "secrets/groq-api-key"] == ["secrets/groq-api-key"]
    f = next(f for f in findings if f.rule_id == "secrets/groq-api-key")
    assert len(f.snippet) < 300 and token not in f.snippet


def test_invalid_utf8_and_binaryish_content(tmp_path: Path) -> None:
    t = TokenFactory(12)
    token = t.huggingface()
    p = tmp_path / "weird.txt"
    p.write_bytes(b"\xff\xfe\x00garbage\x80\x81\nHF=" + token.encode() + b"\n\x00\x01\x02")
    [f] = scan_path(p, FileKind.TEXT)
    assert f.rule_id == "secrets/huggingface-token" and f.start_line == 2


def test_line_numbers_follow_splitlines(tmp_path: Path) -> None:
    t = TokenFactory(13)
    token = t.replicate()
    p = tmp_path / "crlf.env"
    p.write_bytes(b"A=1\r\nB=2\rC=3\x0cD=4\r\nR=" + token.encode() + b"\r\n")
    [f] = scan_path(p, FileKind.TEXT)
    assert f.start_line == 5 == len(p.read_bytes().decode().splitlines())


def test_deeply_nested_notebook_does_not_crash(tmp_path: Path) -> None:
    p = tmp_path / "deep.ipynb"
    p.write_text("[" * 5000 + "]" * 5000)
    # Too deep to walk: reported as an unparsed notebook (a note), with no secret findings and no crash.
    [f] = scan_path(p, FileKind.NOTEBOOK)
    assert (f.rule_id, f.severity.label, f.start_line) == ("secrets/unparsed-notebook", "info", 1)
