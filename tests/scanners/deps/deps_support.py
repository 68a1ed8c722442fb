"""Test helpers: an OSV-compatible HTTP server answering from the shared OSV data, and scan helpers."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.deps import DepsScanner
from aisec_ci.scanners.deps.matching import is_affected
from aisec_ci.scanners.deps.model import package_key
from aisec_ci.scanners.deps.services.local_records import RecordIndex
from aisec_ci.workspace.discovery import discover
from aisec_ci.workspace.files import SourceFile

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared"
OSV_DATA = SHARED / "data" / "advisories" / "osv-pypi"
SAFETY_DB = SHARED / "data" / "advisories" / "safety-db-v2-from-osv"
FIXTURES = REPO / "tests" / "fixtures" / "deps"
LOCK_ADVISORIES = FIXTURES / "osv-locks"
"""Trimmed copies of real Go, npm and crates.io advisories (see the README there)."""
# A port nothing listens on: connection refused at once, so "service down" tests stay fast.
DEAD_URL = "http://127.0.0.1:9"


def load_records(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))]


class FakeOsv:
    """OSV API subset (querybatch, query, vulns/{id}) plus safety's auth probe endpoints.

    `fail_next` makes the next N requests answer HTTP 503; `delay` slows every answer; requests for
    paths starting with `drop_prefix` get their connection closed without an answer."""

    def __init__(self, *data: Path) -> None:
        self.records = {r["id"]: r for directory in data for r in load_records(directory)}
        self.index = RecordIndex(self.records.values())
        self.hits: Counter[str] = Counter()
        self.queries: list[dict[str, Any]] = []
        """Every querybatch query received, in order."""
        self.fail_next = 0
        self.delay = 0.0
        self.drop_prefix = ""
        self.releases: set[str] = set()
        """`name==version` pins the fake PyPI JSON API lists."""
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def reset(self) -> None:
        self.hits.clear()
        self.fail_next = 0
        self.delay = 0.0
        self.drop_prefix = ""
        self.releases = set()
        self.queries = []

    def matches(self, name: str, version: str, ecosystem: str = "PyPI") -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.index.by_package.get(package_key(ecosystem, name), ())
            if is_affected(r, name, version, ecosystem)
        ]

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _gate(self) -> bool:
                with owner._lock:
                    owner.hits[self.path.split("?")[0]] += 1
                    failing = owner.fail_next > 0
                    if failing:
                        owner.fail_next -= 1
                if owner.drop_prefix and self.path.startswith(owner.drop_prefix):
                    self.close_connection = True
                    return False  # nothing written: the client sees the connection closed
                if owner.delay:
                    time.sleep(owner.delay)
                if failing:
                    self._send(503, {"error": "unavailable"})
                return not failing

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                if not self._gate():
                    return
                if self.path.startswith("/pypi/"):
                    # PyPI JSON API: /pypi/<name>/<version>/json, listed when in `releases`
                    parts = self.path.split("/")
                    listed = len(parts) == 5 and f"{parts[2]}=={parts[3]}" in owner.releases
                    self._send(
                        200 if listed else 404, {"info": {"name": parts[2]}} if listed else {"message": "Not Found"}
                    )
                elif self.path.startswith("/v1/vulns/"):
                    rec = owner.records.get(self.path.rsplit("/", 1)[-1])
                    self._send(200 if rec else 404, rec or {"message": "Bug not found."})
                elif self.path == "/.well-known/openid-configuration":
                    self._send(200, {"issuer": owner.url, "jwks_uri": owner.url + "/jwks"})
                elif self.path == "/jwks":
                    self._send(200, {"keys": []})
                else:
                    self._send(404, {"message": "not found"})

            def do_POST(self) -> None:
                if not self._gate():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/v1/querybatch":
                    results = []
                    for q in body.get("queries", []):
                        with owner._lock:
                            owner.queries.append(q)
                        found = owner.matches(q["package"]["name"], q["version"], q["package"]["ecosystem"])
                        vulns = [{"id": r["id"], "modified": r.get("modified", "")} for r in found]
                        results.append({"vulns": vulns} if vulns else {})
                    self._send(200, {"results": results})
                elif self.path == "/v1/query":
                    found = owner.matches(body["package"]["name"], body["version"], body["package"]["ecosystem"])
                    self._send(200, {"vulns": found} if found else {})
                else:
                    self._send(404, {"message": "not found"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class BrokenServer:
    """A TCP server on 127.0.0.1 that never gives an HTTP answer, counting the connections made.

    `silent`: accepts each connection and holds it open without a byte of answer (a hung server or
    a firewall that swallows packets past the handshake); `close`: reads the request and closes."""

    def __init__(self, mode: str) -> None:
        assert mode in ("silent", "close")
        self.mode = mode
        self.connections = 0
        self._held: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self._listener.accept()
            except OSError:
                return  # stopped
            self.connections += 1
            if self.mode == "close":
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                conn.close()
            else:
                self._held.append(conn)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        for conn in self._held:
            conn.close()


def repo_files(root: Path) -> list[SourceFile]:
    return list(discover(root, use_git=False).files)


def scan_repo(
    root: Path,
    options: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    offline: bool = False,
) -> list[Finding]:
    scanner = DepsScanner(ScanContext(root=root.resolve(), options=options or {}, offline=offline, env=env or {}))
    return list(scanner.scan_repository(repo_files(root)))


def triples(findings: list[Finding]) -> set[tuple[str, int, str]]:
    return {(f.path, f.start_line, f.rule_id) for f in findings}


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def advisories(finding: Finding | dict[str, Any]) -> list[dict[str, Any]]:
    """The advisories a vulnerable- or malicious-package finding lists (a Finding or its JSON form)."""
    props = finding.properties if isinstance(finding, Finding) else finding["properties"]
    listed: list[dict[str, Any]] = props["advisories"]
    return listed


def advisory_ids(finding: Finding | dict[str, Any]) -> list[str]:
    """The ids of those advisories, most severe first."""
    return [str(a["id"]) for a in advisories(finding)]


@contextlib.contextmanager
def serve_files() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A real HTTP server on 127.0.0.1 answering GET with the bytes stored under the path (404
    otherwise): a stand-in for osv.dev's bucket of all.zip archives."""
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files
    finally:
        server.shutdown()
        server.server_close()
