"""The fake GitHub API itself behaves as github-contract.md §6 says: it is only
as good a witness as it is faithful."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import requests

from tests.action.fake_github import FakeGitHub

REPO = "octo-org/ml-service"
AUTH = {"Authorization": "Bearer write-token", "Accept": "application/vnd.github+json"}
SHA = "c" * 40


def sarif_body(log: Any = None, raw: bytes | None = None) -> dict[str, Any]:
    data = raw if raw is not None else gzip.compress(json.dumps(log or {"version": "2.1.0", "runs": []}).encode())
    return {"commit_sha": SHA, "ref": "refs/heads/main", "sarif": base64.b64encode(data).decode()}


def test_every_response_carries_rate_limit_headers(fake_github: FakeGitHub) -> None:
    resp = requests.get(f"{fake_github.url}/repos/{REPO}/issues/1/comments", headers=AUTH, timeout=5)
    for name in ("limit", "remaining", "used", "reset", "resource"):
        assert f"x-ratelimit-{name}" in resp.headers
    assert requests.get(f"{fake_github.url}/repos/{REPO}/issues/1/comments", timeout=5).status_code == 401


def test_sarif_upload_failures(fake_github: FakeGitHub) -> None:
    url = f"{fake_github.url}/repos/{REPO}/code-scanning/sarifs"
    assert requests.post(url, json=sarif_body(raw=b"not gzip"), headers=AUTH, timeout=5).status_code == 400
    not_sarif = requests.post(url, json=sarif_body({"version": "1.0"}), headers=AUTH, timeout=5)
    assert not_sarif.status_code == 400
    missing = requests.post(url, json={"ref": "refs/heads/main"}, headers=AUTH, timeout=5)
    assert missing.status_code == 422 and missing.json()["message"].startswith("Invalid request.\n\n")
    unknown = requests.post(url.replace(REPO, "octo-org/nope"), json=sarif_body(), headers=AUTH, timeout=5)
    assert unknown.status_code == 404
    ok = requests.post(url, json=sarif_body(), headers=AUTH, timeout=5)
    assert ok.status_code == 202 and ok.json()["url"].endswith(ok.json()["id"])
    status = f"{url}/{ok.json()['id']}"
    assert requests.get(status, headers=AUTH, timeout=5).json()["processing_status"] == "pending"
    done = requests.get(status, headers=AUTH, timeout=5).json()
    assert done["processing_status"] == "complete" and "sarif_id=" in done["analyses_url"]
    assert requests.get(f"{url}/no-such-id", headers=AUTH, timeout=5).status_code == 404


def test_sarif_over_ten_megabytes_is_413(fake_github: FakeGitHub) -> None:
    big = bytes(range(256)) * (41 * 1024)  # > 10 MiB of incompressible-looking bytes, sent as is
    url = f"{fake_github.url}/repos/{REPO}/code-scanning/sarifs"
    assert requests.post(url, json=sarif_body(raw=big), headers=AUTH, timeout=30).status_code == 413


def test_comments_link_header_and_location(fake_github: FakeGitHub) -> None:
    url = f"{fake_github.url}/repos/{REPO}/issues/5/comments"
    created = requests.post(url, json={"body": "hello"}, headers=AUTH, timeout=5)
    assert created.status_code == 201 and created.headers["Location"].endswith(f"/comments/{created.json()['id']}")
    for i in range(4):
        fake_github.add_comment(5, f"n{i}")
    page = requests.get(url, params={"per_page": 2}, headers=AUTH, timeout=5)
    assert [c["body"] for c in page.json()] == ["hello", "n0"]
    assert "per_page=2" in page.links["next"]["url"] and page.links["last"]["url"].endswith("page=3")
    last = requests.get(page.links["last"]["url"], headers=AUTH, timeout=5)
    assert "next" not in last.links and "prev" in last.links
    too_long = requests.post(url, json={"body": "x" * 65_537}, headers=AUTH, timeout=5)
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["message"] == "Body is too long (maximum is 65536 characters)"


def test_pull_request_and_check_runs(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(42, head_sha="a" * 40, base_sha="b" * 40, head_repo="mallory/ml-service")
    pull = requests.get(f"{fake_github.url}/repos/{REPO}/pulls/42", headers=AUTH, timeout=5).json()
    assert pull["head"]["repo"]["fork"] is True and pull["base"]["sha"] == "b" * 40
    checks = f"{fake_github.url}/repos/{REPO}/check-runs"
    annotation = {"path": "a.py", "start_line": 1, "end_line": 1, "annotation_level": "failure", "message": "m"}
    output = {"title": "aisec-ci", "summary": "s", "annotations": [annotation] * 51}
    too_many = requests.post(
        checks, json={"name": "aisec-ci", "head_sha": SHA, "output": output}, headers=AUTH, timeout=5
    )
    assert too_many.status_code == 422
    no_conclusion = requests.post(
        checks, json={"name": "aisec-ci", "head_sha": SHA, "status": "completed"}, headers=AUTH, timeout=5
    )
    assert no_conclusion.status_code == 422
    output["annotations"] = [annotation] * 50
    run = requests.post(checks, json={"name": "aisec-ci", "head_sha": SHA, "output": output}, headers=AUTH, timeout=5)
    assert run.status_code == 201
    patched = requests.patch(
        f"{checks}/{run.json()['id']}",
        json={"conclusion": "failure", "output": {"title": "aisec-ci", "summary": "s", "annotations": [annotation]}},
        headers=AUTH,
        timeout=5,
    )
    assert patched.status_code == 200
    assert patched.json()["output"]["annotations_count"] == 51 and patched.json()["status"] == "completed"
