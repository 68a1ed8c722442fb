#!/usr/bin/env python3
"""Secrets benchmark: aisec-ci against detect-secrets, gitleaks and betterleaks on one tree.

    python bench/bench_secrets.py                          # generate ~25 MB, 5 runs each
    python bench/bench_secrets.py --runs 7 --slow-runs 1   # detect-secrets is slow: fewer runs
    python bench/bench_secrets.py --tree DIR               # time an existing tree instead
    python bench/bench_secrets.py --peer-bin /tmp/peers/bin

Every figure is the median wall time of whole-process runs (start-up included,
as a user pays it). The tools are run alternately (A B C A B C ...) after one
warm-up each, so a load spike on a shared machine hits every tool alike rather
than one. Nothing is installed here: peers are found on PATH or in --peer-bin;
a peer that is missing is listed as such.

Findings counts are what each tool reports with its default rules on the same
files; they are not equal by construction (each tool has different rules and
filters) and are printed so a speed gain is not bought with lost detections.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import generate

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits


def _b62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = BASE62[r] + out
    return out.rjust(width, "0")


def _rand(rnd: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rnd.choice(alphabet) for _ in range(n))


def github_token(rnd: random.Random) -> str:
    """A synthetic `ghp_` token with a valid CRC32 trailer (never issued by GitHub)."""
    body = _rand(rnd, 30)
    return "ghp_" + body + _b62(zlib.crc32(body.encode()), 6)


def planted(rnd: random.Random, i: int) -> str:
    """One synthetic secret line in a realistic form; rotated over common providers."""
    forms = [
        lambda: f'OPENAI_API_KEY = "sk-proj-{_rand(rnd, 20)}T3BlbkFJ{_rand(rnd, 20)}"',
        lambda: f'client = Anthropic(api_key="sk-ant-api03-{_rand(rnd, 93, ALNUM + "-_")}AA")',
        lambda: f'HF_TOKEN = "hf_{_rand(rnd, 34, string.ascii_letters)}"',
        lambda: f'GITHUB_TOKEN = "{github_token(rnd)}"',
        lambda: f'aws_access_key_id = "AKIA{_rand(rnd, 16, string.ascii_uppercase + "234567")}"',
        lambda: f'stripe.api_key = "sk_live_{_rand(rnd, 24)}"',
        lambda: f'DATABASE_URL = "postgresql://trainer:{_rand(rnd, 14)}@db.internal:5432/runs"',
        lambda: f'slack = "xoxb-{rnd.randint(10**11, 10**12 - 1)}-{rnd.randint(10**11, 10**12 - 1)}-{_rand(rnd, 24)}"',
    ]
    return forms[i % len(forms)]()


def plant_secrets(root: Path, every: int, seed: int = 11) -> int:
    """Append a synthetic secret to every `every`-th Python file and to a few notebooks' source."""
    rnd = random.Random(seed)
    count = 0
    for n, path in enumerate(sorted(root.rglob("*.py"))):
        if n % every == 0:
            with path.open("a", encoding="utf-8") as fh:
                fh.write("\n" + planted(rnd, count) + "\n")
            count += 1
    for n, path in enumerate(sorted(root.rglob("*.ipynb"))):
        if n % every == 0:
            nb = json.loads(path.read_text(encoding="utf-8"))
            nb["cells"][0]["source"].append(planted(rnd, count) + "\n")
            path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
            count += 1
    # A Kubernetes Secret and an .env file, as ML repositories carry them.
    sec = root / "deploy" / "model-secret.yaml"
    sec.parent.mkdir(parents=True, exist_ok=True)
    key = base64.b64encode(f"hf_{_rand(rnd, 34, string.ascii_letters)}".encode()).decode()
    sec.write_text(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: hub\ntype: Opaque\ndata:\n  HF_TOKEN: {key}\n")
    (root / ".env").write_text(
        f"WANDB_API_KEY={_rand(rnd, 40, '0123456789abcdef')}\nGITHUB_TOKEN={github_token(rnd)}\n"
    )
    return count + 2


def tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, name))
    return files, size


@dataclass
class Tool:
    name: str
    cmd: list[str]
    count: object  # Callable[[], int | None]: findings in the tool's last report
    runs: int
    times: list[float] = field(default_factory=list)
    findings: int | None = None
    code: int = 0


def _json_len(path: Path, key: str | None = None) -> int | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "[]")
    except (OSError, ValueError):
        return None
    if key == "detect-secrets":
        return sum(len(v) for v in data.get("results", {}).values())
    if isinstance(data, dict):
        return len(data.get(key or "findings", []))
    return len(data)


