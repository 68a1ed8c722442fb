"""Shared test helpers: run the real CLI as a subprocess, build git repositories,
validate SARIF against the OASIS schema in ../shared."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PLUGINS = REPO / "tests" / "fixtures" / "plugins"
EXAMPLE = REPO / "examples" / "vulnerable-ai-app"

# No test may reach the internet: the deps scanner's default OSV API (https://api.osv.dev)
# is replaced by a port nothing listens on, so unconfigured scans fall back to the embedded
# advisory snapshot at once. Tests that need an OSV API start their own on 127.0.0.1.
os.environ.setdefault("AISEC_OSV_URL", "http://127.0.0.1:9")
# Nor may it write to the user's cache (the deps scanner keeps advisory details there).
_CACHE_PREFIX = "aisec-test-cache-"


def _private_cache() -> None:
    # xdist workers inherit the controller's directory (and this module may be imported twice:
    # by pytest and by `from tests.conftest import ...`): only the process that made it owns it.
    if Path(os.environ.get("XDG_CACHE_HOME", "")).name.startswith(_CACHE_PREFIX):
        return
    path = tempfile.mkdtemp(prefix=_CACHE_PREFIX)
    os.environ["XDG_CACHE_HOME"] = path
    # atexit rather than pytest_sessionfinish: it also runs when collection fails or the run is interrupted.
    atexit.register(shutil.rmtree, path, ignore_errors=True)


_private_cache()

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def cli_env(plugin: bool = True, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "AISEC_DEBUG")}
    env.update(GIT_ENV)
    if plugin:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGINS), env.get("PYTHONPATH", "")) if p)
    if extra:
        env.update(extra)
    return env


def run_cli(
    *args: str | Path,
    cwd: Path | None = None,
    plugin: bool = True,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m aisec_ci ARGS` as a user would; never raises on exit codes."""
    return subprocess.run(
        [sys.executable, "-m", "aisec_ci", *map(str, args)],
        cwd=cwd,
        env=cli_env(plugin, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> None:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")


def make_repo(root: Path, files: Mapping[str, str | bytes], message: str = "initial") -> str:
    """A git repository with `files` committed; returns the commit sha."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    write_tree(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="session")
def sarif_validate() -> Callable[[dict[str, Any]], None]:
    """Validate a SARIF log against ../shared/data/sarif-schema-2.1.0.json."""
    import jsonschema

    schema_path = SHARED / "data" / "sarif-schema-2.1.0.json"
    if not schema_path.exists():
        pytest.skip("../shared/data/sarif-schema-2.1.0.json is not beside the checkout")
    schema = json.loads(schema_path.read_text())
    validator = jsonschema.Draft4Validator(schema)

    def check(log: dict[str, Any]) -> None:
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])

    return check


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
