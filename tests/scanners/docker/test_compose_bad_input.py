"""Compose files that are not valid or are built to exhaust the parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.scanners.base import ScanContext, SkipFile
from aisec_ci.scanners.docker import SCANNER
from aisec_ci.scanners.docker.compose_yaml import NodeBudget
from aisec_ci.yamlfile import stream
from tests.call_budget import count_calls
from tests.scanners.docker.docker_support import COMPOSE, scan, source, write


def _scan_raw(path: Path) -> list[object]:
    scanner = SCANNER(ScanContext(root=path.parent))
    return list(scanner.scan_file(source(path)))


def test_invalid_yaml_is_skipped_naming_the_line() -> None:
    with pytest.raises(SkipFile, match=r"invalid YAML at line 6"):
        _scan_raw(COMPOSE / "docker-compose.invalid.yml")


def test_alias_bomb_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Refused up front by the shared YAML budget, like the same file as a manifest or a
    # workflow: listed as skipped with the reason, not read as a file without findings.
    # Measuring it visits each node of the file once (naively: more than 200,000 visits),
    # and the compose walk never starts.
    path = COMPOSE / "docker-compose.bomb.yml"
    measured = count_calls(monkeypatch, stream._Sizer, "_size", limit=len(path.read_text()))
    walked = count_calls(monkeypatch, NodeBudget, "spend")
    with pytest.raises(SkipFile, match=r"aliases expand \d+ nodes .*alias bomb"):
        _scan_raw(path)
    assert 0 < measured.calls <= len(path.read_text())
    assert walked.calls == 0


def test_merge_key_bomb_is_walked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Merged mappings are built once per node, so ten-fold fan-out per level stays linear:
    # each merge is measured and walked a bounded number of times per byte of the file,
    # where expanding it would take 10^12 steps.
    path = COMPOSE / "docker-compose.merge-bomb.yml"
    size = len(path.read_text())
    budgets = [
        count_calls(monkeypatch, stream._Sizer, "_size", limit=size),
        count_calls(monkeypatch, stream._Sizer, "_merged", limit=size),
        count_calls(monkeypatch, NodeBudget, "items", limit=size),
    ]
    found = _scan_raw(path)
    assert [(f.rule_id, f.start_line) for f in found] == [("compose/privileged", 2)]  # type: ignore[attr-defined]
    assert all(0 < b.calls <= size for b in budgets), [b.calls for b in budgets]


def test_walk_budget_stops_repeated_expansion_of_a_large_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One 20,000-entry list (a small file) read by 500 services: 10 million visits if walked naively.
    big = "x-volumes: &volumes [" + ", ".join(f"./d{n}:/d{n}" for n in range(20_000)) + "]\nservices:\n"
    services = "".join(f"  worker{i}:\n    image: nginx:1.27.0\n    volumes: *volumes\n" for i in range(500))
    path = write(tmp_path, big + services, "docker-compose.yml")
    # Each distinct node is measured once, each alias once more: about 23,000 visits.
    measured = count_calls(monkeypatch, stream._Sizer, "_size", limit=20_000 + 10 * 500)
    walked = count_calls(monkeypatch, NodeBudget, "spend")
    with pytest.raises(SkipFile, match="alias bomb"):
        _scan_raw(path)
    assert measured.calls > 20_000 and walked.calls == 0


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
