"""Bounded work per file: huge or pathological Python is skipped with a reason, and what
each finding costs does not grow with the size of its file or line."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.code import budget, scanner, symbols
from aisec_ci.scanners.code.positions import LineIndex
from tests.conftest import run_cli
from tests.scanners.code.code_support import scan


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _report(repo: Path, out: Path) -> dict[str, Any]:
    proc = run_cli("scan", repo, "--scanners", "code", "--format", "json", "--output", out, "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


# -- positions ---------------------------------------------------------------------------------

_TRICKY = (
    "a = 1\r\nb = (2 +\r\n  3)\rc = 'ß' + eval(x)\r\n"
    + "s = '"
    + "é€😀" * 300
    + "' + eval(y) ; t = eval(\n  z)\n"
    + "u = f'{v!r:>{w}}' + '😀'\n"
)


def test_segments_and_columns_match_the_stdlib_on_every_node() -> None:
    index = LineIndex(_TRICKY)
    tree = ast.parse(_TRICKY)
    checked = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.expr | ast.stmt) or node.end_lineno is None or node.end_col_offset is None:
            continue
        got = index.segment(node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)
        assert got == ast.get_source_segment(_TRICKY, node)
        line = index.text(node.lineno)
        want_column = len(line.encode("utf-8")[: node.col_offset].decode("utf-8"))
        assert index.char_column(node.lineno, node.col_offset) == want_column
        checked += 1
    assert checked > 30


def test_thousands_of_findings_on_one_non_ascii_line_keep_their_columns(tmp_path: Path) -> None:
    prefix = "s = '" + "é" * 500 + "'"
    calls = ["eval(input())"] * 3000
    path = _write(tmp_path, "gen.py", ";".join([prefix, *calls]) + "\n")
    findings = scan(path)
    assert len(findings) == 3000
    assert {f.rule_id for f in findings} == {"code/eval-dynamic-input"}
    expected = [len(prefix) + 1 + i * len("eval(input());") + 1 for i in range(3000)]
    assert [f.start_column for f in findings] == expected
    assert {f.start_line for f in findings} == {1}
    # One snippet per line, cut to the report width.
    assert {len(f.snippet) for f in findings} == {200}
    # Identical calls get identical keys (their text is the same): the fingerprint counter tells them apart.
    assert len({f.key for f in findings}) == 1


def test_notebook_columns_on_a_long_escaped_line(tmp_path: Path) -> None:
    line = 'q = "' + '\\"\\t\u00e9' * 150 + '"; ' + "; ".join(["eval(input())"] * 40)
    nb = {"cells": [{"cell_type": "code", "source": [line]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = _write(tmp_path, "long.ipynb", json.dumps(nb, ensure_ascii=False, indent=1))
    raw = path.read_text(encoding="utf-8").splitlines()
    findings = scan(path)
    assert len(findings) == 40
    raw_line = next(n for n, text in enumerate(raw, 1) if "eval(input())" in text)
    text = raw[raw_line - 1]
    starts, at = [], text.index("eval(input())")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("eval(input())", at + 1)
    assert [(f.start_line, f.start_column) for f in findings] == [(raw_line, c) for c in starts]


# -- budgets and depth -------------------------------------------------------------------------


def test_files_over_the_token_budget_are_skipped_before_parsing(tmp_path: Path) -> None:
    over = budget.TOKEN_BUDGET // 2 + 10
    repo = tmp_path / "repo"
    repo.mkdir()
    _write(repo, "sum.py", "x = 1" + "+1" * over + "\n")
    _write(repo, "chain.py", "a" + ".a" * over + "\n")
    cell = {"cell_type": "code", "source": ["y = [" + "1," * over + "]\n"]}
    small = {"cell_type": "code", "source": ["import pickle\n", "pickle.loads(data)\n"]}
    nb = {"cells": [small, cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    _write(repo, "big.ipynb", json.dumps(nb))
    _write(repo, "ok.py", "import pickle\npickle.loads(data)\n")
    report = _report(repo, tmp_path / "out.json")
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {"sum.py", "chain.py", "big.ipynb"}
    for reason in skipped.values():
        assert "too large to parse safely" in reason and "400,000-token budget" in reason
    assert "in the notebook's code cells" in skipped["big.ipynb"]
    assert [(f["path"], f["rule_id"]) for f in report["findings"]] == [("ok.py", "code/pickle-load")]


def test_strings_and_comments_count_as_one_token() -> None:
    assert budget.tokens_over_budget(["x = '''" + "a b c " * 200_000 + "'''\n"]) is None
    assert budget.tokens_over_budget(["s = 'it''s'  # " + "x " * 300_000 + "\n"]) is None
    assert budget.tokens_over_budget(["x = " + "a+" * 250_000 + "a\n"]) == 500_003


def test_deep_expressions_under_the_budget_are_skipped_as_too_deep(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _write(repo, "deep.py", "x = 1" + "+1" * 20_000 + "\n")
    _write(repo, "chain.py", "import pickle\npickle.loads(" + "a" + ".a" * 1200 + ")\n")
    report = _report(repo, tmp_path / "out.json")
    assert [(s["path"], "nests too deeply to parse" in s["reason"]) for s in report["skipped"]] == [("deep.py", True)]
    assert [(f["path"], f["rule_id"]) for f in report["findings"]] == [("chain.py", "code/pickle-load")]


def test_a_recursion_error_in_the_walk_is_a_skip_not_a_scan_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def deep(*args: object) -> list[object]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(scanner, "_scan_tree", deep)
    with pytest.raises(SkipFile, match="nests too deeply to walk"):
        scan(_write(tmp_path, "a.py", "eval(x)\n"))


# -- per-file work shared between sinks ----------------------------------------------------------


def test_model_output_tracing_has_a_budget_for_the_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(symbols, "_FILE_TAINT_BUDGET", 5_000)
    names = ", ".join(f"a{i}" for i in range(1000))
    path = _write(tmp_path, "agent.py", f"x = [llm.invoke(q), {names}]\n" + "eval(x)\n" * 10)
    rules = [f.rule_id for f in scan(path)]
    assert len(rules) == 10
    # The first sinks follow `x` to the LLM call; once the file's budget is spent the rest are
    # still reported, as computed strings.
    assert 1 <= rules.count("code/eval-model-output") < 10
    assert rules.count("code/eval-model-output") + rules.count("code/eval-dynamic-input") == 10


def test_keyword_dicts_are_looked_up_not_rescanned(tmp_path: Path) -> None:
    keys = ", ".join(f"'k{i}': {i}" for i in range(3000))
    text = (
        "from transformers import AutoModel\n"
        f"d = {{{keys}, 'trust_remote_code': True, 'trust_remote_code': False}}\n"
        "e = {'k': 1}\n"
        + "AutoModel.from_pretrained(m, **d)\n" * 200
        + "AutoModel.from_pretrained(m, model_kwargs=d)\n"
        + "AutoModel.from_pretrained(m, config=dict(trust_remote_code=True))\n"
        + "AutoModel.from_pretrained(m, **e)\n"
    )
    findings = scan(_write(tmp_path, "load.py", text))
    # Line 205 has two: the `dict(...)` call passes the switch itself.
    assert sorted({f.start_line for f in findings}) == list(range(4, 206))
    assert {f.rule_id for f in findings} == {"code/trust-remote-code"}
    assert sum("inside a keyword dict" in f.message for f in findings) == 2


def test_a_huge_except_clause_still_marks_the_fallback(tmp_path: Path) -> None:
    names = ", ".join(f"E{i}" for i in range(5000))
    text = (
        "import pickle, torch\n"
        "try:\n    m = torch.load(p, weights_only=True)\n"
        f"except (pickle.UnpicklingError, {names}):\n" + "    m = torch.load(p, weights_only=False)\n" * 50
    )
    findings = scan(_write(tmp_path, "load.py", text))
    assert len(findings) == 50
    assert all(f.properties["unsafe_fallback"] is True for f in findings)


def test_a_huge_literal_host_is_shortened_in_the_report(tmp_path: Path) -> None:
    host = "h" * 5000
    text = f"import gradio as gr\nH = '{host}'\ndemo = gr.Blocks()\n" + "demo.launch(share=True, server_name=H)\n" * 3
    findings = scan(_write(tmp_path, "app.py", text))
    assert len(findings) == 3
    assert all(len(f.properties["server_name"]) == 200 for f in findings)
