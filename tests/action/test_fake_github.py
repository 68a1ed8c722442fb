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


PATCH = "@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n d\n@@ -20,2 +21,3 @@\n x\n+y\n z"


def test_pull_files_are_paged(fake_github: FakeGitHub) -> None:
    patches: dict[str, str | None] = {f"f{i:02}.py": "@@ -0,0 +1 @@\n+x" for i in range(35)}
    patches["model.bin"] = None
    fake_github.add_pull(7, head_sha="a" * 40, base_sha="b" * 40, patches=patches)
    url = f"{fake_github.url}/repos/{REPO}/pulls/7/files"
    first = requests.get(url, headers=AUTH, timeout=5)
    assert len(first.json()) == 30 and "per_page=30" in first.links["next"]["url"]
    rest = requests.get(first.links["next"]["url"], headers=AUTH, timeout=5).json()
    assert [e["filename"] for e in rest] == ["f30.py", "f31.py", "f32.py", "f33.py", "f34.py", "model.bin"]
    assert "patch" not in rest[-1] and rest[0]["status"] == "added"
    assert requests.get(url.replace("/7/", "/8/"), headers=AUTH, timeout=5).status_code == 404


def test_reviews_accept_only_lines_of_the_diff(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(7, head_sha="a" * 40, base_sha="b" * 40, patches={"app.py": PATCH})
    url = f"{fake_github.url}/repos/{REPO}/pulls/7/reviews"

    def review(*comments: dict[str, Any]) -> requests.Response:
        body = {"commit_id": "a" * 40, "event": "COMMENT", "body": "r", "comments": list(comments)}
        return requests.post(url, json=body, headers=AUTH, timeout=5)

    ok = {"path": "app.py", "line": 2, "body": "added line"}
    for bad, message in [
        ({"path": "app.py", "line": 5, "body": "past the hunk"}, "line must be part of the diff"),
        ({"path": "other.py", "line": 1, "body": "not in the PR"}, "Path could not be resolved"),
        ({"path": "app.py", "line": 22, "start_line": 3, "body": "two hunks"}, "same hunk"),
        ({"path": "app.py", "line": 2, "side": "LEFT", "body": "left 2 is deleted b"}, None),
    ]:
        resp = review(ok, bad)
        if message is None:
            assert resp.status_code == 200
            continue
        # One bad comment rejects the whole review, and the answer does not say which.
        assert resp.status_code == 422, bad
        data = resp.json()
        assert data["message"] == "Unprocessable Entity" and any(message in e for e in data["errors"])
    assert len(fake_github.pull_reviews(7)) == 1
    assert review().status_code == 200  # a body alone is a review
    empty = requests.post(url, json={"event": "COMMENT", "comments": []}, headers=AUTH, timeout=5)
    assert empty.status_code == 422
    stale = requests.post(url, json={"commit_id": "c" * 40, "event": "COMMENT", "body": "b"}, headers=AUTH, timeout=5)
    assert stale.status_code == 422

    listed = requests.get(f"{fake_github.url}/repos/{REPO}/pulls/7/comments", headers=AUTH, timeout=5).json()
    assert [(c["path"], c["line"], c["side"]) for c in listed] == [("app.py", 2, "RIGHT"), ("app.py", 2, "LEFT")]
    assert listed[0]["diff_hunk"] == "@@ -1,3 +1,4 @@\n a\n-b\n+B"
    # A pending review (no event) keeps its comments out of the list until it is submitted.
    pending = requests.post(url, json={"comments": [ok]}, headers=AUTH, timeout=5)
    assert pending.status_code == 200 and pending.json()["state"] == "PENDING"
    assert "submitted_at" not in pending.json()
    again = requests.get(f"{fake_github.url}/repos/{REPO}/pulls/7/comments", headers=AUTH, timeout=5).json()
    assert len(again) == 2
    reviews = requests.get(url, headers=AUTH, timeout=5).json()
    assert [r["state"] for r in reviews] == ["COMMENTED", "COMMENTED", "PENDING"]

    single = requests.post(
        f"{fake_github.url}/repos/{REPO}/pulls/7/comments",
        json={"commit_id": "a" * 40, "path": "app.py", "line": 9, "body": "x"},
        headers=AUTH,
        timeout=5,
    )
    assert single.status_code == 422
    assert single.json()["errors"][0]["field"] == "pull_request_review_thread.line"


def test_review_comment_writes_and_read_only_tokens(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(7, head_sha="a" * 40, base_sha="b" * 40, patches={"app.py": PATCH})
    fake_github.state.tokens["read-token"] = "read"
    read = {**AUTH, "Authorization": "Bearer read-token"}
    cid = fake_github.add_review_comment(7, "app.py", 2, "first")
    comment = f"{fake_github.url}/repos/{REPO}/pulls/comments/{cid}"
    body = {"commit_id": "a" * 40, "event": "COMMENT", "body": "r"}
    for method, url, payload in [
        ("POST", f"{fake_github.url}/repos/{REPO}/pulls/7/reviews", body),
        ("PATCH", comment, {"body": "edited"}),
        ("DELETE", comment, None),
        ("DELETE", f"{fake_github.url}/repos/{REPO}/issues/comments/1", None),
    ]:
        resp = requests.request(method, url, json=payload, headers=read, timeout=5)
        assert resp.status_code == 403, (method, url)
        assert resp.json()["message"] == "Resource not accessible by integration"
    assert fake_github.pull_reviews(7) == []
    edited = requests.patch(comment, json={"body": "edited"}, headers=AUTH, timeout=5)
    assert edited.status_code == 200 and edited.json()["body"] == "edited"
    assert requests.delete(comment, headers=AUTH, timeout=5).status_code == 204
    assert requests.delete(comment, headers=AUTH, timeout=5).status_code == 404
    issue = fake_github.add_comment(7, "sticky")
    assert (
        requests.delete(f"{fake_github.url}/repos/{REPO}/issues/comments/{issue}", headers=AUTH, timeout=5).status_code
        == 204
    )
    assert fake_github.issue_comments(7) == []
