"""entrypoint.py end to end: a runner-like environment, a real git checkout
(shallow, owned by the runner's uid), event payloads, and the fake GitHub API."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aisec_ci.action.publish_comment import marker
from aisec_ci.action.publish_summary import parse_outputs
from tests.action.conftest import Checkout, Runner, build_checkout, event_payload, own_as_runner, pull_patches
from tests.action.fake_github import FakeGitHub
from tests.conftest import REPO

OUTPUT_NAMES = {"findings", "new-findings", "critical", "high", "medium", "low", "sarif-file", "gate"}


def pr_payload(co: Checkout, *, fork: bool = False) -> dict[str, Any]:
    head_repo = "mallory/ml-service" if fork else "octo-org/ml-service"
    return event_payload(
        "pull_request.synchronize",
        HEAD_SHA=co.head_sha,
        BASE_SHA=co.base_sha,
        MERGE_SHA=co.head_sha,
        HEAD_LABEL=f"{head_repo.split('/')[0]}:feature/embeddings",
        HEAD_OWNER=head_repo.split("/")[0],
        HEAD_REPO=head_repo,
        HEAD_FORK="true" if fork else "false",
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    co = build_checkout(tmp_path)
    own_as_runner(co.workspace)
    return co


def everything_written(runner: Runner, proc: subprocess.CompletedProcess[str], fake: FakeGitHub) -> str:
    """Every byte the action produced or sent, to look for a leaked secret."""
    parts = [proc.stdout, proc.stderr, runner.output_file.read_text(), runner.summary_file.read_text()]
    sarif = runner.workspace / "aisec-ci.sarif"
    if sarif.exists():
        parts.append(sarif.read_text())
    for rec in fake.calls():
        parts.append(rec.raw.decode("utf-8", "replace"))
        if rec.body and isinstance(rec.body, dict) and "sarif" in rec.body:
            parts.append(gzip.decompress(base64.b64decode(rec.body["sarif"])).decode("utf-8"))
    return "\n".join(parts)


def test_fixture_reproduces_dubious_ownership(checkout: Checkout) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to own the workspace as another uid")
    proc = subprocess.run(
        ["git", "rev-parse", "HEAD"],
        cwd=checkout.workspace,
        env={"PATH": os.environ["PATH"], "HOME": str(checkout.workspace.parent), "GIT_CONFIG_NOSYSTEM": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "dubious ownership" in proc.stderr


def test_pull_request_uploads_comments_and_gates_on_new_findings(
    tmp_path: Path,
    checkout: Checkout,
    fake_github: FakeGitHub,
    sarif_validate: Callable[[dict[str, Any]], None],
) -> None:
    patches = pull_patches(checkout.origin, checkout.base_sha, checkout.head_sha)
    fake_github.add_pull(42, checkout.head_sha, checkout.base_sha, patches=patches)
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    payload = pr_payload(checkout)
    proc = runner.run("pull_request", payload, checkout.head_sha, "refs/pull/42/merge")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "fetching base commit" in proc.stderr  # the shallow clone lacked the base
    assert not [w for w in proc.stdout.splitlines() if w.startswith("::warning::")]  # every publish step worked

    outputs = parse_outputs(runner.output_file.read_text())
    assert set(outputs) == OUTPUT_NAMES
    assert outputs["gate"] == "failed"
    assert outputs["sarif-file"] == "aisec-ci.sarif"
    # The base already had the Dockerfile's findings: they are not new, and not counted.
    assert int(outputs["findings"]) > int(outputs["new-findings"]) > 0
    assert outputs["high"] == "2" and outputs["critical"] == "0"

    uploads = fake_github.calls("code-scanning/upload-sarif")
    assert [u.status for u in uploads] == [202]
    body = uploads[0].body
    assert body["ref"] == "refs/pull/42/merge" and body["commit_sha"] == checkout.head_sha
    assert body["tool_name"] == "aisec-ci"
    assert body["checkout_uri"] == checkout.workspace.as_uri() + "/"
    assert body["started_at"].endswith("Z")
    sent = json.loads(gzip.decompress(base64.b64decode(body["sarif"])))
    written = json.loads((checkout.workspace / "aisec-ci.sarif").read_text(encoding="utf-8"))
    assert sent == written
    sarif_validate(sent)
    rules = {r["ruleId"] for r in sent["runs"][0]["results"]}
    assert {"secrets/huggingface-token", "k8s/privileged-container"} <= rules
    assert [p.status for p in fake_github.calls("code-scanning/get-sarif")] == [200, 200]  # pending, complete

    comments = fake_github.issue_comments(42)
    assert len(comments) == 1
    text = comments[0]["body"]
    assert text.startswith(marker("aisec-ci"))
    assert "Existing findings" in text and "docker/curl-pipe-shell" in text
    assert "k8s/privileged-container" in text

    summary = runner.summary_file.read_text(encoding="utf-8")
    assert "aisec-ci: failed" in summary and "Existing findings" in summary
    assert "::error file=app/settings.py,line=3" in proc.stdout

    assert checkout.secret not in everything_written(runner, proc, fake_github)

    # A second run (a new push to the PR) updates the same comment instead of adding one.
    (tmp_path / "github" / "file_commands").mkdir(exist_ok=True)
    proc2 = runner.run("pull_request", payload, checkout.head_sha, "refs/pull/42/merge")
    assert proc2.returncode == 1
    comments = fake_github.issue_comments(42)
    assert len(comments) == 1
    assert [c.method for c in fake_github.calls() if "/issues/" in c.path] == ["GET", "POST", "GET"]
    # Unchanged body: no PATCH is spent on content-creation quota.


def test_rerun_with_changed_findings_patches_the_comment_among_many(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    for i in range(140):
        fake_github.add_comment(42, f"review note {i}")
    # A person quoting our marker is not mistaken for our comment.
    fake_github.add_comment(42, marker("aisec-ci") + "quoted by a human", login="mona")
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    payload = pr_payload(checkout)
    first = runner.run("pull_request", payload, checkout.head_sha, "refs/pull/42/merge", {"upload-sarif": "false"})
    assert first.returncode == 1
    ours = [c for c in fake_github.issue_comments(42) if c["user"]["type"] == "Bot"]
    assert len(ours) == 1
    second = runner.run(
        "pull_request", payload, checkout.head_sha, "refs/pull/42/merge", {"upload-sarif": "false", "fail-on": "none"}
    )
    assert second.returncode == 0
    ours_after = [c for c in fake_github.issue_comments(42) if c["user"]["type"] == "Bot"]
    assert len(ours_after) == 1 and ours_after[0]["id"] == ours[0]["id"]
    assert "gate off" in ours_after[0]["body"]
    patches = fake_github.calls("issues/update-comment")
    assert len(patches) == 1 and patches[0].path.endswith(f"/{ours[0]['id']}")
    lists = fake_github.calls("issues/list-comments")
    assert any("page=2" in json.dumps(r.query) or r.query.get("page") == ["2"] for r in lists)
    assert all(r.query.get("per_page") == ["100"] for r in lists)
    human = [c for c in fake_github.issue_comments(42) if c["user"]["login"] == "mona"]
    assert human[0]["body"].endswith("quoted by a human")


def test_fork_pull_request_skips_publishing_and_keeps_the_gate(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    fake_github.state.tokens["read-token"] = "read"
    runner = Runner(tmp_path, checkout.workspace, fake_github.url, token="read-token")
    proc = runner.run("pull_request", pr_payload(checkout, fork=True), checkout.head_sha, "refs/pull/42/merge")
    assert proc.returncode == 1
    assert "pull request from a fork" in proc.stdout
    assert fake_github.calls() == []
    outputs = parse_outputs(runner.output_file.read_text())
    assert outputs["gate"] == "failed"
    summary = runner.summary_file.read_text(encoding="utf-8")
    assert "aisec-ci: failed" in summary
    # On a fork the summary is the report a reviewer sees: it says why nothing was published.
    assert "### Publishing" in summary and "pull request from a fork" in summary


def test_read_only_token_on_same_repo_pr_degrades_to_warnings(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    # Dependabot's pull requests get a read-only token without being forks.
    fake_github.state.tokens["read-token"] = "read"
    runner = Runner(tmp_path, checkout.workspace, fake_github.url, token="read-token")
    proc = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    assert proc.returncode == 1
    assert [c.status for c in fake_github.calls("code-scanning/upload-sarif")] == [403]
    assert [c.status for c in fake_github.calls("issues/create-comment")] == [403]
    warnings = [line for line in proc.stdout.splitlines() if line.startswith("::warning::")]
    assert any("SARIF upload failed" in w and "security-events: write" in w for w in warnings)
    assert any("PR comment not written" in w for w in warnings)
    assert "read-token" not in proc.stdout + proc.stderr


def test_failures_never_change_the_exit_code(tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub) -> None:
    """GHAS off, 500 once, a secondary rate limit, a processing failure: the gate alone decides."""
    fake_github.state.repos["octo-org/ml-service"] = False
    fake_github.state.fail_once["issues/list-comments"] = 500
    fake_github.state.secondary_limit_once["issues/create-comment"] = 1
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    passed = runner.run(
        "pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge", {"fail-on": "critical"}
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert any("code scanning is not enabled" in line for line in passed.stdout.splitlines())
    assert [c.status for c in fake_github.calls("issues/list-comments")] == [500, 200]
    assert [c.status for c in fake_github.calls("issues/create-comment")] == [429, 201]
    assert len(fake_github.issue_comments(42)) == 1

    fake_github.state.repos["octo-org/ml-service"] = True
    fake_github.state.processing_errors = ["locationFromSarifResult: expected artifact location"]
    failed = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    assert failed.returncode == 1
    assert "could not process the SARIF upload: locationFromSarifResult" in failed.stdout


def test_push_event_reports_everything_by_default_and_new_only_on_request(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    payload = event_payload("push", BEFORE_SHA=checkout.base_sha, AFTER_SHA=checkout.head_sha)
    full = runner.run("push", payload, checkout.head_sha, "refs/heads/main")
    assert full.returncode == 1
    out = parse_outputs(runner.output_file.read_text())
    assert out["findings"] == out["new-findings"]
    upload = fake_github.calls("code-scanning/upload-sarif")[-1].body
    assert (upload["ref"], upload["commit_sha"]) == ("refs/heads/main", checkout.head_sha)
    assert fake_github.calls("issues/list-comments") == []  # no pull request, no comment

    new_only = runner.run("push", payload, checkout.head_sha, "refs/heads/main", {"new-only": "true"})
    out2 = parse_outputs(runner.output_file.read_text())
    assert new_only.returncode == 1
    assert int(out2["new-findings"]) < int(out2["findings"]) == int(out["findings"])
    assert checkout.secret not in everything_written(runner, new_only, fake_github)


@pytest.mark.parametrize("before", ["0" * 40, "same"])
def test_push_without_a_range_scans_everything(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub, before: str
) -> None:
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    before_sha = checkout.head_sha if before == "same" else before
    payload = event_payload("push", BEFORE_SHA=before_sha, AFTER_SHA=checkout.head_sha)
    proc = runner.run("push", payload, checkout.head_sha, "refs/heads/feature/embeddings", {"new-only": "true"})
    assert proc.returncode == 1
    out = parse_outputs(runner.output_file.read_text())
    assert out["findings"] == out["new-findings"]
    reason = "first push" if before != "same" else "before == after"
    assert any(reason in line for line in proc.stdout.splitlines() if line.startswith("::warning::"))


def test_merge_group_is_new_only_and_passes_when_nothing_new_is_severe(tmp_path: Path, fake_github: FakeGitHub) -> None:
    co = build_checkout(tmp_path, head_files={"docs/CHANGELOG.md": "## 1.4.2\n\n- faster batching\n"})
    own_as_runner(co.workspace)
    runner = Runner(tmp_path, co.workspace, fake_github.url)
    payload = event_payload("merge_group", HEAD_SHA=co.head_sha, BASE_SHA=co.base_sha)
    ref = f"refs/heads/gh-readonly-queue/main/pr-42-{co.base_sha}"
    proc = runner.run("merge_group", payload, co.head_sha, ref)
    # The base's high finding still exists, but it is not new: the queue may merge.
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = parse_outputs(runner.output_file.read_text())
    assert out["gate"] == "passed" and out["new-findings"] == "0" and int(out["findings"]) >= 1
    assert fake_github.calls("code-scanning/upload-sarif")[0].body["ref"] == ref


def test_schedule_scans_the_whole_repository(tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub) -> None:
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    proc = runner.run("schedule", event_payload("schedule"), checkout.head_sha, "refs/heads/main")
    assert proc.returncode == 1
    out = parse_outputs(runner.output_file.read_text())
    assert out["findings"] == out["new-findings"]
    assert "fetching base commit" not in proc.stderr
    assert len(fake_github.calls("code-scanning/upload-sarif")) == 1


def test_bad_input_is_exit_2_with_a_clear_message(tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub) -> None:
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    proc = runner.run(
        "schedule", event_payload("schedule"), checkout.head_sha, "refs/heads/main", {"fail-on": "severe"}
    )
    assert proc.returncode == 2
    assert "::error::aisec-ci: input fail-on: 'severe'" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert parse_outputs(runner.output_file.read_text()) == {"gate": "error"}
    assert fake_github.calls() == []


def test_profile_and_min_severity_inputs(tmp_path: Path, fake_github: FakeGitHub) -> None:
    root = "FROM python:3.12\nRUN pip install flask\nRUN curl -fsSL https://get.example.sh | sh\n"
    co = build_checkout(tmp_path, head_files={"Dockerfile": root, "docs/examples/Dockerfile": root})
    own_as_runner(co.workspace)
    runner = Runner(tmp_path, co.workspace, fake_github.url)
    proc = runner.run("schedule", event_payload("schedule"), co.head_sha, "refs/heads/main")
    default_summary = runner.summary_file.read_text(encoding="utf-8")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # Counts by role and by profile, and the docs copy lowered out of the gate.
    assert "By role: " in default_summary and "docs" in default_summary
    assert "more in strict" in default_summary and "docker/pip-unpinned" not in default_summary
    inputs = {"profile": "strict", "min-severity": "high"}
    proc = runner.run("schedule", event_payload("schedule"), co.head_sha, "refs/heads/main", inputs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = runner.summary_file.read_text(encoding="utf-8")
    assert "Profile: **strict**" in summary
    assert "docker/curl-pipe-shell" in summary
    assert "docker/root-user" not in summary  # medium: below min-severity, not listed
    assert "below high not listed (--min-severity)" in summary
    # The SARIF upload keeps every finding of the profile, whatever the display threshold.
    log = json.loads((co.workspace / "aisec-ci.sarif").read_text(encoding="utf-8"))
    rules = {r["ruleId"] for r in log["runs"][0]["results"]}
    assert {"docker/root-user", "docker/pip-unpinned"} <= rules
    bad = runner.run("schedule", event_payload("schedule"), co.head_sha, "refs/heads/main", {"profile": "paranoid"})
    assert bad.returncode == 2 and "input profile: 'paranoid' is not one of default, strict, audit" in bad.stdout


def test_subdirectory_paths_are_repository_relative(
    tmp_path: Path, fake_github: FakeGitHub, sarif_validate: Callable[[dict[str, Any]], None]
) -> None:
    co = build_checkout(
        tmp_path,
        head_files={"services/api/Dockerfile": "FROM python:3.12-slim\nRUN curl -fsSL https://get.example.sh | sh\n"},
    )
    own_as_runner(co.workspace)
    runner = Runner(tmp_path, co.workspace, fake_github.url)
    proc = runner.run("schedule", event_payload("schedule"), co.head_sha, "refs/heads/main", {"path": "services/api"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    log = json.loads((co.workspace / "aisec-ci.sarif").read_text(encoding="utf-8"))
    sarif_validate(log)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"services/api/Dockerfile"}
    assert "::error file=services/api/Dockerfile,line=2" in proc.stdout


def test_unfetchable_base_falls_back_to_a_full_scan_with_a_warning(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    # The origin is gone (or the credentials were not persisted): the base commit cannot be fetched.
    shutil.rmtree(checkout.origin)
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    proc = runner.run("pull_request", pr_payload(checkout), checkout.head_sha, "refs/pull/42/merge")
    assert proc.returncode == 1
    assert any("could not be fetched" in line and "fetch-depth: 0" in line for line in proc.stdout.splitlines())
    out = parse_outputs(runner.output_file.read_text())
    assert out["findings"] == out["new-findings"]
    assert "Existing findings" not in fake_github.issue_comments(42)[0]["body"]


def test_offline_db_is_indexed_beside_the_archive_once_and_never_scanned(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    osv = REPO.parent / "shared" / "data" / "advisories" / "osv-pypi"
    if not osv.is_dir():
        pytest.skip("shared advisory data is absent")
    co = build_checkout(tmp_path, head_files={"ml/requirements.txt": "pyyaml==5.3\n"})
    cache = co.workspace / ".aisec-cache"
    cache.mkdir()
    with zipfile.ZipFile(cache / "PyPI-all.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("PYSEC-2020-96", "PYSEC-2021-142", "PYSEC-2023-192"):
            zf.write(osv / f"{name}.json", f"{name}.json")
    own_as_runner(co.workspace)
    runner = Runner(tmp_path, co.workspace, fake_github.url)
    inputs = {"offline-db": ".aisec-cache/PyPI-all.zip", "scanners": "deps", "upload-sarif": "false"}

    def run() -> dict[str, Any]:
        # As on a real runner, no AISEC_CACHE_DIR: the action picks the directory beside the archive.
        payload = event_payload("schedule")
        proc = runner.run("schedule", payload, co.head_sha, "refs/heads/main", inputs, unset=["AISEC_CACHE_DIR"])
        assert proc.returncode == 1, proc.stdout + proc.stderr
        sarif: dict[str, Any] = json.loads((co.workspace / "aisec-ci.sarif").read_text(encoding="utf-8"))
        return sarif

    sarif = run()
    results = sarif["runs"][0]["results"]
    found = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results}
    assert ("deps/vulnerable-package", "ml/requirements.txt") in found
    assert not any(uri.startswith(".aisec-cache") for _rule, uri in found)
    [store] = (cache / ".aisec-ci-cache" / "osv" / "stores").glob("*.sqlite")
    built = store.stat().st_mtime_ns
    # A later job (the cache restored with the archive) reads the index instead of rebuilding it.
    again = run()
    assert again["runs"][0]["results"] == results
    assert store.stat().st_mtime_ns == built


def test_an_explicit_fail_on_input_overrides_the_config_even_when_it_is_high(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    """`.aisec.yml` says `fail-on: none`; the input `fail-on: high` (once the input's own default,
    so indistinguishable from "not given") must win, and no input at all leaves the config in charge."""
    config = "fail-on: none\n"
    co = build_checkout(tmp_path, head_files={".aisec.yml": config, "app/settings.py": 'HF_TOKEN = "%s"\n'})
    token = co.secret
    (co.workspace / "app" / "settings.py").write_text(f'HF_TOKEN = "{token}"\n', encoding="utf-8")
    runner = Runner(tmp_path, co.workspace, fake_github.url)
    payload = event_payload("schedule")
    from_config = runner.run("schedule", payload, co.head_sha, "refs/heads/main", {"upload-sarif": "false"})
    assert from_config.returncode == 0, from_config.stdout
    explicit = runner.run(
        "schedule", payload, co.head_sha, "refs/heads/main", {"upload-sarif": "false", "fail-on": "high"}
    )
    assert explicit.returncode == 1, explicit.stdout


def test_new_inputs_exclude_history_sbom_and_extra_reports(tmp_path: Path, fake_github: FakeGitHub) -> None:
    """exclude, history: pr, sbom, json-file and markdown-file, on a pull request (full clone)."""
    first = build_checkout(tmp_path, depth=None)
    # A second commit of the pull request takes the token out again: only history still has it.
    settings = first.workspace / "app" / "settings.py"
    settings.write_text('"""Embedding settings."""\n\nHF_TOKEN = os.environ["HF_TOKEN"]\n', encoding="utf-8")
    git_env = ["-c", "user.name=dev", "-c", "user.email=dev@example.org"]
    subprocess.run(["git", "-C", str(first.workspace), *git_env, "commit", "-qam", "Read the token"], check=True)
    head = subprocess.run(
        ["git", "-C", str(first.workspace), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    co = Checkout(first.origin, first.workspace, first.base_sha, head, first.secret)
    own_as_runner(co.workspace)
    runner = Runner(tmp_path, co.workspace, fake_github.url)
    inputs = {
        "upload-sarif": "false",
        "comment": "false",
        "fail-on": "none",
        "exclude": "Dockerfile",
        "history": "pr",
        "sbom": "reports/sbom.cdx.json",
        "json-file": "reports/aisec.json",
        "markdown-file": "reports/aisec.md",
    }
    proc = runner.run("pull_request", pr_payload(co), co.head_sha, "refs/pull/42/merge", inputs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((co.workspace / "reports" / "aisec.json").read_text())
    paths = {f["path"] for f in report["findings"]} | {s["path"] for s in report["suppressed"]}
    assert "Dockerfile" not in paths  # excluded
    assert any(s["path"] == "Dockerfile" for s in report["skipped"])
    # history: pr scanned the pull request's commit that added the token.
    historic = [f for f in report["suppressed"] + report["findings"] if "commit" in f.get("properties", {})]
    assert {f["properties"]["commit"] for f in historic} == {first.head_sha}
    markdown = (co.workspace / "reports" / "aisec.md").read_text()
    assert "aisec-ci" in markdown and co.secret not in markdown
    sbom = json.loads((co.workspace / "reports" / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX" and sbom["components"]
    # Our own reports are never scanned as repository content on a re-run.
    again = runner.run("pull_request", pr_payload(co), co.head_sha, "refs/pull/42/merge", inputs)
    assert again.returncode == 0
    rerun = json.loads((co.workspace / "reports" / "aisec.json").read_text())
    assert not any(f["path"].startswith("reports/") for f in rerun["findings"])
    assert co.secret not in everything_written(runner, again, fake_github)


def test_history_pr_outside_a_pull_request_says_why_it_is_skipped(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    proc = runner.run(
        "schedule", event_payload("schedule"), checkout.head_sha, "refs/heads/main",
        {"history": "pr", "upload-sarif": "false"},
    )  # fmt: skip
    assert any("history: pr needs a pull request" in line for line in proc.stdout.splitlines())


def test_cache_input_reuses_results_and_changes_nothing_reported(
    tmp_path: Path, checkout: Checkout, fake_github: FakeGitHub
) -> None:
    """`cache:` keeps per-file results in the workspace (for actions/cache): the second run of a
    pull request scans nothing again, base scan included, and reports exactly what a run
    without the cache reports."""
    runner = Runner(tmp_path, checkout.workspace, fake_github.url)
    payload = pr_payload(checkout)
    sarif = checkout.workspace / "aisec-ci.sarif"
    plain = runner.run("pull_request", payload, checkout.head_sha, "refs/pull/42/merge", {"upload-sarif": "false"})
    assert plain.returncode == 1, plain.stdout + plain.stderr
    expected, expected_outputs = sarif.read_bytes(), parse_outputs(runner.output_file.read_text())
    inputs = {"upload-sarif": "false", "cache": ".aisec-cache"}
    runs = [runner.run("pull_request", payload, checkout.head_sha, "refs/pull/42/merge", inputs) for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert sarif.read_bytes() == expected
        assert parse_outputs(runner.output_file.read_text()) == expected_outputs
    assert (checkout.workspace / ".aisec-cache" / "aisec-ci-results.sqlite3").is_file()
    first = re.search(r"cache: (\d+) files reused, (\d+) scanned", runs[0].stderr)
    second = re.search(r"cache: (\d+) files reused, (\d+) scanned", runs[1].stderr)
    assert first and second, runs[0].stderr
    assert int(first.group(2)) > 0 and int(second.group(2)) == 0
    assert int(second.group(1)) == int(first.group(1)) + int(first.group(2))
    assert checkout.secret not in (
        checkout.workspace / ".aisec-cache" / "aisec-ci-results.sqlite3"
    ).read_bytes().decode("latin-1")
