"""code/shell-injection."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.code.code_support import assert_matches_markers, scan, scan_fixture


def test_shell_commands_from_variables_are_reported() -> None:
    findings = assert_matches_markers("shell_unsafe.py")
    critical = [f for f in findings if f.severity.label == "critical"]
    assert [f.properties["model_output"] for f in critical] == [True, True]
    assert [f.properties["function"] for f in critical] == ["subprocess.check_output", "subprocess.run"]


def test_argument_lists_and_literal_commands_are_not_reported() -> None:
    assert scan_fixture("shell_safe.py") == []


def test_shell_injection_needs_a_shell_and_input_from_outside(tmp_path: Path) -> None:
    # A release helper: an argument list without a shell, and scripts located from `__file__`, take
    # nothing from outside; `bash -c` with a variable script, or `os.system` of an argument, does.
    src = tmp_path / "release.py"
    src.write_text(
        "import os\n"
        "import subprocess\n"
        "import sys\n"
        "from pathlib import Path\n"
        "\n"
        "HERE = os.path.dirname(os.path.abspath(__file__))\n"
        "ROOT = Path(__file__).resolve().parent.parent\n"
        "\n"
        "def dir_of(path):\n"
        "    return os.path.dirname(path)\n"
        "\n"
        "def release(version, model_dir):\n"
        "    os.system(f'{dir_of(__file__)}/build.sh')\n"
        "    os.system(HERE + '/clean.sh')\n"
        '    subprocess.run(f\'{ROOT / "hack" / "lint.sh"} --all\', shell=True)\n'
        "    subprocess.Popen([sys.executable, '-m', 'server', '--model_dir', model_dir, get_model_name()])\n"
        "    subprocess.run(['bash', '-c', f'git tag {version}'])\n"
        "    os.system(f'{HERE}/publish.sh {version}')\n"
        "\n"
        "def get_model_name():\n"
        "    return 'm'\n"
    )
    found = [(f.start_line, f.rule_id, f.severity.label) for f in scan(src)]
    assert found == [(17, "code/shell-injection", "high"), (18, "code/shell-injection", "high")]
