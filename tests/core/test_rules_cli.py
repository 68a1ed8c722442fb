"""`aisec-ci rules`, `explain`, and the generated docs/rules.md."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO, cli_env, run_cli


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


def test_the_fast_exit_still_delivers_all_output_and_exit_codes() -> None:
    # The console script ends with os._exit after flushing: a large report on a (block-buffered)
    # pipe must still arrive whole, and argparse's exits keep their codes.
    env = {k: v for k, v in cli_env(plugin=False).items() if k != "PYTHONUNBUFFERED"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "aisec_ci", *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=120)

    proc = cli("rules", "--format", "markdown")
    assert proc.returncode == 0
    assert len(proc.stdout) > 50_000 and proc.stdout == (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("aisec-ci ")
    usage = cli("scna")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
