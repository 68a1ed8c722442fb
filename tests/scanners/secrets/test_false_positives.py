"""Hard negatives for every filter, and bad input that must not crash or hang."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aisec_ci.scanners.secrets.detector import Detector
from aisec_ci.scanners.secrets.engine import MAX_WINDOWS_PER_LINE, WINDOW_AFTER, WINDOW_BEFORE
from aisec_ci.scanners.secrets.false_positives import generic_filter_reason, is_placeholder
from aisec_ci.severity import Severity
from aisec_ci.workspace.kinds import FileKind
from tests.call_budget import assert_linear
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


def _minified(tmp_path: Path, token: str, records: int) -> Path:
    # One line dense with prefilter keywords (40,000 records: 4 MB).
    filler = ('{"password":"x","api_key":"y","token":"sk-' + "a" * 20 + '"},') * records
    p = tmp_path / f"bundle{records}.min.js"
    p.write_text("var a=[" + filler + '{"k":"' + token + '"}];\n')
    return p


def _text_given_to_detectors(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the length of every text a detector searches (each search is one regex call)."""
    sizes: list[int] = []
    classes = [Detector]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if "find" in cls.__dict__:

            def find(self: Detector, text: str, path: str = "", _real: Any = cls.__dict__["find"]) -> Any:
                sizes.append(len(text))
                return _real(self, text, path)

            monkeypatch.setattr(cls, "find", find)
    return sizes


def test_huge_minified_line_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work on one huge line must stay bounded per line: detectors search windows around
    the first prefilter hits, never the whole line. Counted, not timed: the regex work
    is the text handed to detectors, which must be the same for a 2 MB and a 4 MB line,
    and the Python work around it must grow linearly (the wall time of the 4 MB line is
    in bench/pathological.py, secrets-minified-line)."""
    token = TokenFactory(11).groq()
    assert_linear(lambda n: scan_path(_minified(tmp_path, token, n), FileKind.TEXT), 500)
    searched = _text_given_to_detectors(monkeypatch)
    scan_path(_minified(tmp_path, token, 20_000), FileKind.TEXT)
    half = sum(searched)
    searched.clear()
    findings = scan_path(_minified(tmp_path, token, 40_000), FileKind.TEXT)
    assert 0 < sum(searched) == half < 4_000_000
    assert max(searched) <= MAX_WINDOWS_PER_LINE * (WINDOW_BEFORE + WINDOW_AFTER)
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
