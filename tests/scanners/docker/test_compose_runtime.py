"""compose/privileged, host-namespace, docker-socket-mount, sensitive-host-mount, dangerous-capability,
security-profile-disabled."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.docker.docker_support import COMPOSE, hits, scan, write


def test_ml_platform_compose() -> None:
    found = scan(COMPOSE / "docker-compose.yml")
    assert hits(found, "compose/") - hits(found, "compose/secret") - hits(found, "compose/ml-service") == {
        ("compose/docker-socket-mount", 29),
        ("compose/host-namespace", 37),
        ("compose/host-namespace", 38),
        ("compose/privileged", 39),
        ("compose/dangerous-capability", 41),
        ("compose/security-profile-disabled", 44),
        ("compose/sensitive-host-mount", 63),
    }
    (cap,) = [f for f in found if f.rule_id == "compose/dangerous-capability"]
    assert cap.properties["capability"] == "SYS_ADMIN" and cap.start_column == 9


def test_hardened_compose_is_clean() -> None:
    assert scan(COMPOSE / "compose.hardened.yaml") == []


def test_merge_keys_and_overrides() -> None:
    found = scan(COMPOSE / "docker-compose.anchors.yml")
    runtime = {(f.rule_id, f.start_line, f.message.split("`")[1]) for f in found if "secret" not in f.rule_id}
    # The evaluator overrides `privileged: false` and does not merge `pid: host`.
    assert runtime == {("compose/privileged", 3, "trainer"), ("compose/host-namespace", 8, "trainer")}


def test_compose_v1_layout() -> None:
    found = scan(COMPOSE / "docker-compose.v1.yml")
    assert hits(found) == {("compose/privileged", 6), ("compose/ml-service-exposed", 5)}


def test_read_only_socket_is_still_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "services:\n  agent:\n    image: portainer/agent:2.20.3\n    volumes:\n"
        "      - /run/docker.sock:/var/run/docker.sock:ro\n      - /etc:/host/etc:ro\n      - data:/data\n",
        "compose.yaml",
    )
    assert hits(scan(path)) == {("compose/docker-socket-mount", 5), ("compose/sensitive-host-mount", 6)}
