#!/usr/bin/env python3
"""Benchmark the deps audit: whole `aisec-ci scan` runs against pip-audit on the same 1,000 pins.

    python bench/bench_deps.py ../shared/data/advisories/osv-pypi
    python bench/bench_deps.py DATA --runs 7 --latency-ms 20 --peer-bin /tmp/peers/bin

An OSV-compatible server (its own process, on 127.0.0.1) answers from a
directory of OSV JSON records, so every tool queries the same local endpoint in
the same run. A second server answers with the same records but later
`modified` stamps, as live osv.dev data newer than aisec-ci's embedded snapshot
would: there aisec-ci must fetch every matched record. Runs alternate between
the tools (A B C ... A B C ...), each figure is the median of --runs
whole-process runs (start-up included, as a user pays it), and the request
counts come from the server. `--latency-ms` delays every answer, to show what a
real network round trip costs each tool. Nothing is installed: pip-audit is
looked up in --peer-bin or on PATH.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aisec_ci.scanners.deps.matching import is_affected
from aisec_ci.scanners.deps.services.local_records import RecordIndex

NEWER = "2099-01-01T00:00:00Z"


def load(data: Path, newer: bool) -> dict[str, dict[str, Any]]:
    records = {}
    for p in sorted(data.glob("*.json")):
        rec = json.loads(p.read_text(encoding="utf-8"))
        if newer:
            rec["modified"] = NEWER
        records[rec["id"]] = rec
    return records


def serve(records: dict[str, dict[str, Any]], latency: float) -> ThreadingHTTPServer:
    """The OSV API subset both tools use; `GET /stats` returns the request counts and resets them."""
    index = RecordIndex(records.values())
    hits: Counter[str] = Counter()
    lock = threading.Lock()

    # Memoized: after the untimed warm-up round the server answers from memory, so the figures
    # measure the clients and not this test server's own matching (both tools ask the same
    # questions every round).
    @functools.cache
    def matches(name: str, version: str) -> list[Any]:
        return [r for r in index.by_package.get(name, ()) if is_affected(r, name, version)]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as api.osv.dev offers
        # Headers and body go out in two writes; with Nagle on, the client's delayed ACK would add
        # ~40 ms to every answer, a cost of this test server and not of either tool.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def reply(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def count(self, key: str) -> None:
            with lock:
                hits[key] += 1
            if latency:
                time.sleep(latency)

        def do_GET(self) -> None:
            if self.path == "/stats":
                with lock:
                    body = dict(hits)
                    hits.clear()
                self.reply(body)
                return
            self.count("/v1/vulns/{id}")
            rec = records.get(self.path.rsplit("/", 1)[-1])
            self.reply(rec or {"message": "Bug not found."}, 200 if rec else 404)

        def do_POST(self) -> None:
            self.count(self.path)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if self.path == "/v1/querybatch":
                results = []
                for q in body["queries"]:
                    found = matches(q["package"]["name"], q["version"])
                    results.append({"vulns": [{"id": r["id"], "modified": r["modified"]} for r in found]})
                self.reply({"results": results})
            else:
                found = matches(body["package"]["name"], body["version"])
                self.reply({"vulns": found} if found else {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _server_process(data: Path, newer: bool, latency: float, ports: Any) -> None:
    server = serve(load(data, newer), latency)
    ports.put(server.server_address[1])
    threading.Event().wait()


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def make_pins(data: Path, count: int, vulnerable: int) -> list[tuple[str, str]]:
    # `vulnerable` packages at an old version, other packages with advisories at a future (clean)
    # version, then clean names. Names are unique: pip-audit rejects a file naming a package twice.
    names = sorted(RecordIndex(load(data, False).values()).by_package)
    pins = [(n, "0.1") for n in names[:vulnerable]] + [(n, "999.0") for n in names[vulnerable:]]
    pins = pins[:count]
    return pins + [(f"aisec-bench-clean-{i}", "1.0") for i in range(count - len(pins))]


class Case:
    def __init__(self, name: str, url: str, argv: Callable[[Path], list[str]], env: Callable[[Path], dict[str, str]]):
        self.name, self.url, self.argv, self.env = name, url, argv, env
        self.times: list[float] = []
        self.requests: list[Counter[str]] = []
        self.found: set[int] = set()


def run_case(case: Case, scratch: Path, count_found: Callable[[Path], int]) -> None:
    work = Path(tempfile.mkdtemp(dir=scratch))
    if case.url:
        get_json(case.url + "/stats")
    start = time.perf_counter()
    proc = subprocess.run(
        case.argv(work), env=case.env(work), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    case.times.append(time.perf_counter() - start)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{case.name} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    if case.url:
        case.requests.append(Counter(get_json(case.url + "/stats")))
    case.found.add(count_found(work))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("data", type=Path, help="directory of OSV JSON records")
    parser.add_argument("--pins", type=int, default=1000)
    parser.add_argument("--vulnerable", type=int, default=100, help="pins at a vulnerable version (100)")
    parser.add_argument("--runs", type=int, default=5, help="runs per case; the median is reported (5)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every server answer (0)")
    parser.add_argument("--peer-bin", type=Path, help="directory holding the pip-audit executable")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    args = parser.parse_args(argv)

    pip_audit = shutil.which("pip-audit", path=str(args.peer_bin) if args.peer_bin else None)
    # The console script, as users (and pip-audit's own figure) start it; `python -m` as a fallback.
    script = Path(sys.executable).with_name("aisec-ci")
    aisec_cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "aisec_ci"]
    pins = make_pins(args.data, args.pins, args.vulnerable)
    latency = args.latency_ms / 1000
    procs, urls = [], {}
    for label, newer in (("current", False), ("newer", True)):
        ports: Any = multiprocessing.Queue()
        proc = multiprocessing.Process(target=_server_process, args=(args.data, newer, latency, ports), daemon=True)
        proc.start()
        procs.append(proc)
        urls[label] = f"http://127.0.0.1:{ports.get(timeout=120)}"

    scratch = Path(tempfile.mkdtemp(prefix="bench-deps-"))
    try:
        repo = scratch / "repo"
        repo.mkdir()
        req = repo / "requirements.txt"
        req.write_text("".join(f"{n}=={v}\n" for n, v in pins), encoding="utf-8")
        size_mb = req.stat().st_size / 1e6
        warm_cache = scratch / "warm-cache"
        # PYTHONDONTWRITEBYTECODE is dropped so the warm-up round leaves compiled modules behind, as an
        # installed package has them; otherwise every run of an edited checkout recompiles its sources.
        base_env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AISEC_", "SAFETY_", "PIP_AUDIT")) and k != "PYTHONDONTWRITEBYTECODE"
        }

        def aisec(*extra: str) -> Callable[[Path], list[str]]:
            return lambda work: [
                *aisec_cmd,
                "scan",
                str(repo),
                "--scanners",
                "deps",
                "--no-git",
                "--quiet",
                "--format",
                "json",
                "--output",
                str(work / "out.json"),
                "--fail-on",
                "none",
                "--jobs",
                "1",
                *extra,
            ]

        def aisec_env(url: str, cache: Path | None = None, **more: str) -> Callable[[Path], dict[str, str]]:
            return lambda work: {
                **base_env,
                "AISEC_OSV_URL": url,
                "XDG_CACHE_HOME": str(cache or work / "cache"),
                **more,
            }

        cases = [
            Case(
                "aisec-ci, offline database (--offline)",
                "",
                aisec("--offline"),
                aisec_env("http://127.0.0.1:9", AISEC_OSV_DB=str(args.data)),
            ),
            Case(
                "aisec-ci, OSV API, empty cache, snapshot current", urls["current"], aisec(), aisec_env(urls["current"])
            ),
            Case(
                "aisec-ci, OSV API, empty cache, every record newer", urls["newer"], aisec(), aisec_env(urls["newer"])
            ),
            Case("aisec-ci, OSV API, detail cache warm", urls["newer"], aisec(), aisec_env(urls["newer"], warm_cache)),
        ]
        if pip_audit:
            cases.append(
                Case(
                    "pip-audit -s osv --no-deps --disable-pip",
                    urls["newer"],
                    lambda work: [
                        pip_audit,
                        "-r",
                        str(req),
                        "--no-deps",
                        "--disable-pip",
                        "-s",
                        "osv",
                        "--osv-url",
                        urls["newer"] + "/v1/query",
                        "--progress-spinner",
                        "off",
                        "-f",
                        "json",
                        "-o",
                        str(work / "pa.json"),
                        "--cache-dir",
                        str(work / "cache"),
                    ],
                    lambda work: dict(base_env),
                )
            )

        def found(work: Path) -> int:
            out, pa = work / "out.json", work / "pa.json"
            if out.is_file():
                report = json.loads(out.read_text(encoding="utf-8"))
                return len(
                    {
                        f["properties"]["package"]
                        for f in report["findings"]
                        if f["rule_id"] == "deps/vulnerable-package"
                    }
                )
            if pa.is_file():
                return sum(1 for d in json.loads(pa.read_text(encoding="utf-8"))["dependencies"] if d.get("vulns"))
            return -1

        # Fill the warm cache once, untimed.
        subprocess.run(cases[3].argv(scratch), env=cases[3].env(scratch), capture_output=True, check=False)
        for case in cases:  # one untimed warm-up each (page cache, .pyc files)
            run_case(case, scratch, found)
            case.times.clear()
            case.requests.clear()
        for _ in range(args.runs):
            for case in cases:
                run_case(case, scratch, found)
    finally:
        for proc in procs:
            proc.terminate()
            proc.join(5)
        shutil.rmtree(scratch, ignore_errors=True)

    reference = statistics.median(cases[-1].times) if pip_audit else None
    print(
        f"{len(pins)} pins ({args.vulnerable} vulnerable), 1 file of {size_mb:.3f} MB; median of {args.runs} "
        f"alternating whole-process runs; server latency {args.latency_ms:g} ms; "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print()
    print("| run | median s | pins/s | MB/s | HTTP requests | vulnerable pkgs found | vs pip-audit |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for case in cases:
        med = statistics.median(case.times)
        reqs = case.requests[-1] if case.requests else Counter()
        shown = " + ".join(f"{n} {path}" for path, n in sorted(reqs.items())) or "0"
        ratio = f"{reference / med:.1f}x" if reference and case is not cases[-1] else "-"
        found_s = ",".join(str(x) for x in sorted(case.found))
        rate = f"{len(pins) / med:,.0f} | {size_mb / med:.3f}"
        print(f"| {case.name} | {med:.2f} | {rate} | {shown} | {found_s} | {ratio} |")
        rows.append(
            {
                "run": case.name,
                "median_s": round(med, 3),
                "times": [round(t, 3) for t in case.times],
                "requests": dict(reqs),
                "found": sorted(case.found),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
