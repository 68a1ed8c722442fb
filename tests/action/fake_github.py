"""A fake GitHub REST API: a real HTTP server on 127.0.0.1, in a thread.

It serves the operations the action uses (code scanning SARIF upload and
status, issue comments, pull request files, reviews and review comments) the
way github-contract.md §6 describes them, checks
every request body against the OpenAPI description in ../shared/data with
jsonschema (and its own answers against the response schemas), and can be
told to fail: read-only tokens, code scanning switched off, rate limits, a
500 once, comments over the body limit.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jsonschema

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
OPENAPI_PATH = SHARED / "data" / "github-rest-subset.openapi.json"
COMMENT_LIMIT = 65_536
SARIF_GZIP_LIMIT = 10 * 1024 * 1024


def _nullable_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` is not JSON Schema; turn it into a type union."""
    if isinstance(node, list):
        return [_nullable_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_to_jsonschema(v) for k, v in node.items() if k not in ("nullable", "example", "examples")}
    if node.get("nullable") is True:
        if "type" in out:
            t = out["type"]
            out["type"] = [*t, "null"] if isinstance(t, list) else [t, "null"]
        elif "$ref" in out or "allOf" in out or "oneOf" in out or "anyOf" in out:
            out = {"anyOf": [{"type": "null"}, out]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


class OpenApi:
    """Request and response schemas of the subset, ready for jsonschema."""

    def __init__(self, path: Path) -> None:
        doc = json.loads(path.read_text(encoding="utf-8"))
        self.components = _nullable_to_jsonschema(doc["components"])
        self.ops: dict[str, dict[str, Any]] = {}
        for _path, item in doc["paths"].items():
            for _method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    self.ops[op["operationId"]] = _nullable_to_jsonschema(op)

    def _validator(self, schema: dict[str, Any]) -> jsonschema.Draft4Validator:
        # Rooting the schema beside `components` lets the `#/components/...` refs resolve.
        return jsonschema.Draft4Validator({**schema, "components": self.components})

    def example(self, name: str) -> Any:
        """A minimal instance of a component schema: every required field, plausible values."""
        return self._example(self.components["schemas"][name], depth=0)

    def _example(self, schema: Any, depth: int) -> Any:
        if "$ref" in schema:
            return self._example(self.components["schemas"][schema["$ref"].rsplit("/", 1)[1]], depth + 1)
        for key in ("allOf", "anyOf", "oneOf"):
            if key in schema:
                options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
                if key == "allOf":
                    merged: dict[str, Any] = {}
                    for part in options:
                        value = self._example(part, depth + 1)
                        if isinstance(value, dict):
                            merged.update(value)
                    return merged
                return self._example(options[0], depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            if "null" in kind and depth > 1:
                return None
            kind = next((k for k in kind if k != "null"), "null")
        if "enum" in schema:
            return next(v for v in schema["enum"] if v is not None)
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {k: self._example(props.get(k, {}), depth + 1) for k in schema.get("required", [])}
        if kind == "array":
            return []
        if kind == "integer":
            return max(1, int(schema.get("minimum", 1)))
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2026-11-25T21:00:00Z"
        if fmt == "uri":
            return "https://api.github.com/"
        return "x" * max(1, int(schema.get("minLength", 1)))

    def request_errors(self, op_id: str, body: Any) -> list[str]:
        schema = self.ops[op_id]["requestBody"]["content"]["application/json"]["schema"]
        return [e.message for e in self._validator(schema).iter_errors(body)]

    def response_errors(self, op_id: str, status: int, body: Any) -> list[str]:
        resp = self.ops[op_id]["responses"].get(str(status))
        if resp is None:
            return []
        if "$ref" in resp:
            resp = self.components["responses"][resp["$ref"].rsplit("/", 1)[1]]
        schema = (resp.get("content") or {}).get("application/json", {}).get("schema")
        if schema is None:
            return []
        return [e.message for e in self._validator(schema).iter_errors(body)]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    raw: bytes
    status: int = 0


@dataclass
class Upload:
    id: str
    body: dict[str, Any]
    log: dict[str, Any]
    polls: int = 0


@dataclass
class FakeState:
    tokens: dict[str, str] = field(default_factory=lambda: {"write-token": "write"})
    """token -> "write" or "read"."""
    repos: dict[str, bool] = field(default_factory=lambda: {"octo-org/ml-service": True})
    """full_name -> code scanning (GHAS) enabled."""
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    """comment id -> issue-comment object (with `__issue` for its issue number)."""
    uploads: dict[str, Upload] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    next_comment_id: int = 1_000
    pending_polls: int = 1
    """Status polls answered `pending` before the final answer."""
    processing_errors: list[str] = field(default_factory=list)
    """Non-empty: processing ends `failed` with these errors."""
    fail_once: dict[str, int] = field(default_factory=dict)
    """operation id -> status to answer once (e.g. 500)."""
    secondary_limit_once: dict[str, int] = field(default_factory=dict)
    """operation id -> seconds of `retry-after` to answer once with 429."""
    primary_limit_once: dict[str, int] = field(default_factory=dict)
    """operation id -> seconds until `x-ratelimit-reset`, answered once with 403 and remaining 0."""
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    """pull number -> pull-request object (see FakeGitHub.add_pull)."""
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    """check run id -> check-run object; `__annotations` keeps every annotation sent."""
    next_check_id: int = 4_000
    schema_violations: list[str] = field(default_factory=list)
    """Our own answers that did not match the response schemas (a fake bug)."""
    pull_files: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    """pull number -> diff-entry objects (`patch` holds the hunks review comments must sit in)."""
    reviews: dict[int, dict[str, Any]] = field(default_factory=dict)
    """review id -> pull-request-review object (with `__pull`)."""
    review_comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    """review comment id -> pull-request-review-comment object (with `__pull`)."""
    next_review_id: int = 7_000
    next_review_comment_id: int = 9_000


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/repos/([^/]+/[^/]+)/code-scanning/sarifs$"), "code-scanning/upload-sarif"),
    ("GET", re.compile(r"^/repos/([^/]+/[^/]+)/code-scanning/sarifs/([^/]+)$"), "code-scanning/get-sarif"),
    ("GET", re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$"), "issues/list-comments"),
    ("POST", re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$"), "issues/create-comment"),
    ("PATCH", re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$"), "issues/update-comment"),
    ("GET", re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)$"), "pulls/get"),
    ("DELETE", re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$"), "issues/delete-comment"),
    ("GET", re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)/files$"), "pulls/list-files"),
    ("GET", re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)/comments$"), "pulls/list-review-comments"),
    ("POST", re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)/comments$"), "pulls/create-review-comment"),
    ("PATCH", re.compile(r"^/repos/([^/]+/[^/]+)/pulls/comments/(\d+)$"), "pulls/update-review-comment"),
    ("DELETE", re.compile(r"^/repos/([^/]+/[^/]+)/pulls/comments/(\d+)$"), "pulls/delete-review-comment"),
    ("GET", re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)/reviews$"), "pulls/list-reviews"),
    ("POST", re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)/reviews$"), "pulls/create-review"),
    ("POST", re.compile(r"^/repos/([^/]+/[^/]+)/check-runs$"), "checks/create"),
    ("PATCH", re.compile(r"^/repos/([^/]+/[^/]+)/check-runs/(\d+)$"), "checks/update"),
]


def _error(message: str, docs: str = "https://docs.github.com/rest") -> dict[str, Any]:
    return {"message": message, "documentation_url": docs}


class FakeGitHub:
    def __init__(self, openapi_path: Path = OPENAPI_PATH) -> None:
        self.openapi = OpenApi(openapi_path)
        self.state = FakeState()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # --- helpers for tests ---------------------------------------------------

    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return sorted(
                (c for c in self.state.comments.values() if c["__issue"] == number), key=lambda c: int(c["id"])
            )

    def add_comment(self, number: int, body: str, login: str = "octocat", user_type: str = "User") -> int:
        with self.lock:
            return self._new_comment("octo-org/ml-service", number, body, login, user_type)["id"]

    def add_pull(
        self,
        number: int,
        head_sha: str,
        base_sha: str,
        head_repo: str = "octo-org/ml-service",
        patches: dict[str, str | None] | None = None,
    ) -> None:
        """A pull request; `patches` maps each changed path to its hunks (None: no patch, as
        GitHub gives for binary files and very large diffs)."""
        pull = self.openapi.example("pull-request")
        repo = "octo-org/ml-service"
        pull.update({"number": number, "state": "open", "merge_commit_sha": None, "title": f"PR {number}"})
        for side, sha, full in (("head", head_sha, head_repo), ("base", base_sha, repo)):
            part = pull[side]
            part.update({"sha": sha, "ref": "feature" if side == "head" else "main"})
            part["label"] = f"{full.split('/')[0]}:{part['ref']}"
            part["repo"].update({"full_name": full, "name": full.split("/")[1], "fork": full != repo})
        with self.lock:
            self.state.pulls[number] = pull
            self.state.pull_files[number] = [
                self._diff_entry(head_sha, path, patch) for path, patch in sorted((patches or {}).items())
            ]

    def _diff_entry(self, head_sha: str, path: str, patch: str | None) -> dict[str, Any]:
        entry = self.openapi.example("diff-entry")
        lines = (patch or "").split("\n")
        adds = sum(1 for ln in lines if ln.startswith("+"))
        dels = sum(1 for ln in lines if ln.startswith("-"))
        base = "https://github.com/octo-org/ml-service"
        entry.update(
            {
                "sha": uuid.uuid5(uuid.NAMESPACE_URL, path).hex[:40].ljust(40, "0"),
                "filename": path,
                "status": "added" if patch and patch.startswith("@@ -0,0 ") else "modified",
                "additions": adds,
                "deletions": dels,
                "changes": adds + dels,
                "blob_url": f"{base}/blob/{head_sha}/{path}",
                "raw_url": f"{base}/raw/{head_sha}/{path}",
                "contents_url": f"{self.url}/repos/octo-org/ml-service/contents/{path}?ref={head_sha}",
            }
        )
        if patch is not None:
            entry["patch"] = patch
        return entry

    def add_review_comment(
        self, number: int, path: str, line: int, body: str, login: str = "octocat", user_type: str = "User"
    ) -> int:
        """A review comment someone else wrote (no validation: it may sit on an outdated line)."""
        with self.lock:
            head = self.state.pulls[number]["head"]["sha"]
            comment = self._new_review_comment(
                "octo-org/ml-service", number, {"path": path, "line": line, "body": body}, head, None
            )
            comment["user"] = _user(login, user_type)
            return int(comment["id"])

    def pull_review_comments(self, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return sorted(
                (dict(c) for c in self.state.review_comments.values() if c["__pull"] == number), key=lambda c: c["id"]
            )

    def pull_reviews(self, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return sorted(
                (dict(r) for r in self.state.reviews.values() if r["__pull"] == number), key=lambda r: r["id"]
            )

    def calls(self, op_id: str | None = None) -> list[Recorded]:
        with self.lock:
            reqs = list(self.state.requests)
        if op_id is None:
            return reqs
        return [r for r in reqs if self._route(r.method, r.path)[0] == op_id]

    # --- server side -------------------------------------------------------------

    def _route(self, method: str, path: str) -> tuple[str | None, tuple[str, ...]]:
        for m, pattern, op_id in _ROUTES:
            match = pattern.match(path)
            if match and m == method:
                return op_id, match.groups()
        return None, ()

    def _new_comment(self, repo: str, number: int, body: str, login: str, user_type: str) -> dict[str, Any]:
        cid = self.state.next_comment_id
        self.state.next_comment_id += 1
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        comment = {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.url}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"{self.url}/repos/{repo}/issues/{number}",
            "body": body,
            "user": _user(login, user_type),
            "created_at": now,
            "updated_at": now,
            "author_association": "NONE",
            "__issue": number,
        }
        self.state.comments[cid] = comment
        return comment

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        rec = Recorded(
            h.command, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in h.headers.items()}, body, raw
        )
        with self.lock:
            self.state.requests.append(rec)
            status, payload, headers = self._answer(rec, bad_json)
            rec.status = status
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        reset = int(time.time()) + 3600
        base_headers = {
            "x-ratelimit-limit": "1000",
            "x-ratelimit-remaining": "999",
            "x-ratelimit-used": "1",
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        }
        base_headers.update(headers)
        for k, v in base_headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _answer(self, rec: Recorded, bad_json: bool) -> tuple[int, Any, dict[str, str]]:
        st = self.state
        op_id, args = self._route(rec.method, rec.path)
        if op_id is None:
            return 404, _error("Not Found"), {}
        auth = rec.headers.get("authorization", "")
        token = auth.split(" ", 1)[1] if auth.startswith(("Bearer ", "token ")) else ""
        if token not in st.tokens:
            return 401, _error("Bad credentials"), {}
        if op_id in st.secondary_limit_once:
            wait = st.secondary_limit_once.pop(op_id)
            msg = "You have exceeded a secondary rate limit and have been temporarily blocked from content creation."
            return 429, _error(msg), {"retry-after": str(wait)}
        if op_id in st.primary_limit_once:
            wait = st.primary_limit_once.pop(op_id)
            reset = str(int(time.time()) + wait)
            return 403, _error("API rate limit exceeded"), {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
        if op_id in st.fail_once:
            return st.fail_once.pop(op_id), _error("Server Error"), {}
        repo = args[0]
        if repo not in st.repos:
            return 404, _error("Not Found"), {}
        if bad_json:
            return 400, _error("Problems parsing JSON"), {}
        if rec.method in ("POST", "PATCH"):
            errors = self.openapi.request_errors(op_id, rec.body)
            if errors:
                return 422, _error("Invalid request.\n\n" + "\n".join(errors)), {}
        if rec.method in ("POST", "PATCH", "DELETE") and st.tokens[token] != "write":
            return 403, _error("Resource not accessible by integration"), {}
        status, payload, headers = getattr(self, "_op_" + op_id.replace("/", "_").replace("-", "_"))(rec, args)
        problems = self.openapi.response_errors(op_id, status, _public(payload))
        if problems:
            st.schema_violations.extend(f"{op_id} {status}: {p}" for p in problems)
        return status, _public(payload), headers

    def _op_code_scanning_upload_sarif(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        repo = args[0]
        if not self.state.repos[repo]:
            return 403, _error("Advanced Security must be enabled for this repository to use code scanning."), {}
        try:
            packed = base64.b64decode(rec.body["sarif"], validate=True)
        except (binascii.Error, ValueError):
            return 400, _error("Bad Request: the sarif field is not base64"), {}
        if len(packed) > SARIF_GZIP_LIMIT:
            return 413, _error("Payload Too Large"), {}
        try:
            log = json.loads(gzip.decompress(packed))
        except (OSError, ValueError, EOFError):
            return 400, _error("Bad Request: the sarif field is not gzipped JSON"), {}
        if not isinstance(log, dict) or log.get("version") != "2.1.0" or not isinstance(log.get("runs"), list):
            return 400, _error("Bad Request: not a SARIF 2.1.0 log"), {}
        sid = str(uuid.uuid4())
        self.state.uploads[sid] = Upload(sid, dict(rec.body), log)
        return 202, {"id": sid, "url": f"{self.url}/repos/{repo}/code-scanning/sarifs/{sid}"}, {}

    def _op_code_scanning_get_sarif(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        upload = self.state.uploads.get(args[1])
        if upload is None:
            return 404, _error("Not Found"), {}
        upload.polls += 1
        if upload.polls <= self.state.pending_polls:
            return 200, {"processing_status": "pending", "analyses_url": None, "errors": None}, {}
        if self.state.processing_errors:
            return (
                200,
                {"processing_status": "failed", "analyses_url": None, "errors": self.state.processing_errors},
                {},
            )
        analyses = f"{self.url}/repos/{args[0]}/code-scanning/analyses?sarif_id={upload.id}"
        return 200, {"processing_status": "complete", "analyses_url": analyses, "errors": None}, {}

    def _page(self, rec: Recorded, items: list[Any]) -> tuple[int, Any, dict[str, str]]:
        """One page of `items` as GitHub pages lists: `per_page` (at most 100, default 30),
        `page`, and a `Link` header with next/last and prev/first that echo `per_page`."""
        try:
            per_page = min(100, max(1, int(rec.query.get("per_page", ["30"])[0])))
            page = max(1, int(rec.query.get("page", ["1"])[0]))
        except ValueError:
            return 422, _error("Invalid request."), {}
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def link(p: int, rel: str) -> str:
            q = urlencode({"per_page": per_page, "page": p})
            return f'<{self.url}{rec.path}?{q}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    def _op_issues_list_comments(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        number = int(args[1])
        items = sorted((c for c in self.state.comments.values() if c["__issue"] == number), key=lambda c: c["id"])
        return self._page(rec, items)

    def _op_issues_create_comment(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        body = rec.body["body"]
        if len(body) > COMMENT_LIMIT:
            return 422, _too_long(), {}
        comment = self._new_comment(args[0], int(args[1]), body, "github-actions[bot]", "Bot")
        return 201, comment, {"Location": comment["url"]}

    def _op_issues_update_comment(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        comment = self.state.comments.get(int(args[1]))
        if comment is None:
            return 404, _error("Not Found"), {}
        body = rec.body["body"]
        if len(body) > COMMENT_LIMIT:
            return 422, _too_long(), {}
        comment["body"] = body
        comment["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return 200, comment, {}

    def _op_pulls_get(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        pull = self.state.pulls.get(int(args[1]))
        return (200, pull, {}) if pull is not None else (404, _error("Not Found"), {})

    # --- pull request files, reviews and review comments ---------------------------

    def _diff_sides(self, number: int, path: str) -> dict[str, dict[int, tuple[int, str]]] | None:
        """For a file of the pull request: side -> line -> (hunk index, diff hunk up to that line).
        None when the path is not in the pull request or has no patch."""
        entry = next((e for e in self.state.pull_files.get(number, []) if e["filename"] == path), None)
        if entry is None or "patch" not in entry:
            return None
        sides: dict[str, dict[int, tuple[int, str]]] = {"LEFT": {}, "RIGHT": {}}
        hunk, left, right = -1, 0, 0
        seen: list[str] = []
        for raw in entry["patch"].split("\n"):
            m = re.match(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@", raw)
            if m:
                hunk, left, right = hunk + 1, int(m.group(1)), int(m.group(2))
                seen.append(raw)
                continue
            if hunk < 0 or not raw or raw.startswith("\\"):
                continue
            seen.append(raw)
            text = "\n".join(seen)
            if raw[0] in " -":
                sides["LEFT"][left] = (hunk, text)
                left += 1
            if raw[0] in " +":
                sides["RIGHT"][right] = (hunk, text)
                right += 1
        return sides

    def _thread_problem(self, number: int, c: dict[str, Any]) -> tuple[str, str] | None:
        """Why GitHub would refuse a review thread at this place: (field, message), or None."""
        sides = self._diff_sides(number, c["path"])
        if sides is None:
            return "path", "Path could not be resolved"
        if "line" not in c:
            # The fake speaks `line` only; `position` is closing down.
            return "pull_request_review_thread.line", "Pull request review thread line must be part of the diff"
        side = c.get("side", "RIGHT")
        at = sides.get(side, {}).get(c["line"])
        if at is None:
            return (
                "pull_request_review_thread.line",
                "Pull request review thread line must be part of the diff and "
                "Pull request review thread diff hunk can't be blank",
            )
        if "start_line" in c:
            start = sides.get(c.get("start_side", side), {}).get(c["start_line"])
            if c["start_line"] >= c["line"]:
                return "pull_request_review_thread.start_line", (
                    "Pull request review thread start line must precede the end line."
                )
            if start is None or start[0] != at[0]:
                return "pull_request_review_thread.start_line", (
                    "Pull request review thread start line must be part of the same hunk as the line."
                )
        return None

    def _new_review_comment(
        self, repo: str, number: int, c: dict[str, Any], commit: str, review_id: int | None
    ) -> dict[str, Any]:
        sides = self._diff_sides(number, c["path"]) or {}
        side = c.get("side", "RIGHT")
        cid = self.state.next_review_comment_id
        self.state.next_review_comment_id += 1
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        url = f"{self.url}/repos/{repo}/pulls/comments/{cid}"
        html = f"https://github.com/{repo}/pull/{number}#discussion_r{cid}"
        pull_url = f"{self.url}/repos/{repo}/pulls/{number}"
        comment = self.openapi.example("pull-request-review-comment")
        comment.update(
            {
                "id": cid,
                "node_id": f"PRRC_{cid}",
                "url": url,
                "pull_request_review_id": review_id,
                "diff_hunk": sides.get(side, {}).get(c["line"], (0, ""))[1],
                "path": c["path"],
                "commit_id": commit,
                "original_commit_id": commit,
                "user": _user("github-actions[bot]", "Bot"),
                "body": c["body"],
                "created_at": now,
                "updated_at": now,
                "html_url": html,
                "pull_request_url": pull_url,
                "author_association": "NONE",
                "_links": {"self": {"href": url}, "html": {"href": html}, "pull_request": {"href": pull_url}},
                "line": c["line"],
                "original_line": c["line"],
                "side": side,
                "start_line": c.get("start_line"),
                "original_start_line": c.get("start_line"),
                "start_side": c.get("start_side", side) if "start_line" in c else None,
                "subject_type": "line",
                "__pull": number,
            }
        )
        self.state.review_comments[cid] = comment
        return comment

    def _op_pulls_list_files(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        number = int(args[1])
        if number not in self.state.pulls:
            return 404, _error("Not Found"), {}
        return self._page(rec, self.state.pull_files.get(number, []))

    def _op_pulls_list_review_comments(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        number = int(args[1])
        if number not in self.state.pulls:
            return 404, _error("Not Found"), {}
        pending = {rid for rid, r in self.state.reviews.items() if r["state"] == "PENDING"}
        items = sorted(
            (
                c
                for c in self.state.review_comments.values()
                if c["__pull"] == number and c["pull_request_review_id"] not in pending
            ),
            key=lambda c: c["id"],
        )
        return self._page(rec, items)

    def _op_pulls_create_review_comment(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        number = int(args[1])
        pull = self.state.pulls.get(number)
        if pull is None:
            return 404, _error("Not Found"), {}
        problem = self._thread_problem(number, rec.body)
        if problem is not None:
            error = {"resource": "PullRequestReviewComment", "code": "custom", "field": problem[0]}
            error["message"] = problem[1]
            docs = "https://docs.github.com/rest/pulls/comments#create-a-review-comment-for-a-pull-request"
            return 422, {"message": "Validation Failed", "errors": [error], "documentation_url": docs}, {}
        return 201, self._new_review_comment(args[0], number, rec.body, rec.body["commit_id"], None), {}

    def _op_pulls_update_review_comment(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        comment = self.state.review_comments.get(int(args[1]))
        if comment is None:
            return 404, _error("Not Found"), {}
        comment["body"] = rec.body["body"]
        comment["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return 200, comment, {}

    def _op_pulls_delete_review_comment(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        if self.state.review_comments.pop(int(args[1]), None) is None:
            return 404, _error("Not Found"), {}
        return 204, None, {}

    def _op_issues_delete_comment(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        if self.state.comments.pop(int(args[1]), None) is None:
            return 404, _error("Not Found"), {}
        return 204, None, {}

    def _op_pulls_list_reviews(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        number = int(args[1])
        if number not in self.state.pulls:
            return 404, _error("Not Found"), {}
        return self._page(
            rec, sorted((r for r in self.state.reviews.values() if r["__pull"] == number), key=lambda r: r["id"])
        )

    def _op_pulls_create_review(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        repo, number = args[0], int(args[1])
        pull = self.state.pulls.get(number)
        if pull is None:
            return 404, _error("Not Found"), {}
        body = rec.body
        docs = "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request"

        def unprocessable(*errors: str) -> tuple[int, Any, dict[str, str]]:
            return 422, {"message": "Unprocessable Entity", "errors": list(errors), "documentation_url": docs}, {}

        commit = body.get("commit_id", pull["head"]["sha"])
        if commit != pull["head"]["sha"]:
            return unprocessable("commit_id is not part of the pull request")
        event = body.get("event")
        comments = body.get("comments", [])
        if event in ("COMMENT", "REQUEST_CHANGES") and not body.get("body") and not comments:
            return unprocessable("Review cannot be empty")
        # One comment outside the diff rejects the whole review, and the answer does not say which.
        problems = [p for p in (self._thread_problem(number, c) for c in comments) if p is not None]
        if problems:
            return unprocessable(*dict.fromkeys(p[1] for p in problems))
        rid = self.state.next_review_id
        self.state.next_review_id += 1
        state = {"COMMENT": "COMMENTED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "APPROVE": "APPROVED"}.get(
            event or "", "PENDING"
        )
        html = f"https://github.com/{repo}/pull/{number}#pullrequestreview-{rid}"
        pull_url = f"{self.url}/repos/{repo}/pulls/{number}"
        review = self.openapi.example("pull-request-review")
        review.update(
            {
                "id": rid,
                "node_id": f"PRR_{rid}",
                "user": _user("github-actions[bot]", "Bot"),
                "body": body.get("body", ""),
                "state": state,
                "commit_id": commit,
                "html_url": html,
                "pull_request_url": pull_url,
                "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
                "author_association": "NONE",
                "__pull": number,
            }
        )
        if state != "PENDING":
            review["submitted_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.state.reviews[rid] = review
        for c in comments:
            self._new_review_comment(repo, number, c, commit, rid)
        return 200, review, {}

    def _check_conclusion_error(self, body: dict[str, Any], current: dict[str, Any] | None) -> str | None:
        # The description's rule, dropped from the published schema: completing needs a conclusion.
        completing = body.get("status") == "completed" or "completed_at" in body
        has_conclusion = "conclusion" in body or (current is not None and current.get("conclusion"))
        return "conclusion is required when status is completed" if completing and not has_conclusion else None

    def _check_run(self, repo: str, cid: int, body: dict[str, Any]) -> dict[str, Any]:
        run = self.openapi.example("check-run")
        run.update(
            {
                "id": cid,
                "node_id": f"CR_{cid}",
                "url": f"{self.url}/repos/{repo}/check-runs/{cid}",
                "html_url": f"https://github.com/{repo}/runs/{cid}",
                "status": "queued",
                "conclusion": None,
                "__annotations": [],
            }
        )
        return run

    def _apply_check(self, run: dict[str, Any], body: dict[str, Any], repo: str) -> None:
        for key in ("name", "head_sha", "details_url", "external_id", "started_at", "completed_at", "status"):
            if key in body:
                run[key] = body[key]
        if "conclusion" in body:
            run["conclusion"] = body["conclusion"]
            run["status"] = "completed"
        output = body.get("output")
        if isinstance(output, dict):
            run["__annotations"].extend(output.get("annotations", []))
            run["output"] = {
                "title": output.get("title"),
                "summary": output.get("summary"),
                "text": output.get("text"),
                "annotations_count": len(run["__annotations"]),
                "annotations_url": f"{self.url}/repos/{repo}/check-runs/{run['id']}/annotations",
            }

    def _op_checks_create(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        problem = self._check_conclusion_error(rec.body, None)
        if problem:
            return 422, _error(f"Invalid request.\n\n{problem}"), {}
        cid = self.state.next_check_id
        self.state.next_check_id += 1
        run = self._check_run(args[0], cid, rec.body)
        self._apply_check(run, rec.body, args[0])
        self.state.check_runs[cid] = run
        return 201, run, {}

    def _op_checks_update(self, rec: Recorded, args: tuple[str, ...]) -> tuple[int, Any, dict[str, str]]:
        run = self.state.check_runs.get(int(args[1]))
        if run is None:
            return 404, _error("Not Found"), {}
        problem = self._check_conclusion_error(rec.body, run)
        if problem:
            return 422, _error(f"Invalid request.\n\n{problem}"), {}
        self._apply_check(run, rec.body, args[0])
        return 200, run, {}


def _too_long() -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "errors": [
            {
                "resource": "IssueComment",
                "code": "unprocessable",
                "field": "data",
                "message": "Body is too long (maximum is 65536 characters)",
            }
        ],
        "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
    }


def _public(payload: Any) -> Any:
    """Drop the fake's bookkeeping keys (double underscore; GitHub has `_links`) from answers."""
    if isinstance(payload, list):
        return [_public(p) for p in payload]
    if isinstance(payload, dict):
        return {k: v for k, v in payload.items() if not k.startswith("__")}
    return payload


def _user(login: str, user_type: str) -> dict[str, Any]:
    uid = abs(hash(login)) % 10_000_000
    return {
        "login": login,
        "id": uid,
        "node_id": f"U_{uid}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}",
        "gravatar_id": "",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "followers_url": f"https://api.github.com/users/{login}/followers",
        "following_url": f"https://api.github.com/users/{login}/following{{/other_user}}",
        "gists_url": f"https://api.github.com/users/{login}/gists{{/gist_id}}",
        "starred_url": f"https://api.github.com/users/{login}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"https://api.github.com/users/{login}/subscriptions",
        "organizations_url": f"https://api.github.com/users/{login}/orgs",
        "repos_url": f"https://api.github.com/users/{login}/repos",
        "events_url": f"https://api.github.com/users/{login}/events{{/privacy}}",
        "received_events_url": f"https://api.github.com/users/{login}/received_events",
        "type": user_type,
        "site_admin": False,
    }
