#!/usr/bin/env python3
"""Benchmark: cost per megabyte of one big file, per scanner.

    python bench/scale.py                                   # every case at 1, 4 and 16 MiB, best of 3
    python bench/scale.py --scanners kubernetes,secrets --sizes 1,8 --runs 1

For each case a seeded generator writes one realistic file of each size (a
kserve-like install bundle, a text dump with a few fake tokens, a Python module,
a hashed requirements lock, a workflow with many jobs, terraform IAM, a pickle
and a safetensors file built from raw bytes), and a whole
`python -m aisec_ci scan DIR --scanners NAME --offline --no-git ...` is timed on
it. The same command on a directory holding only the config is timed too, and
subtracted: what is left is the scanner's work on the file, so seconds per MiB
stay comparable across sizes. The last columns divide the per-MiB cost at the
largest size by the cost at the smallest: about 1.0 is linear; above 1.5 the row
says NOT LINEAR. Peak RSS is the largest process of the scan (GNU time's %M, else
os.wait4, which also counts this script's own size before exec), in MiB.

The scan directory's `.aisec.yml` lifts the 10 MiB text-file cap and turns the
per-file time budget off, so a slow file is timed instead of skipped; a run
longer than --timeout seconds is killed and the case stops growing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from harness import machine  # noqa: E402  (bench/ is the script's directory)

MIB = 1024 * 1024
NOT_LINEAR = 1.5
TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
CONFIG = "max-file-size: 256MiB\nmax-file-seconds: 0\nmax-file-memory: 4GiB\n"

Writer = Callable[[Path, int], Path]
"""Write a file of about n bytes under the directory; returns its path."""


def _fill(path: Path, target: int, head: str, block: Callable[[random.Random, int], str], tail: str = "") -> Path:
    """head + block(rng, i) for i = 0, 1, ... until the file holds `target` bytes, + tail."""
    rng = random.Random(1234)
    parts, size, i = [head], len(head) + len(tail), 0
    while size < target:
        text = block(rng, i)
        parts.append(text)
        size += len(text)
        i += 1
    parts.append(tail)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")
    return path


def _word(rng: random.Random) -> str:
    return rng.choice(["model", "serving", "runtime", "predictor", "storage", "batch", "canary", "router", "graph"])


# kubernetes: a multi-document install bundle (kserve's install/<version>/kserve.yaml)


def _crd_props(rng: random.Random, depth: int, width: int) -> list[str]:
    pad = "  " * (8 + 2 * (4 - depth))
    lines: list[str] = []
    for j in range(width):
        name = f"{_word(rng)}{j}"
        lines.append(f"{pad}{name}:")
        lines.append(f"{pad}  description: {_word(rng).capitalize()} settings of the {_word(rng)} ({j}); see the docs.")
        if depth > 0 and rng.random() < 0.35:
            lines.append(f"{pad}  type: object")
            lines.append(f"{pad}  properties:")
            lines += _crd_props(rng, depth - 1, width)
        else:
            lines.append(f"{pad}  type: {rng.choice(['string', 'integer', 'boolean'])}")
    return lines


def _crd(rng: random.Random, i: int) -> str:
    body = "\n".join(_crd_props(rng, 4, 6))
    return (
        "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
        f"  name: things{i}.serving.example.io\nspec:\n  group: serving.example.io\n  names:\n"
        f"    kind: Thing{i}\n    plural: things{i}\n  scope: Namespaced\n  versions:\n  - name: v1beta1\n"
        "    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n"
        "        properties:\n          spec:\n            type: object\n            properties:\n" + body + "\n"
    )


def _k8s_block(rng: random.Random, i: int) -> str:
    # CRDs carry most of the bytes, as in kserve's bundle (and keep the document count realistic).
    if i % 2 == 0:
        return _crd(rng, i)
    name = f"{_word(rng)}-{i}"
    user = "" if i % 3 else "        securityContext:\n          privileged: true\n"
    return (
        f"---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: kserve\n"
        f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}-role\n"
        'rules:\n- apiGroups: [""]\n  resources: [configmaps, secrets, services]\n  verbs: [get, list, watch]\n'
        f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {name}-binding\n"
        f"roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {name}-role\n"
        f"subjects:\n- kind: ServiceAccount\n  name: {name}\n  namespace: kserve\n"
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\n  namespace: kserve\ndata:\n"
        f'  deploy: \'{{"defaultDeploymentMode": "Serverless", "replicas": {rng.randint(1, 9)}}}\'\n'
        f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: kserve\nspec:\n"
        f"  selector:\n    app: {name}\n  ports:\n  - port: 443\n    targetPort: {rng.randint(8000, 9999)}\n"
        f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: kserve\nspec:\n"
        f"  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n"
        f"      labels:\n        app: {name}\n    spec:\n      serviceAccountName: {name}\n      containers:\n"
        f"      - name: manager\n        image: example.io/kserve/{name}:v0.{i % 20}.0\n"
        "        args: [--metrics-addr=127.0.0.1:8080, --leader-elect]\n"
        "        resources:\n          limits: {cpu: 100m, memory: 300Mi}\n" + user
    )


def kubernetes(root: Path, n: int) -> Path:
    return _fill(root / "install" / "v0.15.0" / "kserve.yaml", n, "", _k8s_block)


# secrets: a large text dump (config and log lines) with a fake token now and then


def secrets(root: Path, n: int) -> Path:
    from tests.scanners.secrets.secret_tokens import TokenFactory

    tokens = TokenFactory(11)
    makers = [tokens.github, tokens.huggingface, tokens.openai, tokens.aws_key_id, tokens.slack, tokens.groq]

    def block(rng: random.Random, i: int) -> str:
        if i % 400 == 0:
            return f"EXAMPLE_TOKEN_{i}={makers[(i // 400) % len(makers)]()}\n"
        return (
            f"2026-11-25T10:{i % 60:02d}:00Z INFO {_word(rng)} request id={rng.getrandbits(64):016x} "
            f"latency_ms={rng.randint(1, 900)} path=/v1/models/{_word(rng)}:predict status=200\n"
            f"{_word(rng)}_{i}_timeout = {rng.randint(1, 600)}  # seconds, see runbook section {i % 97}\n"
        )

    return _fill(root / "logs" / "service-dump.txt", n, "# exported service settings and logs\n", block)


# code: one large Python module with the occasional risky call


def code(root: Path, n: int) -> Path:
    risky = [
        "    return pickle.loads(payload)\n",
        "    return yaml.load(payload, Loader=yaml.Loader)\n",
        "    return subprocess.run(payload, shell=True, check=False)\n",
        "    return torch.load(payload)\n",
        "    return requests.get(payload).json()\n",
    ]

    def block(rng: random.Random, i: int) -> str:
        tail = risky[i % len(risky)] if i % 25 == 0 else f"    return total / max(len(items), {rng.randint(1, 9)})\n"
        return (
            f"\n\nclass {_word(rng).capitalize()}Step{i}:\n"
            f'    """Step {i} of the {_word(rng)} pipeline."""\n\n'
            f"    def __init__(self, scale: float = {rng.random():.3f}) -> None:\n        self.scale = scale\n\n"
            f"    def apply(self, items: list[float]) -> list[float]:\n"
            f"        return [x * self.scale + {rng.randint(0, 99)} for x in items if x > {rng.randint(0, 9)}]\n\n\n"
            f"def step_{i}(items: list[float], payload: str) -> object:\n"
            f"    total = 0.0\n    for item in {_word(rng).capitalize()}Step{i}().apply(items):\n"
            f"        total += item\n" + tail
        )

    head = '"""Generated pipeline steps."""\n\nimport pickle\nimport subprocess\n\n'
    head += "import requests\nimport torch\nimport yaml\n"
    return _fill(root / "pipeline" / "steps.py", n, head, block)


# deps: a pip-compile lock with hashes; now and then a real package at an old version


def deps(root: Path, n: int) -> Path:
    old = ["torch==1.13.0", "transformers==4.30.0", "pyyaml==5.3", "requests==2.19.0", "pillow==9.0.0", "jinja2==2.10"]

    def block(rng: random.Random, i: int) -> str:
        pin = old[(i // 50) % len(old)] if i % 50 == 0 else f"synthpkg-{i}=={rng.randint(0, 9)}.{rng.randint(0, 30)}.0"
        hashes = "".join(f" \\\n    --hash=sha256:{rng.getrandbits(256):064x}" for _ in range(3))
        return f"{pin}{hashes}\n    # via -r requirements.in\n"

    return _fill(root / "requirements.txt", n, "# pip-compile --generate-hashes requirements.in\n", block)


# workflows: one workflow with many jobs


def workflows(root: Path, n: int) -> Path:
    def block(rng: random.Random, i: int) -> str:
        risky = (
            '        run: echo "${{ github.event.pull_request.title }}"\n'
            if i % 20 == 0
            else "        run: make test\n"
        )
        return (
            f"  test-{i}:\n    runs-on: ubuntu-latest\n    timeout-minutes: {rng.randint(5, 60)}\n"
            f"    strategy:\n      matrix:\n        python: ['3.10', '3.11', '3.12']\n    steps:\n"
            "      - uses: actions/checkout@v4\n"
            "      - uses: actions/setup-python@v5\n        with:\n          python-version: ${{ matrix.python }}\n"
            f"      - name: {_word(rng)} suite {i}\n" + risky
        )

    head = (
        "name: ci\non:\n  pull_request_target:\n  push:\n    branches: [main]\npermissions:\n  contents: read\njobs:\n"
    )
    return _fill(root / ".github" / "workflows" / "ci.yml", n, head, block)


# cloud: terraform with many IAM policies (heredoc JSON, some wildcards)


def cloud(root: Path, n: int) -> Path:
    def block(rng: random.Random, i: int) -> str:
        action = (
            '"*"'
            if i % 15 == 0
            else f'["s3:GetObject", "s3:ListBucket", "sagemaker:Describe{_word(rng).capitalize()}"]'
        )
        return (
            f'resource "aws_s3_bucket" "{_word(rng)}_{i}" {{\n  bucket = "ml-{_word(rng)}-{i}"\n}}\n\n'
            f'resource "aws_iam_policy" "{_word(rng)}_{i}" {{\n  name   = "ml-{i}"\n  policy = <<EOT\n'
            f'{{\n  "Version": "2012-10-17",\n  "Statement": [\n    {{\n      "Effect": "Allow",\n'
            f'      "Action": {action},\n      "Resource": "arn:aws:s3:::ml-{i}/*"\n    }}\n  ]\n}}\nEOT\n}}\n\n'
        )

    return _fill(root / "infra" / "iam.tf", n, 'provider "aws" {\n  region = "us-east-1"\n}\n\n', block)


# docker: one long multi-stage Dockerfile


def docker(root: Path, n: int) -> Path:
    """Long RUN instructions (about 3 KB each, continued lines): the scanner analyses at most
    10,000 RUNs per file by design, so many short ones would only measure that cap."""

    def block(rng: random.Random, i: int) -> str:
        if i % 40 == 0:
            return f"\nFROM python:3.{10 + i % 3}-slim AS stage{i}\nWORKDIR /app\nCOPY . /app\n"
        if i % 7 == 0:
            return f"RUN curl -sSL https://example.com/install-{i}.sh | sh\n"
        pkgs = " \\\n".join(
            f"    {_word(rng)}-{i}-{k}=={rng.randint(0, 9)}.{rng.randint(0, 9)}" for k in range(rng.randint(80, 160))
        )
        return f"RUN pip install --no-cache-dir \\\n{pkgs} \\\n    && rm -rf /root/.cache\nENV STEP_{i}=done\n"

    return _fill(root / "Dockerfile", n, "# syntax=docker/dockerfile:1\n", block)


# models: built from bytes, never by pickling objects


def _short_unicode(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def models_pickle(root: Path, n: int) -> Path:
    """A protocol-4 pickle shaped like a state dict: key -> _rebuild_tensor_v2(bytes, ...) per entry.

    Written opcode by opcode and never loaded."""
    rng = random.Random(99)
    chunk = 64 * 1024
    out = bytearray(b"\x80\x04\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93)R(")
    i = 0
    while len(out) < n:
        out += _short_unicode(f"layers.{i}.weight")
        out += _short_unicode("torch._utils") + _short_unicode("_rebuild_tensor_v2") + b"\x93("
        out += b"B" + struct.pack("<I", chunk) + rng.randbytes(chunk)
        out += b"K\x00" + b"J" + struct.pack("<i", chunk // 4) + b"\x85tR"
        i += 1
    # One unsafe import as the last entry: a finding shows the scanner read to the end.
    out += _short_unicode("hook") + _short_unicode("os") + _short_unicode("system") + b"\x93"
    out += b"u."
    path = root / "checkpoints" / "model.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


def models_safetensors(root: Path, n: int) -> Path:
    """Header length (u64 LE), JSON header of tensor offsets, raw data."""
    rng = random.Random(98)
    tensor = 256 * 1024
    count = max(1, n // tensor)
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    for i in range(count):
        header[f"layers.{i}.weight"] = {
            "dtype": "F32",
            "shape": [tensor // 4],
            "data_offsets": [i * tensor, (i + 1) * tensor],
        }
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    path = root / "checkpoints" / "model.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(head)) + head)
        for _ in range(count):
            fh.write(rng.randbytes(tensor))
    return path


@dataclass(frozen=True)
class Case:
    name: str
    scanner: str
    write: Writer


CASES = [
    Case("kubernetes", "kubernetes", kubernetes),
    Case("secrets", "secrets", secrets),
    Case("docker", "docker", docker),
    Case("workflows", "workflows", workflows),
    Case("cloud", "cloud", cloud),
    Case("code", "code", code),
    Case("deps", "deps", deps),
    Case("models (pickle)", "models", models_pickle),
    Case("models (safetensors)", "models", models_safetensors),
]


@dataclass
class Run:
    seconds: float
    rss_mib: float
    findings: int
    problem: str | None = None


@dataclass
class Row:
    case: Case
    base: float = 0.0
    best: dict[float, Run] = field(default_factory=dict)
    stopped: str | None = None


def scan_once(scan_dir: Path, scanner: str, out_dir: Path, target: Path | None, timeout: float) -> Run:
    """One whole scan, timed, with the peak RSS of its largest process (KiB on Linux)."""
    out = out_dir / "report.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "aisec_ci", "scan", str(scan_dir), "--scanners", scanner, "--offline", "--no-git"]
    cmd += ["--quiet", "--fail-on", "none", "-f", "json", "-o", str(out)]
    rss_file = out_dir / "rss.txt"
    if TIME_BIN:
        # wait4's peak would include the pre-exec copy of this (large) process; time's child is forked small.
        cmd = [TIME_BIN, "-f", "%M", "-o", str(rss_file), *cmd]
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    started = time.perf_counter()
    # Neutral working directory: `python -m` puts it first on sys.path.
    proc = subprocess.Popen(
        cmd, env=env, cwd=out_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_kib = usage.ru_maxrss
    if TIME_BIN and not killed.is_set():
        peak_kib = int(rss_file.read_text().split()[-1])
    run = Run(elapsed, peak_kib / 1024, 0)
    if killed.is_set():
        run.problem = f"killed after {timeout:.0f} s"
    elif proc.returncode not in (0, 1):
        run.problem = f"exit {proc.returncode}: {stderr.decode(errors='replace')[-300:]}"
    else:
        report = json.loads(out.read_text(encoding="utf-8"))
        run.findings = len(report["findings"])
        if target is not None:
            rel = target.relative_to(scan_dir).as_posix()
            skipped = [s["reason"] for s in report.get("skipped", []) if s.get("path") == rel]
            # Notes also carry finding caps for the file; only the skip notes mean it went unscanned.
            noted = [str(n) for n in report.get("notes", []) if rel in str(n) and "not scanned" in str(n)]
            if skipped or noted:
                run.problem = f"not scanned: {(skipped + noted)[0]}"
    return run


def best_of(runs: int, scan_dir: Path, scanner: str, out_dir: Path, target: Path | None, timeout: float) -> Run:
    best: Run | None = None
    for _ in range(runs):
        run = scan_once(scan_dir, scanner, out_dir, target, timeout)
        if run.problem:
            return run
        if best is None or run.seconds < best.seconds:
            best = run
    assert best is not None
    return best


def measure(case: Case, sizes: list[float], runs: int, timeout: float, work: Path) -> Row:
    row = Row(case)
    out_dir = work / "out"
    out_dir.mkdir(exist_ok=True)
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    (empty / ".aisec.yml").write_text(CONFIG)
    scan_once(empty, case.scanner, out_dir, None, timeout)  # warm-up: page cache, bytecode
    row.base = best_of(runs, empty, case.scanner, out_dir, None, timeout).seconds
    for mib in sizes:
        scan_dir = work / f"{case.scanner}-{mib:g}"
        scan_dir.mkdir()
        (scan_dir / ".aisec.yml").write_text(CONFIG)
        target = case.write(scan_dir, int(mib * MIB))
        size = target.stat().st_size / MIB
        run = best_of(runs, scan_dir, case.scanner, out_dir, target, timeout)
        print(
            f"  {case.name} {size:.2f} MiB: {run.seconds:.2f} s, peak RSS {run.rss_mib:.0f} MiB, "
            f"{run.findings} findings{'; ' + run.problem if run.problem else ''}",
            file=sys.stderr,
            flush=True,
        )
        row.best[mib] = run
        target.unlink()
        if run.problem:
            row.stopped = f"{mib:g} MiB: {run.problem}"
            break
    return row


def render(rows: list[Row], sizes: list[float]) -> list[str]:
    cols = "/".join(f"{s:g}" for s in sizes)
    lines = [
        "| case | start-up s | "
        + " | ".join(f"s at {s:g} MiB" for s in sizes)
        + " | "
        + " | ".join(f"s/MiB at {s:g}" for s in sizes)
        + f" | ratio {sizes[-1]:g}/{sizes[0]:g} | peak RSS MiB ({cols}) |",
        "|---|" + "---:|" * (2 * len(sizes) + 3),
    ]
    for row in rows:
        secs, per, rss = [], [], []
        for s in sizes:
            run = row.best.get(s)
            if run is None:
                secs.append("-")
                per.append("-")
                rss.append("-")
                continue
            if run.problem:
                secs.append(f"> {run.seconds:.0f}" if "killed" in run.problem else "skipped")
                per.append("-")
                rss.append(f"{run.rss_mib:.0f}")
                continue
            secs.append(f"{run.seconds:.2f}")
            per.append(f"{max(run.seconds - row.base, 0.0) / s:.3f}")
            rss.append(f"{run.rss_mib:.0f}")
        first, last = row.best.get(sizes[0]), row.best.get(sizes[-1])
        if last and not last.problem and last.seconds - row.base < 0.1:
            verdict = "flat (under 0.1 s over start-up)"
        elif first and last and not first.problem and not last.problem and len(sizes) > 1:
            small = max(first.seconds - row.base, 1e-3) / sizes[0]
            ratio = max(last.seconds - row.base, 0.0) / sizes[-1] / small
            verdict = f"{ratio:.2f}" + (" NOT LINEAR" if ratio > NOT_LINEAR else "")
        elif row.stopped and "killed" in row.stopped:
            verdict = f"NOT LINEAR ({row.stopped})"
        else:
            skipped_at = row.stopped.split(":", 1)[0] if row.stopped else ""
            verdict = f"not measured (skipped at {skipped_at}; reason above)" if skipped_at else "incomplete"
        lines.append(
            f"| {row.case.name} | {row.base:.2f} | "
            + " | ".join(secs)
            + " | "
            + " | ".join(per)
            + f" | {verdict} | {'/'.join(rss)} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scanners", default="", help="comma-separated scanners (default: all cases)")
    parser.add_argument("--sizes", default="1,4,16", help="comma-separated sizes in MiB (default: 1,4,16)")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs (default: 3)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="kill a run after this many seconds (default: 120)"
    )
    args = parser.parse_args()
    wanted = {s.strip() for s in args.scanners.split(",") if s.strip()}
    cases = [c for c in CASES if not wanted or c.scanner in wanted]
    sizes = sorted(float(s) for s in args.sizes.split(",") if s.strip())
    if not cases or not sizes:
        parser.error("no case or no size selected")
    print(f"machine: {machine()}; best of {args.runs}; start-up = the same scan of an empty directory\n", flush=True)
    rows = []
    for case in cases:
        with tempfile.TemporaryDirectory(prefix="aisec-scale-") as name:
            rows.append(measure(case, sizes, args.runs, args.timeout, Path(name)))
    print("\n".join(render(rows, sizes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
