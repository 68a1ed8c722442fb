"""Model files the CLI used to miss or choke on (issue 17): pickles told by content,
malformed files that were silent, and pickles without STOP that cost unbounded work."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_env, run_cli, write_tree

EXEC = "models/pickle-code-execution"
MALFORMED = "models/malformed-model"
UNSCANNABLE = "models/unscannable-container"

TEXT_PICKLE = b"cos\nsystem\n(S'echo pwned'\ntR."


def scan(root: Path, *extra: str) -> dict[str, Any]:
    proc = run_cli("scan", root, "--scanners", "models", "--no-git", "--quiet", "--format", "json", *extra)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def by_path(report: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for f in report["findings"]:
        out.setdefault(f["path"], []).append((f["rule_id"], f["severity"]))
    return out


def safetensors(header: dict[str, Any], data: bytes, *, header_len: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    if header_len is not None:
        raw = raw.ljust(header_len)  # the format allows trailing spaces in the header
    return struct.pack("<Q", len(raw)) + raw + data


def test_protocol_0_pickles_are_found_by_content_and_text_stays_text(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "model.p": TEXT_PICKLE,
            "config.json": TEXT_PICKLE,
            "conf/config.json": '{"model_type": "bert", "hidden_size": 768}\n',
            "build.txt": "cd build\ncmake ..\nmake -j4\n",
            "swap.py": "(a, b) = (1, 2)\nprint(a, b)\n",
            "cities.csv": "city,population\nParis,2100000\nLyon,516000\n",
        },
    )
    report = scan(tmp_path)
    found = by_path(report)
    assert (EXEC, "critical") in found["model.p"]
    assert (EXEC, "critical") in found["config.json"]
    assert set(found) == {"model.p", "config.json"}
    # The look-alikes stay text: the models scanner does not even receive them.
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert skipped["conf/config.json"] == "no enabled scanner handles json files"
    for path in ("build.txt", "cities.csv"):
        assert skipped[path] == "no enabled scanner handles text files"
    assert "python" in skipped["swap.py"]


def test_malformed_models_are_findings_not_silence(tmp_path: Path) -> None:
    zeros = b"\x00" * 4096
    ok = safetensors({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 8)
    write_tree(
        tmp_path,
        {
            "huge-header.safetensors": struct.pack("<Q", 1 << 63) + b'{"w": {}}',
            "short.safetensors": struct.pack("<Q", 1 << 20) + b'{"w": {}}',
            "model.safetensors": zeros,
            "weights.pt": zeros,
            "model.pkl": zeros,
            "empty.pkl": b"",
            # header lengths whose low byte reads as PROTO 2 (0x280) or a zlib header (0x178)
            "proto.safetensors": safetensors(
                {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 8, header_len=0x280
            ),
            "zlib.safetensors": safetensors(
                {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 8, header_len=0x178
            ),
            "ok.safetensors": ok,
            "proto-named.bin": safetensors({}, b"", header_len=0x280),
        },
    )
    found = by_path(scan(tmp_path))
    for path in ("huge-header.safetensors", "short.safetensors", "model.safetensors", "weights.pt", "model.pkl"):
        assert found.get(path) == [(MALFORMED, "medium")], path
    assert found.get("empty.pkl") == [(MALFORMED, "info")]
    for path in ("proto.safetensors", "zlib.safetensors", "ok.safetensors", "proto-named.bin"):
        assert path not in found, (path, found.get(path))


def test_safetensors_name_is_never_read_as_a_pickle(tmp_path: Path) -> None:
    # Not valid safetensors (the header length runs past the end) and starting
    # 80 02 like a pickle that breaks at once: one safetensors finding, no pickle one.
    write_tree(tmp_path, {"model.safetensors": struct.pack("<Q", 0x280) + b'{"w": 1}'})
    report = scan(tmp_path)
    assert [(f["rule_id"], f["message"]) for f in report["findings"]] == [
        (MALFORMED, "safetensors: header length 640 is more than the file holds (16 bytes)")
    ]


@pytest.mark.parametrize(
    "unit",
    [b"N", b"(", b"(0", b"\x8c\x05hello", b"Vab\n"],
    ids=["none", "marks", "mark-pop", "short-strings", "unicode-lines"],
)
def test_a_pickle_without_stop_costs_bounded_time_and_memory(tmp_path: Path, unit: bytes) -> None:
    size = 40 << 20
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04" + unit * (size // len(unit)))
    report, cpu, max_rss = measured_scan(tmp_path)
    # CPU seconds, not wall time: the bound is the work done, whatever else the machine runs.
    assert cpu < 10
    # The machine's own budget is 160 MB of estimated values; before it, 5M opcodes kept ~380 MB.
    assert max_rss < 300 << 20
    messages = [f["message"] for f in report["findings"] if f["rule_id"] == UNSCANNABLE]
    assert len(messages) == 1 and "was not fully analysed" in messages[0]
    assert "opcodes" in messages[0] or "MB to emulate" in messages[0]


_MEASURE = """
import resource, subprocess, sys
proc = subprocess.run([sys.executable, "-m", "aisec_ci", *sys.argv[1:]], capture_output=True, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(proc.stderr)
print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)
print(proc.stdout)
"""


def measured_scan(root: Path) -> tuple[dict[str, Any], float, int]:
    """Scan through a wrapper process, so the resources measured are this scan's alone."""
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, "scan", str(root), "--scanners", "models", "--no-git", "-q", "-f", "json"],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    figures, _, stdout = proc.stdout.partition("\n")
    cpu, rss = figures.split()
    return json.loads(stdout), float(cpu), int(rss)
