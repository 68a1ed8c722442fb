"""docker/root-user."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.docker.docker_support import RULES, lines, scan, write

RULE = "docker/root-user"


def test_last_user_root_is_reported_on_the_user_line() -> None:
    found = scan(RULES / "root-user-explicit.Dockerfile")
    assert lines(found, RULE) == [6]
    (f,) = [f for f in found if f.rule_id == RULE]
    assert "root" in f.message and f.severity.label == "medium"


def test_user_from_arg_default_resolves_to_root() -> None:
    assert lines(scan(RULES / "root-user-arg.Dockerfile"), RULE) == [4]


def test_no_user_on_the_final_stage_is_reported_on_its_from() -> None:
    found = scan(RULES / "syntax.Dockerfile")
    assert lines(found, RULE) == [1]


def test_user_inherited_from_parent_stage_counts() -> None:
    assert lines(scan(RULES / "root-user-inherited.Dockerfile"), RULE) == []


def test_nonroot_distroless_base_counts_as_non_root() -> None:
    assert lines(scan(RULES / "root-user-distroless.Dockerfile"), RULE) == []


def test_builder_stage_root_does_not_matter(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM golang:1.22.4 AS build\nUSER root\nRUN go build ./...\nFROM scratch\nUSER 65532\n")
    assert lines(scan(path), RULE) == []


def test_unknown_build_arg_user_is_given_the_benefit_of_the_doubt(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM python:3.11.9-slim\nARG APP_UID\nUSER ${APP_UID}\n")
    assert lines(scan(path), RULE) == []


def test_root_allowlist_option(tmp_path: Path) -> None:
    text = "FROM nvcr.io/nvidia/k8s-device-plugin:v0.15.0\nCOPY plugin /plugin\n"
    path = write(tmp_path, text)
    assert lines(scan(path), RULE) == [1]
    allow = {"root_allowlist": [{"image": "nvcr.io/nvidia/k8s-device-plugin*", "reason": "needs /dev access"}]}
    assert lines(scan(path, options=allow), RULE) == []
    other = {"root_allowlist": [{"image": "nvcr.io/nvidia/dcgm-exporter*", "reason": "metrics"}]}
    assert lines(scan(path, options=other), RULE) == [1]