def build_tools(root: Path, out: Path, peer_bin: Path | None, runs: int, slow_runs: int) -> list[Tool]:
    def find(name: str) -> str | None:
        # --peer-bin first, then the running interpreter's bin (detect-secrets is a dev dependency), then PATH.
        for d in (peer_bin, Path(sys.executable).parent):
            if d is not None and (d / name).exists():
                return str(d / name)
        return shutil.which(name)

    ours = out / "aisec.json"
    tools = [
        Tool(
            "aisec-ci scan --scanners secrets",
            [
                sys.executable,
                "-m",
                "aisec_ci",
                "scan",
                str(root),
                "--scanners",
                "secrets",
                "--format",
                "json",
                "--output",
                str(ours),
                "--fail-on",
                "none",
                "-q",
            ],
            lambda: _json_len(ours, "findings"),
            runs,
        )
    ]
    gl = find("gitleaks")
    if gl:
        rep = out / "gitleaks.json"
        tools.append(
            Tool(
                "gitleaks dir",
                [
                    gl,
                    "dir",
                    str(root),
                    "--no-banner",
                    "--redact",
                    "--report-format",
                    "json",
                    "--report-path",
                    str(rep),
                    "--exit-code",
                    "0",
                    "--log-level",
                    "error",
                ],
                lambda: _json_len(rep),
                runs,
            )
        )
    bl = find("betterleaks")
    if bl:
        rep_b = out / "betterleaks.json"
        tools.append(
            Tool(
                "betterleaks fs",
                [
                    bl,
                    "fs",
                    str(root),
                    "--no-banner",
                    "--redact",
                    "-o",
                    str(rep_b),
                    "--exit-code",
                    "0",
                    "--log-level",
                    "error",
                ],
                lambda: _json_len(rep_b, "findings"),
                runs,
            )
        )
    ds = find("detect-secrets")
    if ds:
        rep_d = out / "detect-secrets.json"
        # detect-secrets writes its report to stdout; a shell redirect keeps the timing whole-process.
        tools.append(
            Tool(
                "detect-secrets scan --all-files",
                ["sh", "-c", f'cd "{root}" && exec "{ds}" scan --all-files . > "{rep_d}"'],
                lambda: _json_len(rep_d, "detect-secrets"),
                slow_runs,
            )
        )
    return tools


def run_once(tool: Tool) -> float:
    start = time.perf_counter()
    proc = subprocess.run(tool.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    tool.code = proc.returncode
    return elapsed


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {cpu}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", type=Path, help="benchmark this directory instead of generating one")
    ap.add_argument("--files", type=int, default=25_000, help="files to generate (default: ~25 MB)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each fast tool")
    ap.add_argument("--slow-runs", type=int, default=1, help="timed runs of detect-secrets (minutes each)")
    ap.add_argument("--peer-bin", type=Path, help="directory holding gitleaks / betterleaks / detect-secrets")
    ap.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aisec-bench-secrets-"))
    try:
        if args.tree is not None:
            root = args.tree.resolve()
        else:
            root = (args.keep or tmp / "repo").resolve()
            generate(root, args.files)
            planted_n = plant_secrets(root, every=97)
            print(f"generated {root} with {planted_n} planted synthetic secrets")
        files, size = tree_size(root)
        print(f"tree: {files} files, {size / 1e6:.1f} MB")
        tools = [t for t in build_tools(root, tmp, args.peer_bin, args.runs, args.slow_runs) if t.runs > 0]
        for tool in tools:  # warm-up: page cache, .pyc files (skipped for a tool timed once: it is slow)
            if tool.runs > 1:
                run_once(tool)
        for rnd in range(max(t.runs for t in tools)):
            for tool in tools:
                if rnd < tool.runs:
                    tool.times.append(run_once(tool))
                    if rnd == 0:
                        tool.findings = tool.count()  # type: ignore[operator]
        print(f"\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}; machine shared with other jobs")
        ours = statistics.median(tools[0].times)
        head = f"| {'tool':<34} | runs | median s | min-max s   | files/s | MB/s  | ours is x faster | findings |"
        print(head)
        print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
        for tool in tools:
            med = statistics.median(tool.times)
            found = "?" if tool.findings is None else str(tool.findings)
            print(
                f"| {tool.name:<34} | {len(tool.times):>4} | {med:>8.2f} "
                f"| {min(tool.times):>5.2f}-{max(tool.times):<5.2f} "
                f"| {files / med:>7.0f} | {size / 1e6 / med:>5.2f} | {med / ours:>16.2f} | {found:>8} |"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
