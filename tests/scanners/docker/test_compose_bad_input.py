"""Compose files that are not valid or are built to exhaust the parser."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aisec_ci.scanners.base import ScanContext, SkipFile
from aisec_ci.scanners.docker import SCANNER
from tests.scanners.docker.docker_support import COMPOSE, scan, source, write


def _scan_raw(path: Path) -> list[object]:
    scanner = SCANNER(ScanContext(root=path.parent))
    return list(scanner.scan_file(source(path)))


def test_invalid_yaml_is_skipped_naming_the_line() -> None:
    with pytest.raises(SkipFile, match=r"invalid YAML at line 6"):
        _scan_raw(COMPOSE / "docker-compose.invalid.yml")


def test_alias_bomb_is_bounded() -> None:
    # Refused up front by the shared YAML budget, like the same file as a manifest or a
    # workflow: listed as skipped with the reason, not read as a file without findings.
    start = time.perf_counter()
    with pytest.raises(SkipFile, match=r"aliases expand \d+ nodes .*alias bomb"):
        _scan_raw(COMPOSE / "docker-compose.bomb.yml")
    assert time.perf_counter() - start < 10


def test_merge_key_bomb_is_walked_once() -> None:
    # Merged mappings are built once per node, so ten-fold fan-out per level stays linear.
    start = time.perf_counter()
    found = _scan_raw(COMPOSE / "docker-compose.merge-bomb.yml")
    assert time.perf_counter() - start < 10
    assert [(f.rule_id, f.start_line) for f in found] == [("compose/privileged", 2)]  # type: ignore[attr-defined]


def test_walk_budget_stops_repeated_expansion_of_a_large_alias(tmp_path: Path) -> None:
    # One 20,000-entry list (a small file) read by 500 services: 10 million visits if walked naively.
    big = "x-volumes: &volumes [" + ", ".join(f"./d{n}:/d{n}" for n in range(20_000)) + "]\nservices:\n"
    services = "".join(f"  worker{i}:\n    image: nginx:1.27.0\n    volumes: *volumes\n" for i in range(500))
    path = write(tmp_path, big + services, "docker-compose.yml")
    start = time.perf_counter()
    with pytest.raises(SkipFile, match="alias bomb"):
        _scan_raw(path)
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize(
    "text",
    [
        "",
        "--- \n...\n",
        "[1, 2, 3]\n",
        "services: [web, db]\n",
        "services:\n  web: nginx\n",
        "services:\n  web:\n    ports: 8080\n    volumes: /:/host\n    environment: HF_TOKEN=x\n",
        "services:\n  ? [a, b]\n  : {image: redis}\n",
        "services:\n  web:\n    image: !!binary aGVsbG8=\n",
    ],
)
def test_odd_but_valid_shapes_do_not_raise(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text, "docker-compose.yml")
    assert isinstance(scan(path), list)


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"services:\n  x:\n    image: !!python/object/apply:os.system ['touch {marker}']\n    privileged: true\n"
    path = write(tmp_path, text, "compose.yml")
    # Composing keeps the tag on a node; nothing is constructed, so nothing runs.
    found = scan(path)
    assert not marker.exists()
    assert [(f.rule_id, f.start_line) for f in found] == [("compose/privileged", 4)]
