"""The scanner as a whole: registration, rule help, options schema, whole-file results, speed."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from aisec_ci.scanners import registry
from aisec_ci.scanners.docker import SCANNER
from aisec_ci.workspace.kinds import FileKind
from tests.call_budget import assert_linear
from tests.scanners.docker.docker_support import FIXTURES, hits, scan, write


def test_registered_with_its_rules_in_the_catalog() -> None:
    assert registry.all_scanners()["docker"] is SCANNER
    catalog = registry.catalog()
    for rule in SCANNER.rules:
        assert catalog.get(rule.id) == rule
    assert SCANNER.kinds == frozenset({FileKind.DOCKERFILE, FileKind.COMPOSE, FileKind.DOCKERIGNORE})


def test_every_rule_has_full_help() -> None:
    ids = [r.id for r in SCANNER.rules]
    assert len(ids) == len(set(ids))
    for rule in SCANNER.rules:
        assert rule.family in ("docker", "compose"), rule.id
        assert rule.what and rule.why and rule.example and rule.fix, rule.id
        assert rule.example_language in ("dockerfile", "yaml"), rule.id
        assert rule.tags, rule.id
        assert "## Why is this bad?" in rule.help_markdown()


def test_parity_and_gap_rules_exist() -> None:
    ids = {r.id for r in SCANNER.rules}
    expected = {
        "docker/root-user",  # D1
        "docker/unpinned-base-image",  # D3
        "docker/base-image-not-digest-pinned",  # D4
        "docker/full-base-image",  # D5
        "docker/curl-pipe-shell",  # D6
        "docker/secret-in-env",  # D7
        "docker/tls-verification-disabled",  # D8
        "docker/unsigned-packages",  # D9
        "docker/apt-unpinned",  # D10
        "docker/pip-unpinned",  # D11
        "docker/pip-extra-index-url",
        "docker/insecure-package-index",
        "docker/add-instead-of-copy",  # D13
        "docker/add-remote-without-checksum",
        "docker/sudo-in-run",  # D14
        "docker/build-tools-in-final-stage",  # D17
        "docker/relative-workdir",  # D18
        "docker/broad-copy-context",
        "docker/missing-healthcheck",  # D16, off by default
        "docker/disallowed-registry",  # D23
        "compose/privileged",
        "compose/host-namespace",
        "compose/docker-socket-mount",
        "compose/sensitive-host-mount",
        "compose/dangerous-capability",
        "compose/secret-in-environment",
        "compose/ml-service-exposed",
    }
    assert expected <= ids


def test_options_schema() -> None:
    schema = SCANNER.options_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    good = {
        "allowed_registries": ["nvcr.io", "ghcr.io/acme"],
        "root_allowlist": [{"image": "nvcr.io/nvidia/k8s-device-plugin*", "reason": "device plugin needs /dev"}],
        "digest_exempt_images": ["python:*"],
        "allowed_extra_index_urls": ["https://download.pytorch.org/whl"],
        "check_build_context": False,
    }
    jsonschema.validate(good, schema)
    for bad in (
        {"root_allowlist": [{"image": "x"}]},
        {"root_allowlist": [{"image": "x", "reason": ""}]},
        {"allowed_registry": ["nvcr.io"]},
        {"allowed_registries": "nvcr.io"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_kitchen_sink_exact() -> None:
    found = scan(FIXTURES / "kitchen-sink" / "Dockerfile")
    assert hits(found) == {
        ("docker/root-user", 4),
        ("docker/base-image-not-digest-pinned", 4),
        ("docker/full-base-image", 4),
        ("docker/secret-build-arg", 6),
        ("docker/secret-in-env", 7),
        ("docker/tls-verification-disabled", 8),
        ("docker/apt-lists-not-removed", 11),
        ("docker/apt-unpinned", 12),
        ("docker/apt-install-recommends", 12),
        ("docker/build-tools-in-final-stage", 12),
        ("docker/curl-pipe-shell", 14),
        ("docker/sudo-in-run", 14),
        ("docker/tls-verification-disabled", 15),
        ("docker/unsigned-packages", 16),  # and line 17 of the same RUN: one finding
        ("docker/apt-unpinned", 17),
        ("docker/apt-lists-not-removed", 17),
        ("docker/pip-unpinned", 19),
        ("docker/pip-cache", 19),
        ("docker/pip-extra-index-url", 19),
        ("docker/insecure-package-index", 19),
        ("docker/pip-unpinned", 22),
        ("docker/pip-cache", 22),
        ("docker/insecure-package-index", 22),
        ("docker/cd-instead-of-workdir", 22),
        ("docker/add-remote-without-checksum", 24),
        ("docker/add-instead-of-copy", 25),
        ("docker/relative-workdir", 26),
        ("docker/broad-copy-context", 27),
    }
    # Findings are deterministic and carry the path they were given.
    again = scan(FIXTURES / "kitchen-sink" / "Dockerfile")
    assert [f.to_dict() for f in found] == [f.to_dict() for f in again]
    assert {f.path for f in found} == {"Dockerfile"}


def test_hardened_dockerfile_is_clean() -> None:
    assert scan(FIXTURES / "hardened" / "Dockerfile", include_disabled=True) == []


def _long_dockerfile(tmp_path: Path, n: int) -> Path:
    body = "".join(
        f"RUN apt-get update && apt-get install -y --no-install-recommends pkg{i}=1.0 \\\n"
        f"    && pip install --no-cache-dir lib{i}==1.0 && rm -rf /var/lib/apt/lists/*\n"
        for i in range(n)
    )
    return write(tmp_path, "FROM python:3.11.9-slim\n" + body + "USER 1\n", f"Dockerfile.{n}")


def test_large_dockerfile_is_linear(tmp_path: Path) -> None:
    # Work counted, not timed: 4x the instructions must cost about 4x the calls.
    assert_linear(lambda n: scan(_long_dockerfile(tmp_path, n)), 250)
    path = _long_dockerfile(tmp_path, 8_000)
    assert path.stat().st_size > 900_000
    found = scan(path)
    assert {f.rule_id for f in found} == {"docker/base-image-not-digest-pinned"}


def test_one_huge_instruction_is_bounded(tmp_path: Path) -> None:
    # One RUN continued over n lines: joining and splitting it must stay linear in n.
    def one_instruction(n: int) -> None:
        scan(write(tmp_path, "FROM alpine:3.20\nRUN " + "echo x && \\\n  " * n + "true\nUSER 1\n"))

    assert_linear(one_instruction, 500)
    one_instruction(100_000)
