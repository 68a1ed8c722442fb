"""The environment -> RunPlan translation, event by event, without git or network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aisec_ci.action.env import Event, build_plan, input_name, read_event, upload_target
from aisec_ci.action.run import trust_workspace
from aisec_ci.errors import UsageError
from aisec_ci.severity import Severity
from tests.action.conftest import event_payload

BASE = "1" * 40
HEAD = "2" * 40
MERGE = "3" * 40


def env_for(tmp_path: Path, name: str, payload: dict[str, Any], **extra: str) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload), encoding="utf-8")
    env = {
        "GITHUB_WORKSPACE": str(tmp_path),
        "GITHUB_EVENT_NAME": name,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SHA": MERGE,
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_REPOSITORY": "octo-org/ml-service",
        "INPUT_FAIL-ON": "",  # action.yml's default: the config or high decides
        "INPUT_NEW-ONLY": "auto",
        "INPUT_GITHUB-TOKEN": "ghs_faketoken",
    }
    env.update(extra)
    return env


def pr(fork: bool = False, head_repo: str | None = "octo-org/ml-service") -> dict[str, Any]:
    payload = event_payload(
        "pull_request.synchronize",
        HEAD_SHA=HEAD,
        BASE_SHA=BASE,
        MERGE_SHA=MERGE,
        HEAD_LABEL="x:y",
        HEAD_OWNER="x",
        HEAD_REPO=head_repo or "",
        HEAD_FORK="true" if fork else "false",
    )
    if head_repo is None:
        payload["pull_request"]["head"]["repo"] = None
    return payload


def test_input_names_keep_hyphens() -> None:
    assert input_name("fail-on") == "INPUT_FAIL-ON"
    assert input_name("new only") == "INPUT_NEW_ONLY"


def test_pull_request_takes_base_and_head_from_the_payload(tmp_path: Path) -> None:
    plan = build_plan(env_for(tmp_path, "pull_request", pr()))
    ev = plan.event
    assert (ev.base_sha, ev.pr_head_sha, ev.pr_number, ev.is_fork) == (BASE, HEAD, 42, False)
    assert plan.new_only and plan.new_only_input == "auto"
    assert plan.fail_on is Severity.HIGH and not plan.fail_on_set
    assert "ghs_faketoken" not in repr(plan)


@pytest.mark.parametrize("head_repo", ["mallory/ml-service", None])
def test_fork_detection(tmp_path: Path, head_repo: str | None) -> None:
    plan = build_plan(env_for(tmp_path, "pull_request", pr(fork=True, head_repo=head_repo)))
    assert plan.event.is_fork


def test_pull_request_target_from_a_fork_has_a_write_token(tmp_path: Path) -> None:
    env = env_for(tmp_path, "pull_request_target", pr(fork=True, head_repo="mallory/ml-service"))
    env["GITHUB_REF"] = "refs/heads/main"
    plan = build_plan(env)
    assert not plan.event.is_fork
    assert not plan.new_only  # auto is on only for pull_request and merge_group
    assert plan.event.base_sha == BASE


def test_push_range_first_push_and_empty_push(tmp_path: Path) -> None:
    push = event_payload("push", BEFORE_SHA=BASE, AFTER_SHA=HEAD)
    assert read_event({"GITHUB_EVENT_NAME": "push", "GITHUB_SHA": HEAD}, push).base_sha == BASE
    first = event_payload("push", BEFORE_SHA="0" * 40, AFTER_SHA=HEAD)
    ev = read_event({"GITHUB_EVENT_NAME": "push", "GITHUB_SHA": HEAD}, first)
    assert ev.base_sha is None and "first push" in ev.base_note
    same = event_payload("push", BEFORE_SHA=HEAD, AFTER_SHA=HEAD)
    assert read_event({"GITHUB_EVENT_NAME": "push", "GITHUB_SHA": HEAD}, same).base_sha is None
    plan = build_plan(env_for(tmp_path, "push", first, **{"INPUT_NEW-ONLY": "true"}))
    assert not plan.new_only and any("first push" in w for w in plan.warnings)


def test_merge_group_and_full_scan_events(tmp_path: Path) -> None:
    mg = event_payload("merge_group", HEAD_SHA=HEAD, BASE_SHA=BASE)
    plan = build_plan(env_for(tmp_path, "merge_group", mg))
    assert plan.new_only and plan.event.base_sha == BASE
    for name in ("schedule", "workflow_dispatch"):
        plan = build_plan(env_for(tmp_path, name, event_payload("schedule"), **{"INPUT_NEW-ONLY": "true"}))
        assert not plan.new_only and plan.event.base_sha is None


def test_broken_payload_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    env = env_for(tmp_path, "pull_request", {})
    Path(env["GITHUB_EVENT_PATH"]).write_text("{not json", encoding="utf-8")
    plan = build_plan(env)
    assert not plan.new_only
    assert any("unreadable" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INPUT_FAIL-ON", "severe", "input fail-on"),
        ("INPUT_UPLOAD-SARIF", "maybe", "input upload-sarif"),
        ("INPUT_NEW-ONLY", "sometimes", "input new-only"),
        ("INPUT_SCANNERS", ",", "input scanners"),
        ("INPUT_REVIEW-COMMENTS", "sometimes", "input review-comments"),
        ("INPUT_REVIEW-COMMENTS-LIMIT", "twenty", "input review-comments-limit"),
        ("INPUT_REVIEW-COMMENTS-LIMIT", "-1", "input review-comments-limit"),
        ("INPUT_REVIEW-COMMENTS-LIMIT", "101", "from 0 to 100"),
    ],
)
def test_bad_inputs_name_the_input(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_plan(env_for(tmp_path, "schedule", {}, **{name: value}))


def test_explicit_inputs(tmp_path: Path) -> None:
    env = env_for(
        tmp_path,
        "schedule",
        {},
        **{
            "INPUT_SCANNERS": "secrets, docker",
            "INPUT_FAIL-ON": "none",
            "INPUT_PATH": "services/api",
            "INPUT_SARIF-FILE": "reports/out.sarif",
            "INPUT_COMMENT": "false",
            "INPUT_CATEGORY": "aisec-ci/api",
            "INPUT_REVIEW-COMMENTS": "false",
            "INPUT_REVIEW-COMMENTS-LIMIT": "5",
        },
    )
    plan = build_plan(env)
    assert not plan.review_comments and plan.review_comments_limit == 5
    defaults = build_plan(env_for(tmp_path, "pull_request", pr()))
    assert defaults.review_comments and defaults.review_comments_limit == 20
    assert plan.scanners == ["secrets", "docker"]
    assert plan.fail_on is None and plan.fail_on_set
    assert plan.scan_root == tmp_path / "services/api"
    assert plan.sarif_file == tmp_path / "reports/out.sarif"
    assert not plan.comment and plan.upload_sarif
    assert plan.category == "aisec-ci/api"


def test_upload_ref_and_commit_are_paired() -> None:
    ev = Event("pull_request", {}, MERGE, "refs/pull/42/merge", BASE, "", 42, HEAD)
    assert upload_target(ev, MERGE) == ("refs/pull/42/merge", MERGE)
    # The workflow checked out the PR head: the merge ref would not know this commit.
    assert upload_target(ev, HEAD) == ("refs/pull/42/head", HEAD)
    target = Event("pull_request_target", {}, BASE, "refs/heads/main", BASE, "", 42, HEAD)
    assert upload_target(target, BASE) == ("refs/heads/main", BASE)
    assert upload_target(target, HEAD) == ("refs/pull/42/head", HEAD)
    push = Event("push", {}, HEAD, "refs/heads/main")
    assert upload_target(push, None) == ("refs/heads/main", HEAD)
    assert upload_target(Event("push", {}, HEAD, "main"), HEAD) is None


def test_safe_directory_goes_to_every_git_through_the_environment(tmp_path: Path) -> None:
    plan = build_plan(env_for(tmp_path, "schedule", {}, INPUT_PATH="sub/dir"))
    environ = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.pager", "GIT_CONFIG_VALUE_0": "cat"}
    trust_workspace(plan, environ)
    count = int(environ["GIT_CONFIG_COUNT"])
    pairs = [(environ[f"GIT_CONFIG_KEY_{i}"], environ[f"GIT_CONFIG_VALUE_{i}"]) for i in range(count)]
    assert pairs[0] == ("core.pager", "cat")
    values = {v for k, v in pairs if k == "safe.directory"}
    assert {str(tmp_path), str(tmp_path / "sub" / "dir"), str(tmp_path / "sub")} == values


@pytest.mark.parametrize(
    ("given", "severity", "explicit"),
    [("", Severity.HIGH, False), ("high", Severity.HIGH, True), ("Medium", Severity.MEDIUM, True)],
)
def test_fail_on_is_explicit_only_when_given(tmp_path: Path, given: str, severity: Severity, explicit: bool) -> None:
    env = env_for(tmp_path, "schedule", {})
    env["INPUT_FAIL-ON"] = given
    plan = build_plan(env)
    assert (plan.fail_on, plan.fail_on_set) == (severity, explicit)
