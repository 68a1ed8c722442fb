"""Every real-world workflow parses, and our findings on them match a hand-reviewed snapshot.

Review notes (against zizmor 1.32.0 --offline on the same 11 files, 190 findings):
- unpinned-uses: zizmor 105, we 105 at the same lines (plus none for the `if: false` Slack step in
  NVIDIA e2e.yaml, which never runs). GitHub's own actions are low here, tags of others medium,
  `@main`/`@master` high.
- excessive-permissions: zizmor reports the workflow and each job (27 medium + 3 high); we report a
  workflow without a block once (missing-permissions, 8) and the three workflow-level write scopes of
  cherrypick.yml (high: the workflow runs on pull_request_target). Reusable `workflow_call`-only
  workflows (e2e.yaml, image.yaml) are skipped by both.
- template-injection: zizmor 13. We report the same 8 high ones, but at our tiers: `inputs.version`
  low (dispatch inputs), `github.ref_name`/`github.base_ref`/`release.tag_name` low (only people who can push
  choose them). zizmor's 4 informational `steps.vars.outputs.sha_short` (git rev-parse output) and the
  low `env.tag` in github-script are not reported: we could not defend them to the authors.
- cache-poisoning: zizmor 14 (every setup-go/setup-node in push-triggered workflows); we report the 8
  in jobs that push images or run goreleaser. consistency-check.yaml and the lint job publish nothing.
- dangerous-triggers: zizmor also flags `issue_comment` in cherrypick.yml; that workflow neither checks
  out nor expands PR text, so we only mark the `pull_request_target` trigger (low).
- artipacked: zizmor 26 low; we 26 persist-credentials low (no job uploads its checkout).
- secrets-inherit 1 (low here: a local reusable workflow); secrets-outside-env (off by default) 9.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.scanners.workflows.workflows_testlib import FIXTURES, REALWORLD, scan_path

SNAPSHOT = FIXTURES / "realworld-snapshot.json"


def _files() -> list[Path]:
    if not REALWORLD.is_dir():
        pytest.skip("../shared/data/realworld/workflows is not beside the checkout")
    return sorted(p for p in REALWORLD.rglob("*") if p.suffix in (".yml", ".yaml"))


def _current() -> list[list[object]]:
    rows: list[list[object]] = []
    for path in _files():
        rel = path.relative_to(REALWORLD).as_posix()
        for f in scan_path(path, rel=rel):
            rows.append([rel, f.rule_id, f.start_line, f.severity.label])
    return sorted(rows, key=lambda r: (str(r[0]), int(str(r[2])), str(r[1])))


def test_every_realworld_workflow_parses() -> None:
    files = _files()
    assert len(files) >= 11
    for path in files:
        scan_path(path)  # raises SkipFile on a parse failure


def test_findings_match_reviewed_snapshot() -> None:
    current = _current()
    if os.environ.get("AISEC_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text("[\n" + ",\n".join(json.dumps(row) for row in current) + "\n]\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert current == expected


def test_snapshot_totals_per_rule() -> None:
    counts: dict[str, int] = {}
    for _, rule, _, _ in json.loads(SNAPSHOT.read_text()):
        counts[rule] = counts.get(rule, 0) + 1
    assert counts == {
        "workflows/cache-poisoning": 8,
        "workflows/dangerous-trigger": 1,
        "workflows/excessive-permissions": 3,
        "workflows/missing-permissions": 8,
        "workflows/persist-credentials": 26,
        "workflows/secrets-inherit": 1,
        "workflows/secrets-outside-env": 9,
        "workflows/template-injection": 8,
        "workflows/unpinned-action": 105,
    }
