"""JSON over HTTP(S) for the OSV source, on the standard library's http.client.

Why not requests (which the rest of the project uses): importing it and
urllib3 costs about 70 ms, half of what a whole 1,000-pin audit with current
data takes, and the OSV source runs on every scan, pre-commit hooks included.
What requests would add is wired here from the standard library instead:
kept-alive connections (one per thread, as the detail fetches run in a thread
pool), the proxy environment variables (`HTTPS_PROXY`, `HTTP_PROXY`,
`NO_PROXY`, read by urllib), certificate bundles named by `REQUESTS_CA_BUNDLE`
or `SSL_CERT_FILE` (otherwise certifi's, as requests would use), gzip bodies,
and timeouts.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import threading
import zlib
from typing import Any
from urllib.parse import unquote, urlsplit

USER_AGENT = "aisec-ci (deps scanner)"
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")
# An OSV answer for 1,000 packages is a few MiB; a body inflating past this is not one.
MAX_BODY_BYTES = 256 * 1024 * 1024


class HttpError(Exception):
    """No usable HTTP answer (connection refused, reset, bad status line)."""


class HttpTimeout(HttpError):
    """The peer did not answer within the timeout."""


class JsonResponse:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    def json(self) -> Any:
        """The decoded body; ValueError when it is not JSON."""
        return json.loads(self.body)


def _proxy_for(scheme: str, host: str) -> str | None:
    if not any(k.lower() in _PROXY_VARS for k in os.environ):
        return None  # the common case: no proxy configured, urllib.request is never imported
    from urllib.request import getproxies, proxy_bypass

    if proxy_bypass(host):
        return None
    proxies = getproxies()
    return proxies.get(scheme) or proxies.get("all")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name not resolved"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "TLS certificate not trusted"
    if isinstance(exc, ssl.SSLError):
        return "TLS error"
    if str(exc).startswith("Tunnel connection failed"):
        return f"the proxy refused the tunnel ({str(exc).split(':', 1)[-1].strip()[:60]})"
    return type(exc).__name__


def _gunzip(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, MAX_BODY_BYTES)
    except zlib.error:
        raise HttpError("corrupt gzip body") from None
    if inflater.unconsumed_tail:
        raise HttpError(f"gzip body inflates past {MAX_BODY_BYTES // (1024 * 1024)} MiB")
    return out


def _tls_context() -> ssl.SSLContext:
    cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
    if not cafile:
        try:
            import certifi  # installed with requests; the bundle requests itself would use

            cafile = certifi.where()
        except ImportError:
            cafile = None
    return ssl.create_default_context(cafile=cafile)


class JsonHttpClient:
    """Requests to one base URL; safe to use from several threads."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http(s) URL")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._proxy = _proxy_for(self.scheme, self.host)
        self._proxy_headers: dict[str, str] = {}
        if self._proxy:
            proxy = urlsplit(self._proxy if "://" in self._proxy else "http://" + self._proxy)
            self._proxy_host = proxy.hostname or ""
            self._proxy_port = proxy.port or (443 if proxy.scheme == "https" else 80)
            if proxy.username is not None:
                # `http://user:password@proxy:3128`, as requests and curl accept it.
                pair = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
                self._proxy_headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        self._tls: ssl.SSLContext | None = None
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self.scheme == "https" and self._tls is None:
            self._tls = _tls_context()
        if self._proxy:
            if self.scheme == "https":
                conn = http.client.HTTPSConnection(
                    self._proxy_host, self._proxy_port, timeout=timeout, context=self._tls
                )
                conn.set_tunnel(self.host, self.port, headers=self._proxy_headers or None)
            else:
                conn = http.client.HTTPConnection(self._proxy_host, self._proxy_port, timeout=timeout)
        elif self.scheme == "https":
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self._tls)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        with self._lock:
            self._all.append(conn)
        return conn

    def request(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> JsonResponse:
        """One request; a dropped kept-alive connection is re-opened once before giving up.

        `timeout` (seconds, default the client's) bounds each connect and each wait for data,
        so a caller with a deadline can pass what is left of it."""
        wait = self.timeout if timeout is None else timeout
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "gzip"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        # Through a plain-HTTP proxy the request line carries the absolute URL.
        target = self.prefix + path
        if self._proxy and self.scheme == "http":
            target = f"http://{self.host}:{self.port}{target}"
            headers.update(self._proxy_headers)
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            fresh = conn is None
            if conn is None:
                conn = self._local.conn = self._connect(wait)
            else:
                conn.timeout = wait
                if conn.sock is not None:
                    conn.sock.settimeout(wait)
            try:
                conn.request(method, target, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
            except TimeoutError:
                self._drop(conn)
                raise HttpTimeout(f"no answer within {wait:g} s") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop(conn)
                # A kept-alive connection the server closed meanwhile fails on first use; retry
                # once on a new one. A fresh connection failing is a real error.
                if fresh or attempt == 2:
                    raise HttpError(_describe(exc)) from None
                continue
            if resp.getheader("Content-Encoding", "").lower() == "gzip":
                raw = _gunzip(raw)
            if resp.will_close:
                self._drop(conn)
            return JsonResponse(resp.status, raw)
        raise HttpError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
