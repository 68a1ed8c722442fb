"""code/langchain-dangerous-option and code/langchain-python-repl."""

from __future__ import annotations

from tests.scanners.code.code_support import assert_matches_markers, scan_fixture


def test_dangerous_switches_and_repl_tools_are_reported() -> None:
    findings = assert_matches_markers("langchain_unsafe.py")
    options = sorted(f.properties["option"] for f in findings if f.rule_id == "code/langchain-dangerous-option")
    assert options == ["allow_dangerous_code", "allow_dangerous_deserialization", "allow_dangerous_requests"]
    tools = sorted(f.properties["tool"] for f in findings if f.rule_id == "code/langchain-python-repl")
    assert tools == [
        "LLMMathChain",
        "PandasQueryEngine",
        "PythonAstREPLTool",
        "PythonREPL",
        "PythonREPLTool",
        "create_csv_agent",
        "python_repl,terminal",
    ]


def test_two_tools_on_one_line_get_distinct_columns_and_keys() -> None:
    findings = [f for f in scan_fixture("langchain_unsafe.py") if f.start_line == 20]
    assert len({f.start_column for f in findings}) == 2
    assert len({f.key for f in findings}) == 2


def test_narrow_tools_are_not_reported() -> None:
    assert scan_fixture("langchain_safe.py") == []
