"""Notebook code cells: magics blanked, aliases across cells, raw .ipynb lines and columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.code.notebook import _blank_magics, notebook_units
from tests.scanners.code.code_support import FIXTURES, scan

NOTEBOOK = FIXTURES / "review_checkpoint.ipynb"


def _raw_position(fragment: str) -> tuple[int, int]:
    """Where `fragment` (as JSON-escaped in the file) first appears: 1-based line and column."""
    escaped = json.dumps(fragment, ensure_ascii=False)[1:-1]
    for number, line in enumerate(NOTEBOOK.read_text(encoding="utf-8").splitlines(), 1):
        if escaped in line:
            return number, line.index(escaped) + 1
    raise AssertionError(f"{fragment!r} not in the notebook")


def test_findings_land_on_the_raw_notebook_line_and_column() -> None:
    found = {f.rule_id: f for f in scan(NOTEBOOK)}
    assert sorted(found) == [
        "code/pickle-load",
        "code/torch-load-unsafe",
        "code/trust-remote-code",
        "code/yaml-unsafe-load",
    ]
    # Cell 4 starts with `%%time` (still Python) and uses the alias `T` imported in cell 2.
    torch_load = found["code/torch-load-unsafe"]
    assert (torch_load.start_line, torch_load.start_column) == _raw_position('T.load(CKPT, map_location="cpu")')
    assert torch_load.properties["cell"] == 4 and "(notebook cell 4)" in torch_load.message
    # A non-ASCII literal and escaped quotes before the call on the same line.
    pickle_load = found["code/pickle-load"]
    assert (pickle_load.start_line, pickle_load.start_column) == _raw_position("pickle.loads(open(files[0]")
    # A cell whose source is one JSON string: every code line sits on the same raw line.
    yaml_load = found["code/yaml-unsafe-load"]
    assert (yaml_load.start_line, yaml_load.start_column) == _raw_position("yaml.load(open(")
    assert yaml_load.snippet == 'cfg = yaml.load(open("train.yaml"), Loader=yaml.Loader)'
    remote = found["code/trust-remote-code"]
    assert remote.start_line == _raw_position("encoder = AutoModel.from_pretrained(")[0]
    assert remote.end_line == _raw_position("    trust_remote_code=True,")[0] + 1


def test_shell_and_foreign_cell_magics_are_not_scanned_as_python() -> None:
    # The %%bash cell mentions torch.load and pickle.loads; only the Python cells report.
    cells = sorted(f.properties["cell"] for f in scan(NOTEBOOK))
    assert cells == [4, 5, 7, 8]
    assert 3 not in cells


def test_invalid_notebook_json_is_skipped_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ipynb"
    bad.write_text('{\n "cells": [\n  {"cell_type": "code", "source": ["import torch\\n",]}\n ]\n}\n')
    with pytest.raises(SkipFile, match=r"invalid notebook JSON at line 3"):
        scan(bad)


def test_json_that_is_not_a_notebook_is_skipped(tmp_path: Path) -> None:
    odd = tmp_path / "odd.ipynb"
    odd.write_text("[1, 2, 3]\n")
    with pytest.raises(SkipFile, match="not a Jupyter notebook"):
        scan(odd)


def test_deeply_nested_json_is_skipped_not_crashed(tmp_path: Path) -> None:
    deep = tmp_path / "deep.ipynb"
    deep.write_text('{"cells": ' + "[" * 50_000 + "]" * 50_000 + "}")
    with pytest.raises(SkipFile):
        scan(deep)


def test_notebook_with_only_broken_cells_is_skipped(tmp_path: Path) -> None:
    nb = tmp_path / "py2.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ['print "hi"\n']}], "nbformat": 4}))
    with pytest.raises(SkipFile, match="no code cell could be parsed"):
        scan(nb)


def test_nbformat3_worksheets_are_read(tmp_path: Path) -> None:
    nb = tmp_path / "old.ipynb"
    doc = {
        "nbformat": 3,
        "worksheets": [{"cells": [{"cell_type": "code", "input": ["import joblib\n", "m = joblib.load('m.pkl')\n"]}]}],
    }
    nb.write_text(json.dumps(doc, indent=1))
    (f,) = scan(nb)
    assert f.rule_id == "code/pickle-load"
    raw = nb.read_text().splitlines()
    assert "joblib.load" in raw[f.start_line - 1]


@pytest.mark.parametrize(
    ("line", "blanked"),
    [
        ("%matplotlib inline", True),
        ("  !pip install torch", True),
        ("files = !ls *.pkl", True),
        ("env = %env HOME", True),
        ("df?", True),
        ("np.load??", True),
        ("?torch.load", True),
        ("x = a if b else c  # why?", False),
        ("ratio = a % b", False),
        ("ok = a != b", False),
        ("x %= 3", False),
    ],
)
def test_magic_lines_are_blanked_and_python_is_kept(line: str, blanked: bool) -> None:
    assert _blank_magics([line]) == ([""] if blanked else [line])


def test_foreign_cell_magic_blanks_the_cell_but_time_keeps_it() -> None:
    assert _blank_magics(["%%bash", "python -c 'import os'"]) == ["", ""]
    assert _blank_magics(["%%time", "m = load()"]) == ["", "m = load()"]


def test_notebook_units_keep_line_counts(tmp_path: Path) -> None:
    units = notebook_units(NOTEBOOK.read_text(encoding="utf-8"))
    assert [u.cell for u in units] == [2, 4, 5, 6, 7, 8, 9]  # magic-only cells 1 and 3 drop out
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for unit in units:
        src = nb["cells"][unit.cell]["source"]
        text = "".join(src) if isinstance(src, list) else src
        assert unit.source.count("\n") == text.count("\n")
