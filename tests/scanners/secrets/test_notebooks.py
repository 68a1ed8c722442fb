"""Notebooks: cell sources, outputs, ANSI tracebacks and metadata, reported on raw lines."""

from __future__ import annotations

import json
from pathlib import Path

from aisec_ci.scanners.secrets.segments import notebook_segments
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.secrets.conftest import FIXTURES
from tests.scanners.secrets.secret_tokens import render, scan_path


def _raw_line(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_notebook_sources_outputs_tracebacks_metadata(tmp_path: Path, tokens: dict[str, str]) -> None:
    nb = render(FIXTURES / "positive" / "notebook.ipynb.tmpl", tmp_path / "train.ipynb", tokens)
    json.loads(nb.read_text())  # the fixture is a valid notebook
    findings = scan_path(nb, FileKind.NOTEBOOK)
    got = {(f.rule_id, f.start_line, f.properties.get("cell"), f.properties.get("region")) for f in findings}
    assert got == {
        ("secrets/huggingface-token", _raw_line(nb, tokens["HUGGINGFACE"]), 1, "output"),
        ("secrets/openai-api-key", _raw_line(nb, tokens["OPENAI"]), 1, "source"),
        # JSON-escaped quotes (`\"`) are decoded, so the keyword plugin sees `password = "..."`.
        ("secrets/generic-secret", _raw_line(nb, tokens["GENERIC_PASSWORD"]), 1, "source"),
        ("secrets/anthropic-api-key", _raw_line(nb, tokens["ANTHROPIC"]), 2, "traceback"),
        ("secrets/github-token", _raw_line(nb, tokens["GITHUB"]), None, "notebook metadata"),
    }
    msgs = {f.rule_id: f.message for f in findings}
    assert "in cell 1 (source)" in msgs["secrets/openai-api-key"]
    # The image payload, cell ids and the interpreter hash produce nothing.
    assert not any(f.rule_id == "secrets/high-entropy-string" for f in findings)


def test_traceback_ansi_is_stripped_in_snippet(tmp_path: Path, tokens: dict[str, str]) -> None:
    nb = render(FIXTURES / "positive" / "notebook.ipynb.tmpl", tmp_path / "train.ipynb", tokens)
    [f] = [f for f in scan_path(nb, FileKind.NOTEBOOK) if f.rule_id == "secrets/anthropic-api-key"]
    assert "\x1b" not in f.snippet and "[0;31m" not in f.snippet
    assert f.snippet.startswith("AuthenticationError: Error code: 401")


def test_single_string_source_and_line_mapping(tmp_path: Path, tokens: dict[str, str]) -> None:
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "source": "x = 1\nGROQ = '" + tokens["GROQ"] + "'\n"},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    p = tmp_path / "compact.ipynb"
    p.write_text(json.dumps(nb))  # one physical line
    [f] = scan_path(p, FileKind.NOTEBOOK)
    assert (f.rule_id, f.start_line, f.properties["cell"]) == ("secrets/groq-api-key", 1, 0)


def test_segments_map_lines() -> None:
    text = '{\n "cells": [\n  {"source": [\n   "a\\n",\n   "b\\n",\n   "c"\n  ]}\n ]\n}\n'
    [seg] = notebook_segments(text)
    assert seg.text == "a\nb\nc"
    assert [seg.raw_line(i) for i in range(3)] == [4, 5, 6]


def test_malformed_notebook_is_scanned_as_text(tmp_path: Path, tokens: dict[str, str]) -> None:
    p = tmp_path / "broken.ipynb"
    p.write_text('{"cells": [ {"source": ["k = \\"' + tokens["REPLICATE"] + '\\"\\n"\n')  # truncated JSON
    note, f = sorted(scan_path(p, FileKind.NOTEBOOK), key=lambda x: x.rule_id, reverse=True)
    assert f.rule_id == "secrets/replicate-api-token" and f.start_line == 1
    # The weaker scan is said, at the line where the JSON breaks, as a note that never fails the gate.
    assert (note.rule_id, note.severity.label, note.start_line) == ("secrets/unparsed-notebook", "info", 2)
    assert "scanned for secrets as raw text" in note.message and tokens["REPLICATE"][:8] not in note.message


def test_malformed_notebook_without_candidates_is_still_reported(tmp_path: Path) -> None:
    """The fast path (no prefilter hit anywhere) must still say the notebook is broken."""
    p = tmp_path / "cut.ipynb"
    p.write_text('{\n "cells": [\n  {"cell_type": "code", "source": ["print(1)\\n"]}\n')
    [note] = scan_path(p, FileKind.NOTEBOOK)
    assert (note.rule_id, note.start_line) == ("secrets/unparsed-notebook", 4)
    ok = tmp_path / "ok.ipynb"
    ok.write_text('{"cells": [{"cell_type": "code", "source": ["print(1)\\n"]}], "metadata": {}}')
    assert scan_path(ok, FileKind.NOTEBOOK) == []


def test_crlf_notebook_lines(tmp_path: Path, tokens: dict[str, str]) -> None:
    nb = render(FIXTURES / "positive" / "notebook.ipynb.tmpl", tmp_path / "src.ipynb", tokens)
    crlf = tmp_path / "win.ipynb"
    crlf.write_bytes(nb.read_bytes().replace(b"\n", b"\r\n"))
    lf = {(f.rule_id, f.start_line) for f in scan_path(nb, FileKind.NOTEBOOK)}
    assert {(f.rule_id, f.start_line) for f in scan_path(crlf, FileKind.NOTEBOOK)} == lf


def test_nbformat3_worksheets(tmp_path: Path, tokens: dict[str, str]) -> None:
    nb = {
        "metadata": {"name": ""},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "markdown", "metadata": {}, "source": ["# old notebook\n"]},
                    {
                        "cell_type": "code",
                        "input": ["import os\n", f'TOKEN = "{tokens["DATABRICKS"]}"\n'],
                        "language": "python",
                        "metadata": {},
                        "outputs": [],
                    },
                ],
                "metadata": {},
            }
        ],
    }
    p = tmp_path / "old.ipynb"
    p.write_text(json.dumps(nb, indent=1))
    [f] = scan_path(p, FileKind.NOTEBOOK)
    assert (f.rule_id, f.properties["cell"], f.properties["region"]) == ("secrets/databricks-token", 1, "source")
    assert f.start_line == _raw_line(p, tokens["DATABRICKS"])
