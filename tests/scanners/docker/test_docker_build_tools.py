"""docker/build-tools-in-final-stage."""

from __future__ import annotations

from tests.scanners.docker.docker_support import RULES, lines, scan

RULE = "docker/build-tools-in-final-stage"


def test_compiler_and_headers_left_in_the_final_image() -> None:
    found = scan(RULES / "build-tools.Dockerfile")
    assert lines(found, RULE) == [2]
    (f,) = [f for f in found if f.rule_id == RULE]
    assert f.properties["packages"] == ["gcc", "libpq-dev"]


def test_removed_again_or_in_a_builder_stage_or_a_dev_image() -> None:
    assert lines(scan(RULES / "build-tools-cleaned.Dockerfile"), RULE) == []
    assert lines(scan(RULES / "root-user-distroless.Dockerfile"), RULE) == []
    assert lines(scan(RULES / "full-base-devenv.Dockerfile"), RULE) == []
