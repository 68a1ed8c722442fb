"""code/shell-injection."""

from __future__ import annotations

from tests.scanners.code.code_support import assert_matches_markers, scan_fixture


def test_shell_commands_from_variables_are_reported() -> None:
    findings = assert_matches_markers("shell_unsafe.py")
    critical = [f for f in findings if f.severity.label == "critical"]
    assert [f.properties["model_output"] for f in critical] == [True, True]
    assert [f.properties["function"] for f in critical] == ["subprocess.check_output", "subprocess.run"]


def test_argument_lists_and_literal_commands_are_not_reported() -> None:
    assert scan_fixture("shell_safe.py") == []
