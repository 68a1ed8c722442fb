"""Terminal report and the colour policy (TTY, NO_COLOR, FORCE_COLOR)."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator

import pytest

from aisec_ci.findings import Finding
from aisec_ci.report.text import gate_line, render_text, use_color
from aisec_ci.result import ScanResult
from aisec_ci.rules import RuleCatalog
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SkippedFile
from tests.report.report_builders import fixture_result, many_findings

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_grouped_by_severity_critical_first(result: ScanResult, catalog: RuleCatalog) -> None:
    out = render_text(result, catalog, color=False)
    headers = [ln for ln in out.splitlines() if re.fullmatch(r"[A-Z]+ \(\d+\)", ln)]
    assert headers == ["CRITICAL (2)", "HIGH (3)", "MEDIUM (1)"]
    lines = out.splitlines()
    crit = lines.index("CRITICAL (2)")
    assert lines[crit + 1] == (
        "  requirements.txt:2:1  deps/vulnerable-package  torch 1.13.0 has GHSA-pg7h-5qx3-wjr3 "
        "(remote code execution via torch.load); fixed in 2.6.0."
    )
    assert lines[crit + 2] == "      torch==1.13.0"
    # Indented source snippets are dedented under their finding.
    assert "      return pickle.load(fh)" in lines
    assert "\x1b" not in out


def test_summary_sections_and_gate_line(result: ScanResult, catalog: RuleCatalog) -> None:
    out = render_text(result, catalog, color=False)
    assert "Skipped 4 files:" in out
    assert "      2  binary file: assets/banner.png, assets/logo.png" in out
    assert "Suppressed 3 findings: 1 inline, 1 baseline, 1 new-only" in out
    assert "  - The OSV database is 9 days old; run `aisec-ci db update`." in out
    last = out.rstrip("\n").splitlines()[-1]
    assert last == ("6 findings (2 critical, 3 high, 1 medium) in 3 files · gate: FAILED — 5 findings at or above high")


def test_gate_line_variants() -> None:
    low = [f for f in many_findings(10) if f.severity <= Severity.MEDIUM]
    assert gate_line(ScanResult(low)) == "gate: passed (fail-on: high)"
    assert gate_line(ScanResult(many_findings(10), fail_on=None)) == "gate: off (fail-on: none)"
    one = [f for f in many_findings(10) if f.severity is Severity.CRITICAL][:1]
    assert gate_line(ScanResult(one, fail_on=Severity.CRITICAL)) == "gate: FAILED — 1 finding at or above critical"


def test_empty_scan(catalog: RuleCatalog) -> None:
    out = render_text(ScanResult([], files_scanned=12), catalog, color=False)
    assert out == "0 findings in 12 files · gate: passed (fail-on: high)\n"


def test_colour_only_when_asked(result: ScanResult, catalog: RuleCatalog) -> None:
    plain = render_text(result, catalog, color=False)
    coloured = render_text(result, catalog, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1;31mHIGH (3)\x1b[0m" in coloured
    # Colour only wraps text: stripping it gives the plain report back.
    assert ANSI.sub("", coloured) == plain


def test_control_characters_in_input_are_shown_escaped(catalog: RuleCatalog) -> None:
    evil = Finding(
        "docker/root-user",
        Severity.HIGH,
        "runs as root\x1b[2K\rgate: passed",
        "docker/\x1b[31mprod\x07.Dockerfile",
        3,
        snippet="USER root\x1b]0;pwned\x07",
    )
    out = render_text(ScanResult([evil], skipped=[SkippedFile("bad\x1bname", "binary file")]), catalog, color=False)
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "docker/\\x1b[31mprod\\x07.Dockerfile:3:1" in out
    assert "runs as root\\x1b[2K\\x0dgate: passed" in out
    assert out.rstrip().splitlines()[-1].endswith("gate: FAILED — 1 finding at or above high")


def test_new_only_and_shard_are_stated(catalog: RuleCatalog) -> None:
    out = render_text(fixture_result(new_only_base="origin/main", shard=(1, 2)), catalog, color=False)
    assert out.startswith("New findings relative to origin/main.\n")
    assert "(shard 1/2) · gate:" in out


class _FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture
def real_tty() -> Iterator[io.TextIOWrapper]:
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w")
    try:
        yield stream
    finally:
        stream.close()
        os.close(master)


def test_tty_gets_colour(real_tty: io.TextIOWrapper) -> None:
    assert use_color(real_tty, {}) is True
    assert use_color(real_tty, {"TERM": "xterm-256color"}) is True


def test_no_color_wins_over_tty_and_force(real_tty: io.TextIOWrapper) -> None:
    assert use_color(real_tty, {"NO_COLOR": "1"}) is False
    assert use_color(real_tty, {"NO_COLOR": "yes", "FORCE_COLOR": "1"}) is False
    # An empty NO_COLOR does not count as set (no-color.org).
    assert use_color(real_tty, {"NO_COLOR": ""}) is True


def test_pipes_and_files_get_no_colour() -> None:
    assert use_color(_FakeStream(tty=False), {}) is False
    assert use_color(io.StringIO(), {"TERM": "xterm"}) is False
    r, w = os.pipe()
    with os.fdopen(w, "w") as pipe:
        assert use_color(pipe, {}) is False
    os.close(r)
    closed = io.StringIO()
    closed.close()
    assert use_color(closed, {}) is False


def test_force_color_and_dumb_terminal() -> None:
    assert use_color(_FakeStream(tty=False), {"FORCE_COLOR": "1"}) is True
    assert use_color(_FakeStream(tty=False), {"FORCE_COLOR": ""}) is False
    assert use_color(_FakeStream(tty=True), {"TERM": "dumb"}) is False


def test_many_distinct_skip_reasons_are_summarised(catalog: RuleCatalog) -> None:
    skipped = [SkippedFile(f"data/shard{i:03d}.bin", f"larger than the 10 MiB cap ({11 + i} MiB)") for i in range(14)]
    skipped += [SkippedFile(f"img/{i}.png", "binary file") for i in range(5)]
    out = render_text(ScanResult([], skipped=skipped), catalog, color=False)
    lines = out.splitlines()
    start = lines.index("Skipped 19 files:")
    assert lines[start + 1] == "      5  binary file: img/0.png, img/1.png, img/2.png, … 2 more"
    assert lines[start + 11] == "      5  for 5 other reasons (see the JSON report)"
