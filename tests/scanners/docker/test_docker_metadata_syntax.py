"""docker/missing-healthcheck, docker/missing-oci-labels, docker/maintainer-deprecated (off by default)
and docker/invalid-instruction."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.scanners.base import ScanContext, SkipFile
from aisec_ci.scanners.docker import SCANNER
from tests.scanners.docker.docker_support import FIXTURES, RULES, hits, lines, scan, source, write


def test_metadata_rules_are_strict_profile_hygiene(tmp_path: Path) -> None:
    rules = {r.id: r for r in SCANNER.rules}
    for rule_id in ("docker/missing-healthcheck", "docker/missing-oci-labels", "docker/maintainer-deprecated"):
        assert rules[rule_id].profile == "strict"
        assert rules[rule_id].severity.label == "info"
    path = write(tmp_path, "FROM python:3.11.9-slim\nMAINTAINER ml@example.com\nUSER 1\n")
    found = scan(path, include_disabled=True)
    assert {
        ("docker/missing-healthcheck", 1),
        ("docker/missing-oci-labels", 1),
        ("docker/maintainer-deprecated", 2),
    } <= hits(found)
    assert hits(scan(FIXTURES / "hardened" / "Dockerfile", include_disabled=True)) == set()


def test_invalid_instructions() -> None:
    found = scan(RULES / "syntax.Dockerfile")
    assert lines(found, "docker/invalid-instruction") == [3, 4, 5]
    assert lines(scan(RULES / "no-from.Dockerfile"), "docker/invalid-instruction") == [2]


def test_comment_only_dockerfile_is_skipped_with_a_reason() -> None:
    path = RULES / "comments-only.Dockerfile"
    scanner = SCANNER(ScanContext(root=path.parent))
    with pytest.raises(SkipFile, match="only comments"):
        list(scanner.scan_file(source(path)))


def test_unknown_instructions_are_capped(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM alpine:3.20\n" + "{{ template }}\n" * 500 + "USER 1\n")
    assert len(lines(scan(path), "docker/invalid-instruction")) == 20
