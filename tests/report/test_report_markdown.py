"""Markdown report: verdict, counts, links, escaping of hostile input, size cap."""

from __future__ import annotations

import re

import pytest

from aisec_ci.findings import Finding
from aisec_ci.report.markdown import escape, escape_message, render_markdown
from aisec_ci.result import ScanResult
from aisec_ci.rules import RuleCatalog
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SkippedFile
from tests.report.report_builders import fixture_result, many_findings

HIDDEN_NOTE = re.compile(r"… (\d+) more findings not shown; see the SARIF/JSON report\.")


def _cells(row: str) -> list[str]:
    """Split a table row on unescaped pipes, as GitHub does."""
    assert row.startswith("|") and row.endswith("|"), row
    return re.split(r"(?<!\\)\|", row)[1:-1]


def _table_rows(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("|") and not ln.startswith("|:--")]


def test_failed_verdict_counts_and_links(result: ScanResult, catalog: RuleCatalog) -> None:
    md = render_markdown(result, catalog, repo_url="https://github.com/acme/vision-api", ref="9f2c1e0")
    first = md.splitlines()[0]
    assert first == "## ❌ aisec-ci: failed — 5 findings at or above high"
    assert "| 🟥 critical | 2 |" in md
    assert "| 🟧 high | 3 |" in md
    assert "| 🟦 low | 0 |" in md
    assert "| deps | 2 |" in md and "| docker | 2 |" in md
    assert "Suppressed: 3 (1 inline, 1 baseline, 1 new-only)." in md
    assert "[serve.py:8](https://github.com/acme/vision-api/blob/9f2c1e0/serve.py#L8)" in md
    assert "[requirements.txt:2](https://github.com/acme/vision-api/blob/9f2c1e0/requirements.txt#L2)" in md
    # Rule ids link to their reference section.
    docs = "https://github.com/aisec-ci/aisec-ci/blob/main/docs/rules.md"
    assert f"[secrets/openai-api-key]({docs}#secretsopenai-api-key)" in md


def test_top_findings_are_most_severe_first(result: ScanResult, catalog: RuleCatalog) -> None:
    md = render_markdown(result, catalog)
    top = md.split("### Top findings", 1)[1].split("\n\n", 2)[1]
    severities = [_cells(row)[0].split()[-1] for row in _table_rows(top)[1:]]
    assert severities == ["critical", "critical", "high", "high", "high", "medium"]
    # Without repo_url/ref there are no links to blobs.
    assert "/blob/" not in md.replace("aisec-ci/blob/main/docs", "")


def test_skipped_and_notes_sections(result: ScanResult, catalog: RuleCatalog) -> None:
    md = render_markdown(result, catalog)
    assert "<summary>Skipped files (4)</summary>" in md
    assert "- **binary file** (2): assets/banner.png, assets/logo.png" in md
    assert "<summary>Notes (1)</summary>" in md
    assert md.count("<details>") == md.count("</details>")


def test_passed_and_gate_off(catalog: RuleCatalog) -> None:
    low_only = [f for f in many_findings(12) if f.severity <= Severity.MEDIUM]
    passed = render_markdown(ScanResult(low_only, fail_on=Severity.HIGH), catalog)
    assert passed.startswith("## ✅ aisec-ci: passed (fail-on: high)\n")
    off = render_markdown(ScanResult(many_findings(12), fail_on=None), catalog, title="aisec-ci (models)")
    assert off.startswith("## ✅ aisec-ci (models): passed (gate off: fail-on none)\n")
    empty = render_markdown(ScanResult([]), catalog)
    assert "No findings." in empty
    assert "### Top findings" not in empty


def test_new_only_base_is_stated(catalog: RuleCatalog) -> None:
    md = render_markdown(fixture_result(new_only_base="origin/main"), catalog)
    assert "Showing new findings relative to **origin/main**." in md


def test_details_list_everything_beyond_the_top_table(catalog: RuleCatalog) -> None:
    findings = many_findings(60)
    md = render_markdown(ScanResult(findings), catalog)
    assert "### Top findings" in md
    assert HIDDEN_NOTE.search(md) is None
    for f in findings:
        assert escape(f"{f.path}:{f.start_line}") in md
    counts = ScanResult(findings).counts_by_severity()
    assert f"<summary>🟥 Critical ({counts['critical']})</summary>" in md
    assert f"<summary>⬜ Info ({counts['info']})</summary>" in md


