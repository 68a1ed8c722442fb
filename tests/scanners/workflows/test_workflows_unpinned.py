"""workflows/unpinned-action and workflows/unpinned-image."""

from __future__ import annotations

from tests.scanners.workflows.workflows_testlib import hits, scan

ACTION = "workflows/unpinned-action"
IMAGE = "workflows/unpinned-image"


def test_tags_branches_short_shas_and_reusable_workflows() -> None:
    findings = scan("cases/unpinned-bad.yml")
    assert hits(findings, ACTION) == [
        (20, "low"),  # actions/checkout@v4: first party
        (23, "medium"),  # third-party tag
        (24, "high"),  # branch
        (25, "medium"),  # abbreviated SHA
        (30, "high"),  # reusable workflow on a branch
    ]
    by_line = {f.start_line: f for f in findings if f.rule_id == ACTION}
    assert by_line[23].properties == {"action": "iterative/setup-dvc", "ref": "v1", "first_party": False}
    assert "reusable workflow" in by_line[30].message


def test_images_without_digest() -> None:
    findings = scan("cases/unpinned-bad.yml")
    assert hits(findings, IMAGE) == [(13, "medium"), (16, "low"), (18, "medium"), (26, "low")]


def test_sha_pins_local_actions_digests_and_allowed_owners() -> None:
    allowed = {"allowed_unpinned_owners": ["ml-org"]}
    findings = scan("cases/unpinned-good.yml", allowed)
    assert hits(findings, ACTION) == []
    assert hits(findings, IMAGE) == []
    # Without the option the internal action is reported; a repo-level glob allows it as well.
    assert hits(scan("cases/unpinned-good.yml"), ACTION) == [(20, "medium")]
    assert hits(scan("cases/unpinned-good.yml", {"allowed_unpinned_owners": ["ml-org/internal-*"]}), ACTION) == []
    assert hits(scan("cases/unpinned-good.yml", {"allowed_unpinned_owners": ["other-org"]}), ACTION) == [(20, "medium")]


def test_composite_and_docker_actions() -> None:
    assert hits(scan("cases/composite/action.yml"), ACTION) == [(13, "low"), (16, "medium")]
    assert hits(scan("cases/composite-good/action.yml"), ACTION) == []
    assert hits(scan("cases/docker-action/action.yml"), IMAGE) == [(5, "medium")]
