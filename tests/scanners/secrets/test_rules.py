"""Rule declarations: ids, help, and docs that do not trip the scanner themselves."""

from __future__ import annotations

from aisec_ci.scanners.registry import all_scanners, catalog
from aisec_ci.scanners.secrets.notebooks import UNPARSED_NOTEBOOK
from aisec_ci.scanners.secrets.scanner import ALL_RULES, SPECIFIC_DETECTORS
from aisec_ci.workspace.kinds import TEXT_KINDS, FileKind
from tests.scanners.secrets.secret_tokens import scanner


def test_registered_with_every_rule() -> None:
    cls = all_scanners()["secrets"]
    assert cls.kinds == TEXT_KINDS and FileKind.NOTEBOOK in cls.kinds
    ids = {r.id for r in ALL_RULES}
    assert len(ids) == len(ALL_RULES) >= 30
    assert all(i.startswith("secrets/") and i in catalog() for i in ids)
    assert {d.rule.id for d in SPECIFIC_DETECTORS} <= ids
    for rule in ALL_RULES:
        assert rule.what and rule.why and rule.fix and rule.example
        if rule is not UNPARSED_NOTEBOOK:  # a note about the scan itself, not a credential
            assert "CWE-798" in rule.tags or "CWE-321" in rule.tags


def test_rule_docs_are_not_findings() -> None:
    """docs/rules.md is generated from these rules; its examples must not be secrets."""
    doc = "\n\n".join(r.help_markdown() + "\n" + r.help_text() for r in ALL_RULES)
    findings = scanner().scan_content("docs/rules.md", doc, FileKind.TEXT)
    assert [(f.rule_id, f.snippet) for f in findings] == []
