"""`aisec-ci rules`, `explain`, and the generated docs/rules.md."""

from __future__ import annotations

import json

from tests.conftest import REPO, run_cli


def test_rules_lists_every_rule_as_text_and_json() -> None:
    proc = run_cli("rules", plugin=False)
    assert proc.returncode == 0
    assert "core/scan-error" in proc.stdout
    proc = run_cli("rules", "--format", "json", plugin=False)
    rules = json.loads(proc.stdout)
    ids = [r["id"] for r in rules]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert {"id", "name", "severity", "short_description", "help_uri"} <= set(rules[0])
    assert all(r["severity"] in ("critical", "high", "medium", "low", "info") for r in rules)


def test_rules_filtered_by_scanner_includes_plugins() -> None:
    proc = run_cli("rules", "--scanner", "testkit", "--format", "json")
    assert [r["id"] for r in json.loads(proc.stdout)] == ["testkit/marker"]
    proc = run_cli("rules", "--scanner", "nope")
    assert proc.returncode == 2


def test_explain_prints_the_help_sections() -> None:
    proc = run_cli("explain", "core/expired-ignore", plugin=False)
    assert proc.returncode == 0
    for heading in ("What it does", "Why is this bad?", "Example", "Fix"):
        assert heading in proc.stdout
    proc = run_cli("explain", "core/scan-eror", plugin=False)
    assert proc.returncode == 2 and "core/scan-error" in proc.stderr  # suggestion


def test_docs_rules_md_is_up_to_date() -> None:
    proc = run_cli("rules", "--format", "markdown", plugin=False)
    committed = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert proc.stdout == committed, "docs/rules.md is stale: run `aisec-ci rules --format markdown > docs/rules.md`"


def test_every_rule_has_complete_help() -> None:
    from aisec_ci.scanners.registry import catalog

    for rule in catalog():
        assert rule.what and rule.why and rule.fix, rule.id
        assert len(rule.name) <= 255 and len(rule.short_description) <= 1024, rule.id
