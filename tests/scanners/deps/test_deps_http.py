"""The OSV source's HTTP client against real sockets: keep-alive, gzip, proxies, timeouts."""

from __future__ import annotations

import base64
import gzip
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from aisec_ci.scanners.deps.services import jsonhttp
from aisec_ci.scanners.deps.services.interface import PackageVersion, ServiceUnavailable
from aisec_ci.scanners.deps.services.jsonhttp import HttpError, HttpTimeout, JsonHttpClient
from aisec_ci.scanners.deps.services.osv_api import OsvApiService

_PROXY_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


Reply = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], bytes]]


@pytest.fixture
def serve() -> Iterator[Callable[[Reply], tuple[str, list[str]]]]:
    """Start a keep-alive HTTP server answering with `reply`; returns its URL and the request lines seen."""
    servers: list[ThreadingHTTPServer] = []

    def start(reply: Reply) -> tuple[str, list[str]]:
        seen: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                seen.append(self.requestline)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, data = reply(self, body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = handle_one

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _json(body: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def test_posts_json_and_reuses_one_connection(serve: Callable[[Reply], tuple[str, list[str]]]) -> None:
    peers: set[int] = set()

    def echo(handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        peers.add(handler.client_address[1])
        return _json({"got": json.loads(body) if body else None, "ua": handler.headers["User-Agent"]})

    url, seen = serve(echo)
    client = JsonHttpClient(url + "/base/", timeout=5)
    first = client.request("POST", "/v1/querybatch", {"queries": [1, 2]}).json()
    second = client.request("GET", "/v1/vulns/X").json()
    client.close()
    assert first == {"got": {"queries": [1, 2]}, "ua": jsonhttp.USER_AGENT}
    assert second["got"] is None
    assert seen == ["POST /base/v1/querybatch HTTP/1.1", "GET /base/v1/vulns/X HTTP/1.1"]
    assert len(peers) == 1  # kept alive: both requests came over one client port


def test_gzip_bodies_are_inflated_and_bombs_refused(
    serve: Callable[[Reply], tuple[str, list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = json.dumps({"vulns": ["x" * 100] * 50}).encode()
    url, _ = serve(lambda h, b: (200, {"Content-Encoding": "gzip"}, gzip.compress(payload)))
    assert JsonHttpClient(url, timeout=5).request("GET", "/").json() == json.loads(payload)

    monkeypatch.setattr(jsonhttp, "MAX_BODY_BYTES", 1024)
    with pytest.raises(HttpError, match="inflates past"):
        JsonHttpClient(url, timeout=5).request("GET", "/")
    url, _ = serve(lambda h, b: (200, {"Content-Encoding": "gzip"}, b"\x1f\x8b not gzip at all"))
    with pytest.raises(HttpError, match="corrupt gzip"):
        JsonHttpClient(url, timeout=5).request("GET", "/")


def _one_shot_server(answers: int) -> tuple[str, list[int]]:
    """A server that answers `answers` requests per connection, then drops it without saying so."""
    listener = socket.create_server(("127.0.0.1", 0))
    connections: list[int] = []

    def run() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append(1)
            with conn:
                for _ in range(answers):
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    body = b'{"ok":true}'
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                        + str(len(body)).encode()
                        + b"\r\n\r\n"
                        + body
                    )

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", connections


def test_a_connection_the_server_dropped_is_reopened_once() -> None:
    url, connections = _one_shot_server(answers=1)
    client = JsonHttpClient(url, timeout=5)
    assert client.request("GET", "/a").json() == {"ok": True}
    time.sleep(0.05)  # the server has closed its end by now
    assert client.request("GET", "/b").json() == {"ok": True}
    assert len(connections) == 2


def test_refused_and_silent_peers_fail_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(HttpError, match="connection refused"):
        JsonHttpClient("http://127.0.0.1:9", timeout=5).request("GET", "/")
    # Counted, not timed: a silent peer costs one connection waited on for the client's
    # timeout, then HttpTimeout; no second attempt, no longer wait.
    connects: list[float] = []
    real_connect = JsonHttpClient._connect

    def connect(self: JsonHttpClient, timeout: float) -> Any:
        connects.append(timeout)
        conn = real_connect(self, timeout)
        connects.append(conn.timeout)
        return conn

    monkeypatch.setattr(JsonHttpClient, "_connect", connect)
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (backlog) but never answers
    try:
        with pytest.raises(HttpTimeout, match=r"within 0\.3 s"):
            JsonHttpClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.3).request("GET", "/")
        assert connects == [0.3, 0.3]
    finally:
        listener.close()
    with pytest.raises(ValueError, match="not an http"):
        JsonHttpClient("ftp://example.org", timeout=1)


def test_plain_http_goes_through_the_proxy_from_the_environment(
    serve: Callable[[Reply], tuple[str, list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    auth: list[str | None] = []

    def proxy(handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        auth.append(handler.headers.get("Proxy-Authorization"))
        return _json({"via": "proxy"})

    proxy_url, proxy_seen = serve(proxy)
    # Credentials in the proxy URL, percent-encoded as curl and requests accept them.
    monkeypatch.setenv("HTTP_PROXY", proxy_url.replace("http://", "http://ci%40corp:s3cr%3At@"))
    client = JsonHttpClient("http://osv.example.test:8080/api", timeout=5)
    assert client.request("GET", "/v1/vulns/X").json() == {"via": "proxy"}
    # A forward proxy gets the absolute URL in the request line, and the credentials.
    assert proxy_seen == ["GET http://osv.example.test:8080/api/v1/vulns/X HTTP/1.1"]
    assert auth == ["Basic " + base64.b64encode(b"ci@corp:s3cr:t").decode()]

    direct_url, direct_seen = serve(lambda h, b: _json({"via": "direct"}))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert JsonHttpClient(direct_url, timeout=5).request("GET", "/x").json() == {"via": "direct"}
    assert direct_seen == ["GET /x HTTP/1.1"] and len(proxy_seen) == 1


def test_https_is_tunnelled_through_the_proxy_with_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def proxy() -> None:
        conn, _ = listener.accept()
        with conn:
            seen.append(conn.recv(65536))
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=proxy, daemon=True).start()
    monkeypatch.setenv("HTTPS_PROXY", f"http://ci:hunter2@127.0.0.1:{listener.getsockname()[1]}")
    try:
        with pytest.raises(HttpError) as failure:
            JsonHttpClient("https://api.osv.example.test", timeout=5).request("GET", "/v1/vulns/X")
    finally:
        listener.close()
    assert seen and seen[0].startswith(b"CONNECT api.osv.example.test:443 HTTP/1.")
    assert b"\r\nProxy-Authorization: Basic " + base64.b64encode(b"ci:hunter2") + b"\r\n" in seen[0]
    assert str(failure.value) == "the proxy refused the tunnel (403 Forbidden)"


def test_osv_source_reports_an_unusable_base_url_as_unavailable() -> None:
    service = OsvApiService("not a url", retries=0)
    with pytest.raises(ServiceUnavailable, match="not an http"):
        service.audit([PackageVersion("jinja2", "2.10")])


def test_https_verifies_the_server_against_the_configured_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # api.osv.dev is reached over TLS: a server whose certificate no trusted CA signed is refused
    # with a readable reason, and SSL_CERT_FILE / REQUESTS_CA_BUNDLE name the bundle to trust.
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            data = b'{"tls": true}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
            monkeypatch.delenv(name, raising=False)
        with pytest.raises(HttpError, match="TLS certificate not trusted"):
            JsonHttpClient(url, timeout=5).request("GET", "/v1/vulns/X")
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
            monkeypatch.setenv(name, str(bundle))
            assert JsonHttpClient(url, timeout=5).request("GET", "/v1/vulns/X").json() == {"tls": True}
            monkeypatch.delenv(name)
    finally:
        server.shutdown()
        server.server_close()
