"""Issue #12: a Dockerfile rule reports at most one finding per instruction, listing what it found.

End to end through the CLI on tests/fixtures/docker/one-per-instruction, plus the invariant over
every Dockerfile fixture and the shared real-world corpus.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from aisec_ci.scanners.docker.parser import parse
from tests.scanners.docker.docker_support import FIXTURES, REALWORLD, REPO, scan, write

FIXTURE = FIXTURES / "one-per-instruction"


def _cli(root: Path, out: Path) -> list[dict[str, Any]]:
    cmd = [sys.executable, "-m", "aisec_ci", "scan", str(root), "--scanners", "docker", "--no-git", "--quiet"]
    cmd += ["--profile", "audit"]  # hygiene rules (apt, pip pins) are in the strict profile
    cmd += ["--format", "json", "--output", str(out), "--fail-on", "none"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    findings: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))["findings"]
    return findings


def _by(findings: list[dict[str, Any]], rule: str) -> dict[int, dict[str, Any]]:
    rows = [f for f in findings if f["rule_id"] == rule]
    by_line = {f["start_line"]: f for f in rows}
    assert len(by_line) == len(rows)
    return by_line


def _fingerprint(rule: str, path: str, key: str, occurrence: int = 0) -> str:
    """The fingerprint contract of aisec_ci/findings.py, spelled out so a change to a key shows here."""
    return hashlib.sha256("\0".join((rule, path, key, str(occurrence))).encode()).hexdigest()[:32]


def test_several_problems_of_one_instruction_are_one_finding(tmp_path: Path) -> None:
    found = _cli(FIXTURE, tmp_path / "out.json")
    apt = _by(found, "docker/apt-unpinned")
    assert sorted(apt) == [11, 17]
    merged = apt[11]
    assert (merged["end_line"], merged["properties"]["occurrences"]) == (13, 3)
    assert merged["properties"]["packages"] == ["ca-certificates", "curl", "git", "wget"]
    assert merged["properties"]["lines"] == [11, 12, 13]
    assert merged["message"] == (
        "3 `apt-get install` commands in this RUN step without version pins: ca-certificates, curl, git, wget."
    )
    pip = _by(found, "docker/pip-unpinned")
    assert list(pip) == [20]
    assert pip[20]["end_line"] == 22
    assert pip[20]["properties"]["packages"] == ["accelerate", "torch", "transformers", "vllm"]
    # `pip install --no-cache-dir vllm` keeps no cache: two of the three installs are reported, once.
    cache = _by(found, "docker/pip-cache")
    assert list(cache) == [20] and cache[20]["properties"]["lines"] == [20, 21]
    tls = _by(found, "docker/tls-verification-disabled")
    assert list(tls) == [24]
    assert tls[24]["properties"]["settings"] == ["`curl --insecure`", "`wget --no-check-certificate`"]
    secrets = _by(found, "docker/secret-in-env")
    assert sorted(secrets) == [5, 7]
    assert secrets[5]["properties"]["variables"] == ["HF_TOKEN", "WANDB_API_KEY"]
    assert secrets[5]["end_line"] == 6
    assert secrets[5]["snippet"] == "ENV HF_TOKEN=<redacted> WANDB_API_KEY=<redacted>"
    assert "`HF_TOKEN`, `WANDB_API_KEY`" in secrets[5]["message"]
    # Nothing of the values reaches the report, merged or not.
    text = (tmp_path / "out.json").read_text(encoding="utf-8")
    assert "not-a-real-token" not in text and "not-a-real-key" not in text


def test_a_lone_finding_keeps_its_message_and_fingerprint(tmp_path: Path) -> None:
    found = _cli(FIXTURE, tmp_path / "out.json")
    htop = _by(found, "docker/apt-unpinned")[17]
    assert htop["message"] == "`apt-get install` without version pins: htop."
    assert "occurrences" not in htop["properties"]
    assert htop["fingerprint"] == _fingerprint("docker/apt-unpinned", "Dockerfile", "apt-unpinned:htop")
    openai = _by(found, "docker/secret-in-env")[7]
    assert openai["fingerprint"] == _fingerprint("docker/secret-in-env", "Dockerfile", "ENV:OPENAI_API_KEY")
    # The merged findings are keyed by their instruction: none reuses the key of one of its items.
    merged = _by(found, "docker/apt-unpinned")[11]
    assert merged["fingerprint"] not in {
        _fingerprint("docker/apt-unpinned", "Dockerfile", f"apt-unpinned:{key}", n)
        for key in ("curl,wget", "git", "ca-certificates")
        for n in (0, 1)
    }


def test_merged_fingerprints_follow_the_instruction_not_its_line(tmp_path: Path) -> None:
    before = {(f["rule_id"], f["start_line"]): f["fingerprint"] for f in _cli(FIXTURE, tmp_path / "a.json")}
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    dockerfile = repo / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    # Three lines above everything, and re-indented continuation lines: the same instructions.
    text = text.replace("FROM python", "# one\n# two\n# three\nFROM python").replace("\n    && ", "\n  && ")
    dockerfile.write_text(text, encoding="utf-8")
    after = {(f["rule_id"], f["start_line"] - 3): f["fingerprint"] for f in _cli(repo, tmp_path / "b.json")}
    assert after == before
    # Another package in the merged RUN is another instruction: only that finding changes.
    dockerfile.write_text(text.replace("curl wget", "curl wget unzip"), encoding="utf-8")
    changed = {(f["rule_id"], f["start_line"] - 3): f["fingerprint"] for f in _cli(repo, tmp_path / "c.json")}
    differ = {k for k in before if changed.get(k) != before[k]}
    # the RUN's other merged-or-lone findings are keyed without that text, except build tools (keyed by names)
    assert ("docker/apt-unpinned", 11) in differ
    assert ("docker/apt-unpinned", 17) not in differ
    assert ("docker/secret-in-env", 5) not in differ


def test_the_full_list_is_in_the_properties_when_the_message_shortens_it(tmp_path: Path) -> None:
    names = [f"lib{i}" for i in range(12)]
    body = (
        "FROM debian:12.6\n"
        f"RUN apt-get install -y --no-install-recommends {' '.join(names[:6])} \\\n"
        f"    && apt-get install -y --no-install-recommends {' '.join(names[6:])}\n"
        "USER 10001\n"
    )
    [f] = [f for f in scan(write(tmp_path, body)) if f.rule_id == "docker/apt-unpinned"]
    assert f.properties["packages"] == sorted(names)
    assert "and 4 more" in f.message


def test_onbuild_and_start_commands_merge_per_instruction(tmp_path: Path) -> None:
    body = (
        "FROM python:3.11.9-slim\n"
        "ONBUILD RUN pip install flask && pip install gunicorn\n"
        "HEALTHCHECK CMD curl -k https://a.example/ && wget --no-check-certificate -qO- https://b.example/ || exit 1\n"
        "USER 10001\n"
    )
    found = scan(write(tmp_path, body))
    [pip] = [f for f in found if f.rule_id == "docker/pip-unpinned"]
    assert (pip.start_line, pip.properties["packages"]) == (2, ["flask", "gunicorn"])
    [tls] = [f for f in found if f.rule_id == "docker/tls-verification-disabled"]
    assert tls.start_line == 3 and "in HEALTHCHECK" in tls.message


def _dockerfiles() -> list[tuple[Path, Path]]:
    out = [
        (p, p.parent)
        for p in sorted(FIXTURES.rglob("*"))
        if p.is_file() and "ockerfile" in p.name and not p.name.endswith("dockerignore")
    ]
    corpus = REALWORLD / "dockerfiles"
    if corpus.is_dir():
        out += [(p, corpus) for p in sorted(corpus.rglob("*")) if p.is_file()]
    return out


@pytest.mark.parametrize("path,root", _dockerfiles(), ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_no_rule_reports_one_instruction_twice(path: Path, root: Path) -> None:
    instructions = parse(path.read_text(encoding="utf-8", errors="replace")).instructions
    if not instructions:
        pytest.skip("comments only: the scanner skips the file")

    def instruction(line: int) -> int:
        starts = [i.start_line for i in instructions if i.start_line <= line <= i.end_line]
        return starts[-1] if starts else line

    counts = Counter((f.rule_id, instruction(f.start_line)) for f in scan(path, root=root, include_disabled=True))
    assert [k for k, n in counts.items() if n > 1 and k[0].startswith("docker/")] == []
