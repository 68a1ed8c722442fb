"""Benchmark the deps audit: 1,000 pins against the offline database, the OSV API and pip-audit.

    python tools/bench_deps.py ../shared/data/advisories/osv-pypi [--pins 1000] [--vulnerable 100] [--skip-pip-audit]

An OSV-compatible server on 127.0.0.1 answers from the given directory of OSV
JSON, so both tools query the same local endpoint in the same run: aisec-ci's
OSV source (querybatch + vulns/{id}) and `pip-audit -s osv --osv-url` (one
/v1/query per package). Prints one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aisec_ci.scanners.deps.matching import is_affected
from aisec_ci.scanners.deps.services.interface import PackageVersion
from aisec_ci.scanners.deps.services.local_records import RecordIndex
from aisec_ci.scanners.deps.services.offline_db import OfflineDbService
from aisec_ci.scanners.deps.services.osv_api import OsvApiService


def serve(index: RecordIndex, records: dict[str, Any], hits: Counter[str]) -> ThreadingHTTPServer:
    """The local OSV server; `GET /stats` returns the request counts and resets them."""

    def matches(name: str, version: str) -> list[Any]:
        return [r for r in index.by_package.get(name, ()) if is_affected(r, name, version)]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def reply(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/stats":
                self.reply(dict(hits))
                hits.clear()
                return
            hits[self.path.rsplit("/", 1)[0]] += 1
            rec = records.get(self.path.rsplit("/", 1)[-1])
            self.reply(rec or {}, 200 if rec else 404)

        def do_POST(self) -> None:
            hits[self.path] += 1
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if self.path == "/v1/querybatch":
                results = []
                for q in body["queries"]:
                    found = matches(q["package"]["name"], q["version"])
                    results.append({"vulns": [{"id": r["id"], "modified": r.get("modified", "")} for r in found]})
                self.reply({"results": results})
            else:
                found = matches(body["package"]["name"], body["version"])
                self.reply({"vulns": found} if found else {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _server_process(data: Path, ports: Any) -> None:
    records = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(data.glob("*.json"))}
    server = serve(RecordIndex(records.values()), records, Counter())
    ports.put(server.server_address[1])
    threading.Event().wait()


def stats(url: str) -> Counter[str]:
    with urllib.request.urlopen(url + "/stats", timeout=10) as resp:
        return Counter(json.loads(resp.read()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("data", type=Path, help="directory of OSV JSON records")
    parser.add_argument("--pins", type=int, default=1000)
    parser.add_argument("--vulnerable", type=int, default=100, help="pins at a vulnerable version (100)")
    parser.add_argument("--skip-pip-audit", action="store_true")
    args = parser.parse_args(argv)
    records = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(args.data.glob("*.json"))}
    index = RecordIndex(records.values())
    # `--vulnerable` packages with advisories at an old version, the other packages with advisories
    # at a future (clean) version, then clean names up to the count. Names are unique because
    # pip-audit rejects a file that names a package twice.
    names = sorted(index.by_package)
    pins = [PackageVersion(n, "0.1") for n in names[: args.vulnerable]]
    pins += [PackageVersion(n, "999.0") for n in names[args.vulnerable :]]
    pins = pins[: args.pins]
    pins += [PackageVersion(f"aisec-bench-clean-{i}", "1.0") for i in range(args.pins - len(pins))]
    out: dict[str, Any] = {"pins": len(pins), "vulnerable_pins": min(args.vulnerable, len(pins))}

    start = time.perf_counter()
    OfflineDbService(args.data).audit(pins)
    out["offline_db_seconds"] = round(time.perf_counter() - start, 3)

    # The server runs in its own process, as a real OSV service would, so the client under test
    # does not share an interpreter (and its lock) with the server.
    ports: Any = multiprocessing.Queue()
    proc = multiprocessing.Process(target=_server_process, args=(args.data, ports), daemon=True)
    proc.start()
    url = f"http://127.0.0.1:{ports.get(timeout=60)}"
    try:
        with tempfile.TemporaryDirectory() as cache:
            stats(url)
            start = time.perf_counter()
            OsvApiService(url).audit(pins)
            out["osv_api_seconds"] = round(time.perf_counter() - start, 3)
            hits = stats(url)
            out["osv_api_querybatch_requests"] = hits["/v1/querybatch"]
            out["osv_api_detail_requests"] = hits["/v1/vulns"]
            OsvApiService(url, cache_dir=Path(cache)).audit(pins)
            stats(url)
            start = time.perf_counter()
            OsvApiService(url, cache_dir=Path(cache)).audit(pins)
            out["osv_api_cached_seconds"] = round(time.perf_counter() - start, 3)
            out["osv_api_cached_requests"] = sum(stats(url).values())
        if not args.skip_pip_audit:
            with tempfile.TemporaryDirectory() as tmp:
                req = Path(tmp) / "req.txt"
                req.write_text("".join(f"{p.name}=={p.version}\n" for p in pins))
                argv_pa = [sys.executable, "-m", "pip_audit", "-r", str(req), "--no-deps", "--disable-pip",
                           "-s", "osv", "--osv-url", url + "/v1/query", "--progress-spinner", "off", "-f", "json",
                           "-o", str(Path(tmp) / "out.json"), "--cache-dir", str(Path(tmp) / "cache")]  # fmt: skip
                start = time.perf_counter()
                subprocess.run(argv_pa, capture_output=True, check=False, stdin=subprocess.DEVNULL)
                out["pip_audit_seconds"] = round(time.perf_counter() - start, 3)
                out["pip_audit_requests"] = sum(stats(url).values())
                out["speedup_vs_pip_audit_cold"] = round(out["pip_audit_seconds"] / out["osv_api_seconds"], 1)
                out["speedup_vs_pip_audit_cached"] = round(
                    out["pip_audit_seconds"] / max(out["osv_api_cached_seconds"], 1e-6), 1
                )
    finally:
        proc.terminate()
        proc.join(5)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
