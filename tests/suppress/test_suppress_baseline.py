"""Baseline files: write, read back, and clear errors for broken ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec_ci.errors import ConfigError
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.severity import Severity
from aisec_ci.suppress.baseline import load_baseline, write_baseline

LINES = [
    "FROM python:3.12",
    "USER root",
    'ENV OPENAI_API_KEY="sk-proj-<redacted>"',
]


def sample_findings() -> list[Finding]:
    raw = [
        Finding("docker/root-user", Severity.HIGH, "The image runs as root.", "Dockerfile", start_line=2),
        Finding("secrets/openai-api-key", Severity.CRITICAL, "OpenAI API key sk-p…", "Dockerfile", start_line=3),
        Finding("docker/unpinned-base-image", Severity.MEDIUM, "Base image is not pinned.", "Dockerfile", 1),
    ]
    return assign_fingerprints(raw, LINES)


def test_round_trip(tmp_path: Path) -> None:
    findings = sample_findings()
    path = tmp_path / ".aisec-baseline.json"
    write_baseline(path, findings)
    assert load_baseline(path) == frozenset(f.fingerprint for f in findings)


def test_document_shape_sorted_and_deduplicated(tmp_path: Path) -> None:
    findings = sample_findings()
    path = tmp_path / "bl.json"
    write_baseline(path, [*findings, findings[0]])
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data["version"] == 1 and data["tool"] == "aisec-ci"
    fps = [e["fingerprint"] for e in data["findings"]]
    assert fps == sorted(f.fingerprint for f in findings)
    by_fp = {f.fingerprint: f for f in findings}
    for entry in data["findings"]:
        f = by_fp[entry["fingerprint"]]
        assert entry == {
            "fingerprint": f.fingerprint,
            "rule_id": f.rule_id,
            "path": f.path,
            "start_line": f.start_line,
            "message": f.message,
        }
    # Deterministic: the same findings in another order give the same bytes.
    write_baseline(tmp_path / "again.json", list(reversed(findings)))
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()
    # Non-ASCII stays readable in review diffs.
    assert "sk-p…" in text


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    write_baseline(tmp_path / "bl.json", sample_findings())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bl.json"]


def test_empty_baseline(tmp_path: Path) -> None:
    write_baseline(tmp_path / "bl.json", [])
    assert load_baseline(tmp_path / "bl.json") == frozenset()


def test_finding_without_fingerprint_is_a_bug(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has no fingerprint"):
        write_baseline(tmp_path / "bl.json", [Finding("docker/root-user", Severity.HIGH, "m", "Dockerfile")])
    assert not (tmp_path / "bl.json").exists()


def test_unwritable_location(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")  # a directory cannot be made here
    with pytest.raises(ConfigError, match=r"^baseline .*a-file/bl\.json: cannot write"):
        write_baseline(tmp_path / "a-file" / "bl.json", sample_findings())


def test_a_missing_directory_is_created(tmp_path: Path) -> None:
    write_baseline(tmp_path / "missing" / "bl.json", sample_findings())
    assert load_baseline(tmp_path / "missing" / "bl.json")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ConfigError) as info:
        load_baseline(path)
    assert str(info.value) == f"baseline {path}: file not found (create one with `aisec-ci baseline create`)"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            b'{"version": 1, "tool": "aisec-ci", "findings": [\n  {"fingerprint": "ab"\n',
            "invalid JSON at line 3, column 1",
        ),
        (b"", "invalid JSON at line 1, column 1"),
        (b"[1, 2]", "the top level must be a JSON object"),
        (b'{"version": 2, "findings": []}', "unsupported version 2 (expected 1)"),
        (b'{"findings": []}', "unsupported version None (expected 1)"),
        (b'{"version": 1, "findings": {"a": 1}}', "'findings' must be a list"),
        (b'{"version": 1, "findings": [{"rule_id": "x"}]}', "findings[0] has no 'fingerprint' string"),
        (b'{"version": 1, "findings": ["abc"]}', "findings[0] has no 'fingerprint' string"),
        (b'{"schema_version": 1, "findings": []}', "this is a JSON scan report, not a baseline"),
        (b'{"version": 1, "findings": ["\xff"]}', "not valid UTF-8"),
    ],
)
def test_corrupted_baseline(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bl.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_baseline(path)
    message = str(info.value)
    assert message.startswith(f"baseline {path}: ") and problem in message


def test_baseline_with_bom_and_extra_fields(tmp_path: Path) -> None:
    path = tmp_path / "bl.json"
    doc = {"version": 1, "tool": "aisec-ci", "findings": [{"fingerprint": "abc123", "note": "kept by hand"}]}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    assert load_baseline(path) == frozenset({"abc123"})
