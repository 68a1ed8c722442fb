"""`aisec-ci scan FILE` inside a repository: the file is judged as what its repository path
makes it, findings name that path, and the repository's configuration applies."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import load_json, make_repo, run_cli

WORKFLOW = """\
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: make test
"""


def test_a_workflow_given_alone_is_scanned_as_a_workflow_with_its_repository_path(tmp_path: Path) -> None:
    repo = tmp_path / "svc"
    config = "rules:\n  workflows/missing-permissions:\n    enabled: false\n"
    make_repo(repo, {".github/workflows/ci.yml": WORKFLOW, ".aisec.yml": config})
    out = tmp_path / "r.json"
    # Run from inside the repository with a relative path, as a user at a terminal would.
    proc = run_cli(
        "scan", "workflows/ci.yml", "--format", "json", "--output", out, "--fail-on", "none",
        cwd=repo / ".github", plugin=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = load_json(out)
    rules = {(f["path"], f["rule_id"]) for f in report["findings"]}
    assert (".github/workflows/ci.yml", "workflows/untrusted-checkout") in rules
    assert all(path == ".github/workflows/ci.yml" for path, _ in rules)
    # The repository's .aisec.yml was found from the file and applied.
    assert not any(rule == "workflows/missing-permissions" for _, rule in rules)
    assert report["summary"]["files_by_kind"] == {"workflow": 1}