def test_twenty_thousand_hostile_findings_stay_under_cap(catalog: RuleCatalog) -> None:
    findings = many_findings(20_000, hostile=True)
    result = ScanResult(
        findings,
        skipped=[SkippedFile(f"blobs/<b>{i}|.bin", "binary file") for i in range(500)],
        notes=["</details><img src=x onerror=alert(1)> note"],
    )
    md = render_markdown(result, catalog, repo_url="https://github.com/acme/app", ref="main")
    assert len(md) <= 65_000
    assert len(md.encode("utf-8")) <= 65_000
    # Only our own HTML survives; the crafted tags are inert text.
    assert "<img" not in md and "<script" not in md and "<b>" not in md
    assert md.count("<details>") == md.count("</details>") == md.count("<summary>")
    assert "@admin" not in md
    # Skipped files and notes outrank the full listing for space.
    assert "<summary>Skipped files (500)</summary>" in md
    assert "- **binary file** (500): blobs/&lt;b&gt;0\\|.bin" in md
    assert "and 480 more" in md
    assert "<summary>Notes (1)</summary>" in md
    # Every table row has exactly the columns of its table, whatever the path holds.
    for row in _table_rows(md):
        assert len(_cells(row)) in (2, 3, 4), row
    match = HIDDEN_NOTE.search(md)
    assert match is not None
    shown = {int(m) for m in re.findall(r"svc/f(\d{5})", md)}
    assert int(match.group(1)) == 20_000 - len(shown)
    # The most severe are the ones that made it.
    assert all(findings[i].severity is Severity.CRITICAL for i in shown)
    assert md.rstrip().endswith("see the SARIF/JSON report.")


@pytest.mark.parametrize("cap", [2_000, 6_000, 20_000])
def test_smaller_caps_degrade_gracefully(catalog: RuleCatalog, cap: int) -> None:
    result = fixture_result(findings=many_findings(500))
    md = render_markdown(result, catalog, max_chars=cap)
    assert len(md.encode("utf-8")) <= cap
    assert md.startswith("## ❌ aisec-ci: failed")
    assert HIDDEN_NOTE.search(md) is not None


def test_details_are_dropped_before_top_rows(catalog: RuleCatalog) -> None:
    result = ScanResult(many_findings(400))
    md = render_markdown(result, catalog, max_chars=9_000)
    assert "### Top findings" in md
    top = md.split("### Top findings", 1)[1]
    assert len(_table_rows(top.split("<details>", 1)[0])) == 1 + 15


def test_escape_neutralises_markdown_and_html() -> None:
    assert escape("a|b") == "a\\|b"
    assert escape("`rm -rf`") == "\\`rm -rf\\`"
    assert escape("<script>") == "&lt;script&gt;"
    assert escape("[click](javascript:alert(1))") == "\\[click\\](javascript:alert(1))"
    assert escape("line one\nline two\r\n") == "line one line two"
    assert escape("- not a list") == "\\- not a list"
    assert escape("@octo-team please") == "@\u200bocto-team please"
    assert escape("torch@2.1") == "torch@2.1"
    assert escape("x" * 50, 10) == "x" * 9 + "…"


def test_messages_keep_plain_code_spans() -> None:
    # Scanner messages quote config in backticks; those stay code, where HTML is inert.
    assert escape_message("set `persist-credentials: false` on <checkout>") == (
        "set `persist-credentials: false` on &lt;checkout&gt;"
    )
    assert escape_message("title `</details><img src=x>` is expanded") == "title `</details><img src=x>` is expanded"
    # Spans holding a pipe or a backslash, and unbalanced ticks, are escaped as text.
    assert escape_message("run `a|b` now") == "run \\`a\\|b\\` now"
    assert escape_message("path `C:\\x` here") == "path \\`C:\\\\x\\` here"
    assert escape_message("odd ` tick") == "odd \\` tick"


def test_code_span_html_cannot_close_details(catalog: RuleCatalog) -> None:
    f = Finding("docker/root-user", Severity.HIGH, "quoted `</details></table>` here", "Dockerfile", 2)
    md = render_markdown(ScanResult([f]), catalog)
    row = next(r for r in _table_rows(md) if "Dockerfile" in r)
    assert _cells(row)[-1].strip() == "quoted `</details></table>` here"
    # Outside code spans every tag is ours and balanced.
    outside = re.sub(r"`[^`]*`", "", md)
    assert outside.count("<details>") == outside.count("</details>")


def test_message_cell_is_cut(catalog: RuleCatalog) -> None:
    long = Finding("docker/root-user", Severity.HIGH, "word " * 400, "Dockerfile", 1)
    md = render_markdown(ScanResult([long]), catalog)
    row = next(r for r in _table_rows(md) if "Dockerfile" in r)
    assert len(_cells(row)[-1].strip()) <= 300


def test_many_distinct_skip_reasons_are_summarised(catalog: RuleCatalog) -> None:
    skipped = [SkippedFile(f"data/shard{i:03d}.bin", f"larger than the 10 MiB cap ({11 + i} MiB)") for i in range(40)]
    md = render_markdown(ScanResult(many_findings(5), skipped=skipped), catalog)
    section = md.split("<summary>Skipped files (40)</summary>", 1)[1].split("</details>", 1)[0]
    assert section.count("\n- **larger than") == 25
    assert "- 15 more files skipped for 15 other reasons" in section


def test_cap_holds_at_every_size_with_hostile_input(catalog: RuleCatalog) -> None:
    result = fixture_result(findings=many_findings(3_000, hostile=True))
    for cap in range(300, 66_000, 6_571):
        md = render_markdown(result, catalog, max_chars=cap)
        assert len(md.encode("utf-8")) <= cap, cap
