"""YAML loading: positions for every key, `on:` as a key, anchors and merge keys, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.workflows import loader
from aisec_ci.scanners.workflows.loader import load_yaml
from aisec_ci.scanners.workflows.model import WorkflowDoc
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind
from tests.call_budget import count_calls
from tests.scanners.workflows.workflows_testlib import FIXTURES, hits, scan, scan_path


def test_every_key_and_value_has_a_line_and_column() -> None:
    root = load_yaml(
        "name: x\non:\n  push:\n    branches: [main]\njobs:\n  a:\n    steps:\n      - run: |\n          make\n"
    )
    assert root is not None and root.is_map
    on_key = root.key_node("on")
    assert on_key is not None and (on_key.line, on_key.column) == (2, 1)
    on = root.get("on")
    assert on is not None
    branches = on.get("push").get("branches")  # type: ignore[union-attr]
    assert branches is not None and branches.items[0].line == 4 and branches.items[0].column == 16
    step = root.get("jobs").get("a").get("steps").items[0]  # type: ignore[union-attr]
    run = step.get("run")
    assert run is not None and run.line == 8 and run.style == "|" and run.value == "make\n"


@pytest.mark.parametrize("spelling", ["on", "'on'", '"on"', "true"])
def test_on_key_however_yaml_1_1_would_type_it(spelling: str, tmp_path: Path) -> None:
    wf = tmp_path / "w.yml"
    wf.write_text(f"{spelling}:\n  pull_request_target:\npermissions: {{}}\njobs: {{}}\n")
    root = load_yaml(wf.read_text())
    assert root is not None
    doc = WorkflowDoc.build(SourceFile("w.yml", wf, FileKind.WORKFLOW, 1), root, False, {})
    assert list(doc.triggers) == ["pull_request_target"]


def test_on_as_scalar_and_list(tmp_path: Path) -> None:
    for text, expected in (
        ("on: push\n", ["push"]),
        ("on: [push, pull_request_target]\n", ["push", "pull_request_target"]),
    ):
        root = load_yaml(text)
        assert root is not None
        doc = WorkflowDoc.build(SourceFile("w.yml", tmp_path, FileKind.WORKFLOW, 1), root, False, {})
        assert list(doc.triggers) == expected


def test_anchors_and_merge_keys_are_followed() -> None:
    findings = scan("bad-input/anchors-merge.yml")
    # Both jobs get runs-on through `<<: *job-defaults` and the checkout step through `*checkout`;
    # the anchored step is reported once per job, at the anchor's line.
    assert hits(findings, "workflows/untrusted-checkout") == [(14, "critical"), (14, "critical")]
    assert len({f.key for f in findings if f.rule_id == "workflows/untrusted-checkout"}) == 2
    assert hits(findings, "workflows/template-injection") == [(24, "critical")]
    # The explicit `runs-on` of `lint` overrides the merged one.
    assert hits(findings, "workflows/self-hosted-runner") == [(27, "high")]


def test_merge_key_values_lose_to_explicit_keys() -> None:
    root = load_yaml("base: &b {a: 1, b: 2}\nother:\n  <<: *b\n  b: 3\n")
    assert root is not None
    other = root.get("other")
    assert other is not None and other.text("a") == "1" and other.text("b") == "3"
    assert "<<" not in other.pairs


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("invalid.yml", "invalid YAML at line 10"),
        ("tabs.yml", "invalid YAML at line 5"),
        ("alias-bomb.yml", "alias bomb"),
        ("recursive.yml", "recursive YAML alias"),
        ("top-level-list.yml", "top level is a sequence"),
    ],
)
def test_bad_input_is_skipped_with_a_reason(name: str, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = FIXTURES / "bad-input" / name
    # A node takes at least one character of text: more nodes than characters means aliases were expanded.
    nodes = count_calls(monkeypatch, loader, "_node", limit=len(path.read_text()))
    with pytest.raises(SkipFile) as info:
        scan_path(path)
    assert reason in info.value.reason
    assert nodes.calls <= len(path.read_text())


def test_alias_bomb_is_refused_without_expanding(monkeypatch: pytest.MonkeyPatch) -> None:
    # 10^9 leaves if expanded; refusing it must build each of its 47 distinct nodes once and no more.
    nodes = count_calls(monkeypatch, loader, "_node", limit=47)
    with pytest.raises(SkipFile, match="expand 47 nodes"):
        load_yaml((FIXTURES / "bad-input" / "alias-bomb.yml").read_text())
    assert nodes.calls == 47


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(SkipFile):
        load_yaml("a: " + "[" * 5000 + "]" * 5000)
    with pytest.raises(SkipFile, match="nested deeper"):
        load_yaml("a: " + "[" * 300 + "]" * 300)


def test_empty_and_comment_only_files_give_no_findings() -> None:
    assert scan("bad-input/empty.yml") == []


def test_undefined_alias(tmp_path: Path) -> None:
    wf = tmp_path / "w.yml"
    wf.write_text("on: push\njobs: *nowhere\n")
    with pytest.raises(SkipFile, match="line 2"):
        scan_path(wf)


def test_ten_megabyte_workflow_is_scanned_in_bounded_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = (
        "  job{n}:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n"
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n"
        "        with:\n          persist-credentials: false\n"
        "      - run: |\n          python -m pytest tests/unit -q --maxfail=1 --durations=10 -k 'not slow'\n"
        "          echo done {n}\n"
    )
    parts = ["on: push\npermissions: {}\njobs:\n"]
    size = 0
    n = 0
    while size < 10 * 1024 * 1024:
        chunk = job.format(n=n)
        parts.append(chunk)
        size += len(chunk)
        n += 1
    parts.append(
        "  last:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.head_commit.message }}\n"
    )
    wf = tmp_path / "huge.yml"
    text = "".join(parts)
    wf.write_text(text)
    line_count = text.count("\n")
    # Built once, in one pass: one node per key, value or item (1.8 a line here; parsing twice would be 3.6).
    nodes = count_calls(monkeypatch, loader, "_node", limit=2 * line_count)
    findings = scan_path(wf)
    assert [(f.rule_id, f.severity.label) for f in findings] == [("workflows/template-injection", "high")]
    assert findings[0].start_line == line_count
    assert nodes.calls <= 2 * line_count, (nodes.calls, line_count)
