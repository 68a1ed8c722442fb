"""Compose `extends:` of a service in a file that is not scanned on its own."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.docker.docker_support import COMPOSE, hits, scan, write

EXTENDS = COMPOSE / "extends"


def test_inherited_problems_are_reported_on_the_extends_line() -> None:
    found = scan(EXTENDS / "docker-compose.yml", root=EXTENDS)
    assert hits(found) == {
        ("compose/host-namespace", 3),
        ("compose/docker-socket-mount", 3),
        ("compose/dangerous-capability", 3),
        ("compose/ml-service-exposed", 9),
    }
    socket = next(f for f in found if f.rule_id == "compose/docker-socket-mount")
    assert socket.path == "docker-compose.yml"
    assert socket.start_column == 5
    assert socket.properties["extends_file"] == "common-services.yml"
    assert socket.properties["extends_service"] == "gpu-base"
    assert socket.properties["base_line"] == 10
    assert socket.message.startswith("Service `trainer` inherits from `gpu-base` in common-services.yml (line 10): ")
    assert socket.snippet == "extends:"


def test_a_scalar_the_service_overrides_is_not_inherited() -> None:
    found = scan(EXTENDS / "docker-compose.yml", root=EXTENDS)
    # `privileged: false` in trainer replaces the base's `privileged: true`.
    assert not [f for f in found if f.rule_id == "compose/privileged"]


def test_missing_outside_and_same_file_references_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(tmp_path, "services:\n  evil:\n    image: x:1\n    privileged: true\n", "outside.yml")
    compose = write(
        root,
        "services:\n"
        "  a:\n    extends:\n      file: ../outside.yml\n      service: evil\n"
        "  b:\n    extends:\n      file: nowhere.yml\n      service: evil\n"
        "  c:\n    extends:\n      file: ${BASE_FILE}\n      service: evil\n",
        "docker-compose.yml",
    )
    assert scan(compose, root=root) == []


def test_a_base_that_is_a_compose_file_is_reported_there_only(tmp_path: Path) -> None:
    write(tmp_path, "services:\n  base:\n    image: x:1\n    privileged: true\n", "compose.base.yaml")
    text = "services:\n  app:\n    extends:\n      file: compose.base.yaml\n      service: base\n"
    compose = write(tmp_path, text, "compose.yaml")
    assert scan(compose, root=tmp_path) == []


def test_an_invalid_or_bomb_base_file_leaves_the_own_findings(tmp_path: Path) -> None:
    write(tmp_path, "services: [unclosed\n", "broken-base.yml")
    bomb = (COMPOSE / "docker-compose.bomb.yml").read_text(encoding="utf-8")
    write(tmp_path, bomb, "bomb-base.yml")
    compose = write(
        tmp_path,
        "services:\n"
        "  app:\n    image: x:1\n    privileged: true\n    extends:\n      file: broken-base.yml\n      service: s\n"
        "  other:\n    extends:\n      file: bomb-base.yml\n      service: app\n",
        "docker-compose.yml",
    )
    assert hits(scan(compose, root=tmp_path)) == {("compose/privileged", 4)}
