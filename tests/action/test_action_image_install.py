"""Build the image's virtualenv the way the Dockerfile does, without Docker, and run the entrypoint from it.

The Dockerfile's own COPY/ENV/RUN lines are replayed with the image paths
mapped into a temporary directory, so a change to its pip lines is what this
test exercises. It installs from the hashed lock files, which needs the
package index (PyPI, or this machine's local mirror of it); it takes about a
minute.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aisec_ci.action.publish_summary import parse_outputs
from tests.action.conftest import REPO, Runner, build_checkout, event_payload, own_as_runner
from tests.action.fake_github import FakeGitHub


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line[:-1].strip()}" if line.endswith("\\") else f"{pending} {line}"
        if line.endswith("\\"):
            continue
        keyword, _, args = pending.strip().partition(" ")
        out.append((keyword.upper(), args.strip()))
        pending = ""
    return out


def test_dockerfile_pins_and_installs_like_the_contract() -> None:
    steps = instructions(REPO / "Dockerfile")
    froms = [a for k, a in steps if k == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS build")
    base = froms[0].removesuffix(" AS build")
    assert froms[1] == base  # one base for both stages, so the venv's interpreter exists at run time
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base)
    pip_lines = [a for k, a in steps if k == "RUN" and "pip install" in a]
    locked = [seg for a in pip_lines for seg in a.split("&&") if "-r " in seg]
    assert locked and all("--require-hashes" in s and "--no-cache-dir" in s for s in locked)
    final = steps[[i for i, (k, _) in enumerate(steps) if k == "FROM"][1] :]
    final_runs = " ".join(a for k, a in final if k == "RUN")
    for tool in ("gcc", "build-essential", "python3-dev", "pip install"):
        assert tool not in final_runs
    assert not any(k == "USER" for k, _ in steps)  # root, as GitHub requires for container actions
    assert not any(k == "WORKDIR" for k, _ in final)  # the runner sets --workdir /github/workspace
    entry = next(a for k, a in final if k == "ENTRYPOINT")
    assert entry.startswith("[")  # exec form: no shell between the runner and us


def _map(text: str, mapping: dict[str, str]) -> str:
    for image_path, local in mapping.items():
        text = text.replace(image_path, local)
    return text


def test_image_install_runs_the_entrypoint(tmp_path: Path, fake_github: FakeGitHub) -> None:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    image = tmp_path / "image"
    mapping = {"/opt/aisec-ci": str(image / "opt" / "aisec-ci"), "/tmp/build": str(image / "build")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    pybin = image / "pybin"
    pybin.mkdir(parents=True)
    # `python` in the Dockerfile is the base image's interpreter; here it is the one running the tests.
    (pybin / "python").symlink_to(sys.executable)
    env["PATH"] = f"{pybin}{os.pathsep}{env.get('PATH', '')}"
    steps = instructions(REPO / "Dockerfile")
    stage = -1
    entrypoint: list[str] = []
    for keyword, args in steps:
        if keyword == "FROM":
            stage += 1
            continue
        if keyword == "ENV" and stage == 0:
            for item in shlex.split(args):
                name, _, value = item.partition("=")
                env[name] = value
        elif keyword == "COPY":
            parts = shlex.split(args)
            if parts[0].startswith("--from="):
                continue  # same paths in both stages: the venv is already in place
            *sources, dest = parts
            target = Path(_map(dest, mapping))
            for src in sources:
                origin = REPO / src
                if dest.endswith("/"):
                    target.mkdir(parents=True, exist_ok=True)
                    into = target / origin.name
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    into = target
                if origin.is_dir():
                    shutil.copytree(origin, into, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                else:
                    shutil.copy2(origin, into)
        elif keyword == "RUN" and stage == 0:
            command = _map(args, mapping)
            proc = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            assert proc.returncode == 0, f"{command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        elif keyword == "ENTRYPOINT":
            import json

            entrypoint = [_map(p, mapping) for p in json.loads(args)]
    assert entrypoint, "the Dockerfile has no ENTRYPOINT"

    co = build_checkout(tmp_path / "run")
    own_as_runner(co.workspace)
    runner = Runner(tmp_path / "run", co.workspace, fake_github.url)
    payload = event_payload("push", BEFORE_SHA=co.base_sha, AFTER_SHA=co.head_sha)
    proc = runner.run(
        "push", payload, co.head_sha, "refs/heads/main", python=entrypoint[0], entrypoint=Path(entrypoint[1])
    )
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert parse_outputs(runner.output_file.read_text())["gate"] == "failed"
    assert [c.status for c in fake_github.calls("code-scanning/upload-sarif")] == [202]
    # The installed package, not the checkout, served the run.
    probe = subprocess.run(
        [entrypoint[0], "-c", "import aisec_ci, sys; print(aisec_ci.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PATH": env["PATH"]},
    )
    assert probe.stdout.strip().startswith(mapping["/opt/aisec-ci"])
    # Package data made it into the image: the embedded advisory snapshot opens and holds its records.
    snapshot = subprocess.run(
        [
            entrypoint[0],
            "-c",
            "from aisec_ci.scanners.deps.services.snapshot import load_snapshot\n"
            "print(load_snapshot().meta['records'])",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PATH": env["PATH"]},
    )
    assert snapshot.stdout.strip() == "2651"
