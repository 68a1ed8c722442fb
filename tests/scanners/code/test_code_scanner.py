"""The scanner as a whole: registration, rule help, bad input, fingerprints, redaction, speed."""

from __future__ import annotations

import warnings
from pathlib import Path

import jsonschema
import pytest

from aisec_ci.findings import assign_fingerprints
from aisec_ci.scanners import registry
from aisec_ci.scanners.base import ScanContext, SkipFile
from aisec_ci.scanners.code import SCANNER
from aisec_ci.scanners.code.scanner import is_test_path
from aisec_ci.workspace.kinds import FileKind
from tests.call_budget import assert_linear
from tests.scanners.code.code_support import FIXTURES, scan, source_file

EXAMPLE_APP = Path(__file__).resolve().parents[3] / "examples" / "vulnerable-ai-app"


def test_scanner_is_registered_and_its_rules_are_in_the_catalog() -> None:
    assert registry.all_scanners()["code"] is SCANNER
    catalog = registry.catalog()
    ids = [r.id for r in SCANNER.rules]
    assert len(ids) == len(set(ids)) >= 14
    for rule in SCANNER.rules:
        assert rule.id.startswith("code/") and rule.id in catalog
        assert rule.what and rule.why and rule.example and rule.fix
        assert any(t.startswith("CWE-") for t in rule.tags), rule.id
        assert "## Why is this bad?" in rule.help_markdown()


def test_options_schema_accepts_names_and_rejects_unknown_keys() -> None:
    validator = jsonschema.Draft202012Validator(dict(SCANNER.options_schema))
    assert not list(validator.iter_errors({"llm_call_names": ["oracle"], "llm_modules": ["acme.llm"]}))
    assert list(validator.iter_errors({"llm_names": ["x"]}))
    assert list(validator.iter_errors({"llm_modules": ["not a module"]}))


def test_python2_file_is_skipped_with_the_line_of_the_error() -> None:
    with pytest.raises(SkipFile, match=r"Python syntax error at line 5: Missing parentheses"):
        scan(FIXTURES / "legacy_py2.py")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"import os\x00\n", "null bytes"),
        (b"x = " + b"(" * 300 + b"1" + b")" * 300 + b"\n", "nested"),
        (b"def f(:\n", "syntax error at line 1"),
    ],
)
def test_unparsable_python_is_skipped_not_crashed(tmp_path: Path, content: bytes, reason: str) -> None:
    src = tmp_path / "bad.py"
    src.write_bytes(content)
    with pytest.raises(SkipFile, match=reason):
        scan(src)


def test_empty_and_invalid_utf8_files_scan_cleanly(tmp_path: Path) -> None:
    empty = tmp_path / "empty.py"
    empty.write_bytes(b"")
    assert scan(empty) == []
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\nimport pickle\nobj = pickle.load(fh)\n")
    (f,) = scan(latin)
    assert (f.rule_id, f.start_line) == ("code/pickle-load", 4)


def test_fingerprints_survive_inserted_lines_and_reindentation(tmp_path: Path) -> None:
    body = "import torch\n\ndef load(p):\n    return torch.load(p)\n\nstate = torch.load('a.pt', weights_only=False)\n"
    first = tmp_path / "v1.py"
    first.write_text(body)
    moved = tmp_path / "v2.py"
    moved.write_text('"""Docstring added later."""\n\nimport os\n' + body.replace("    return", "        return"))
    one = assign_fingerprints(scan(first, rel="m.py"), first.read_text().splitlines())
    two = assign_fingerprints(scan(moved, rel="m.py"), moved.read_text().splitlines())
    assert [f.start_line for f in one] != [f.start_line for f in two]
    assert sorted(f.fingerprint for f in one) == sorted(f.fingerprint for f in two)
    assert all(f.key.startswith("torch.load:") for f in one)


def test_changing_the_call_changes_its_key(tmp_path: Path) -> None:
    a = tmp_path / "a.py"
    a.write_text("import torch\nm = torch.load('a.pt')\n")
    b = tmp_path / "b.py"
    b.write_text("import torch\nm = torch.load('b.pt')\n")
    assert scan(a)[0].key != scan(b)[0].key


def test_token_like_strings_never_reach_the_snippet_message_or_key(tmp_path: Path) -> None:
    token = "hf_" + "qXbVvJtLmKpRsTnWyZaBcDeFgH12"
    src = tmp_path / "push.py"
    src.write_text(f'import requests\nr = requests.post(URL, headers={{"Authorization": "{token}"}}, verify=False)\n')
    (f,) = scan(src)
    assert f.rule_id == "code/tls-verify-disabled"
    text = f"{f.snippet} {f.message} {f.key} {f.properties}"
    assert token not in text and token[3:] not in text
    assert '"***"' in f.snippet


def test_text_kind_python_files_are_wanted(tmp_path: Path) -> None:
    scanner = SCANNER(ScanContext(root=tmp_path))
    src = tmp_path / "x.py"
    src.write_text("print(1)\n")
    assert scanner.wants(source_file(src, kind=FileKind.TEXT))
    assert not scanner.wants(source_file(src, rel="README.md", kind=FileKind.TEXT))


def test_test_paths() -> None:
    assert is_test_path("tests/unit/test_app.py")
    assert is_test_path("src/pkg/conftest.py")
    assert is_test_path("app_test.py")
    assert not is_test_path("app/serve.py")
    assert not is_test_path("contest/serve.py")


def test_example_app_findings() -> None:
    serve = EXAMPLE_APP / "app" / "serve.py"
    if not serve.exists():
        pytest.skip("example app not present")
    rules = {f.rule_id for f in scan(serve, rel="app/serve.py")}
    assert {
        "code/yaml-unsafe-load",
        "code/torch-load-unsafe",
        "code/pickle-load",
        "code/trust-remote-code",
        "code/eval-model-output",
        "code/gradio-public-without-auth",
    } <= rules
    notebook = {f.rule_id for f in scan(EXAMPLE_APP / "notebooks" / "explore.ipynb")}
    assert "code/torch-load-unsafe" in notebook


def _big_module(path: Path, functions: int) -> int:
    lines = ["import pickle, torch, yaml, subprocess", ""]
    for i in range(functions):
        lines += [
            f"def step_{i}(path, cfg):",
            f"    state_{i} = torch.load(path, weights_only=True)",
            f"    rows = [x * {i} for x in range(10) if x % 3]",
            "    return yaml.safe_load(cfg), subprocess.run(['ls', path]), state_{i}, rows".replace("{i}", str(i)),
        ]
    lines.append("bad = pickle.loads(data)")
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def test_a_large_file_scans_in_linear_work(tmp_path: Path) -> None:
    src = tmp_path / "big.py"
    count = _big_module(src, 4000)
    assert [(f.rule_id, f.start_line) for f in scan(src)] == [("code/pickle-load", count)]
    # Work counted, not timed (the machine is shared): 4x the functions, about 4x the work.
    assert_linear(lambda n: scan(_write_sized(tmp_path, n)), 500)


def _write_sized(tmp_path: Path, functions: int) -> Path:
    path = tmp_path / f"sized_{functions}.py"
    _big_module(path, functions)
    return path


def test_parser_warnings_about_the_scanned_code_are_not_emitted(tmp_path: Path) -> None:
    src = tmp_path / "regexes.py"
    src.write_text('import re\nDIGITS = re.compile("\\d+")\nassert (DIGITS, "always true")\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert scan(src) == []
    assert caught == []
