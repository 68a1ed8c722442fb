"""compose/ml-service-exposed."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.docker.docker_support import COMPOSE, lines, scan, write

RULE = "compose/ml-service-exposed"


def test_services_recognised_by_image_command_and_name() -> None:
    found = [f for f in scan(COMPOSE / "docker-compose.yml") if f.rule_id == RULE]
    assert sorted((f.start_line, f.properties["service_type"]) for f in found) == [
        (16, "MLflow"),
        (26, "Jupyter"),
        (49, "Redis"),  # long syntax without host_ip; the 127.0.0.1 entry is fine
        (61, "Postgres"),
        (75, "TensorBoard"),  # built locally, recognised by its command
    ]


def test_loopback_and_non_ml_services_are_fine() -> None:
    assert lines(scan(COMPOSE / "compose.hardened.yaml"), RULE) == []


def test_port_forms(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "services:\n"
        "  ray:\n"
        "    image: rayproject/ray:2.9.0\n"
        "    ports:\n"
        '      - "8265"\n'
        '      - "127.0.0.1:6379:6379"\n'
        '      - "[::]:10001:10001"\n'
        '      - "${BIND_ADDR:-127.0.0.1}:8000:8000"\n'
        "      - 9090:9090/tcp\n",
        "docker-compose.yml",
    )
    assert lines(scan(path), RULE) == [5, 7, 9]
