"""Step outputs, annotations, the job summary and the stop-commands fence."""

from __future__ import annotations

import io
from pathlib import Path

from aisec_ci.action.commands import command, print_untrusted
from aisec_ci.action.markdown_body import action_markdown
from aisec_ci.action.publish_comment import marker
from aisec_ci.action.publish_summary import (
    SUMMARY_MAX_BYTES,
    annotation_commands,
    append_file,
    format_outputs,
    parse_outputs,
    summary_budget,
)
from aisec_ci.findings import Finding
from aisec_ci.result import ScanResult, Suppressed
from aisec_ci.scanners.registry import catalog
from aisec_ci.severity import Severity


def finding(i: int, severity: Severity, message: str = "Problem.", path: str = "app/x.py") -> Finding:
    return Finding("core/scan-error", severity, message, path, start_line=i + 1, fingerprint=f"{i:032x}")


def test_outputs_survive_values_that_look_like_delimiters() -> None:
    values = {"gate": "failed", "notes": "line one\nghadelimiter_fake\nx=y\nz<<EOF", "empty": ""}
    text = format_outputs(values)
    assert text.endswith("\n")
    assert parse_outputs(text) == values


def test_annotations_respect_the_per_level_cap_most_severe_first() -> None:
    findings = [finding(i, Severity.CRITICAL if i < 4 else Severity.HIGH) for i in range(30)]
    findings += [finding(100 + i, Severity.MEDIUM) for i in range(3)]
    findings += [finding(200 + i, Severity.INFO) for i in range(12)]
    lines = annotation_commands(findings)
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 10 and all("(critical)" in e for e in errors[:4])
    assert len([line for line in lines if line.startswith("::warning ")]) == 3
    assert len([line for line in lines if line.startswith("::notice ")]) == 10


def test_annotation_text_cannot_inject_commands() -> None:
    f = finding(0, Severity.HIGH, message="bad\n::set-output name=gate::passed 100%", path="a,b:c.py")
    (line,) = annotation_commands([f])
    assert "\n" not in line
    assert line.startswith("::error file=a%2Cb%3Ac.py,line=1,endLine=1,title=core/scan-error (high)::")
    assert line.endswith("bad%0A::set-output name=gate::passed 100%25")
    assert command("notice", "x" * 5000).endswith("…")


def test_untrusted_text_is_fenced() -> None:
    out = io.StringIO()
    print_untrusted("  ::error::injected\n", out)
    first, body, last = out.getvalue().splitlines()
    token = first.removeprefix("::stop-commands::")
    assert len(token) == 32 and last == f"::{token}::" and body == "  ::error::injected"


def test_summary_stays_within_the_step_limit(tmp_path: Path) -> None:
    summary = tmp_path / "step_summary"
    append_file(summary, "earlier step output\n" * 1000)
    findings = [finding(i, Severity.HIGH, message="A long message. " * 20) for i in range(20_000)]
    result = ScanResult(findings=findings, scanners=["core"])
    budget = summary_budget(summary)
    text = action_markdown(result, catalog(), max_bytes=budget)
    append_file(summary, text)
    assert summary.stat().st_size <= SUMMARY_MAX_BYTES
    assert "more findings not shown" in text
    assert summary.stat().st_mode & 0o777 == 0o644


def test_comment_keeps_the_marker_and_lists_existing_findings_apart() -> None:
    new = [finding(i, Severity.HIGH, path="new.py") for i in range(3)]
    old = [
        Suppressed(finding(50 + i, Severity.CRITICAL, path="old.py"), "new-only", "already present") for i in range(400)
    ]
    result = ScanResult(findings=new, suppressed=old, scanners=["core"], new_only_base="b" * 40)
    mark = marker("aisec-ci")
    body = action_markdown(result, catalog(), max_bytes=20_000, header=mark)
    assert body.startswith(mark) and len(body.encode()) <= 20_000
    head, _, existing = body.partition("Existing findings (400)")
    assert "new.py" in head and "old.py" not in head
    assert "old.py" in existing and "more existing findings" in existing
