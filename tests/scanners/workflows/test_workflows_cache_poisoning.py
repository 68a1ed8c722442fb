"""workflows/cache-poisoning."""

from __future__ import annotations

from tests.scanners.workflows.workflows_testlib import hits, scan

RULE = "workflows/cache-poisoning"


def test_caches_in_tag_release_workflow() -> None:
    findings = scan("cases/cache-poisoning-bad.yml")
    assert hits(findings, RULE) == [(20, "medium"), (24, "medium")]
    assert all(f.properties["publish"] == "runs on tag pushes" for f in findings if f.rule_id == RULE)


def test_setup_go_default_cache_in_a_job_that_pushes_images() -> None:
    findings = scan("cases/cache-poisoning-push-bad.yml")
    assert hits(findings, RULE) == [(14, "medium")]  # the `test` job publishes nothing


def test_clean_release_build_passes() -> None:
    assert hits(scan("cases/cache-poisoning-good.yml"), RULE) == []
