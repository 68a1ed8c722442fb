"""Fixtures for the action's tests: the fake GitHub API, a git remote with base
and head commits cloned the way actions/checkout clones, and a runner-like
environment for `entrypoint.py`."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.action.fake_github import OPENAPI_PATH, FakeGitHub
from tests.conftest import REPO as _REPO


def _action_input_defaults() -> dict[str, str]:
    import yaml

    declared = yaml.safe_load((_REPO / "action.yml").read_text(encoding="utf-8"))["inputs"]
    return {name: str(spec.get("default", "")) for name, spec in declared.items()}


ACTION_INPUT_DEFAULTS = _action_input_defaults()

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "action"
ENTRYPOINT = REPO / "entrypoint.py"
GIT_ID = {
    "GIT_AUTHOR_NAME": "Mona",
    "GIT_AUTHOR_EMAIL": "mona@example.com",
    "GIT_COMMITTER_NAME": "Mona",
    "GIT_COMMITTER_EMAIL": "mona@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
RUNNER_UID, RUNNER_GID = 1001, 121


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ID, "HOME": str(cwd)}
    return subprocess.run(
        ["git", "-c", "safe.directory=*", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def planted_token() -> str:
    """A Hugging Face token shaped value made at run time, so no literal secret sits in this repository."""
    # No vowels: a random draw must not spell a placeholder word ("fake", "todo", "sample") that
    # the secrets scanner rightly ignores; and no "xxx", another placeholder mark.
    alphabet = "BCDFGHJKLMNPQRSTVWXZbcdfghjkmnpqrstvwxz"
    while True:
        token = "hf_" + "".join(secrets.choice(alphabet) for _ in range(34))
        if "xxx" not in token.lower():
            return token


@dataclass
class Checkout:
    """A bare 'origin' with main (base) and a feature commit (head), and a workspace cloned from it."""

    origin: Path
    workspace: Path
    base_sha: str
    head_sha: str
    secret: str
    extra: dict[str, str] = field(default_factory=dict)


def build_checkout(tmp: Path, *, head_files: Mapping[str, str] | None = None, depth: int | None = 1) -> Checkout:
    secret = planted_token()
    seed = tmp / "seed"
    shutil.copytree(FIXTURES / "repo-base", seed)
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "Sentiment API")
    base = git(seed, "rev-parse", "HEAD")
    if head_files is None:
        shutil.copytree(FIXTURES / "repo-head", seed, dirs_exist_ok=True)
        settings = seed / "app" / "settings.py"
        settings.write_text(f'"""Embedding settings."""\n\nHF_TOKEN = "{secret}"\nBATCH = 32\n', encoding="utf-8")
    else:
        for rel, text in head_files.items():
            (seed / rel).parent.mkdir(parents=True, exist_ok=True)
            (seed / rel).write_text(text, encoding="utf-8")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "Add the embeddings service")
    head = git(seed, "rev-parse", "HEAD")
    origin = tmp / "origin.git"
    git(tmp, "clone", "-q", "--bare", str(seed), str(origin))
    # GitHub serves any reachable commit by id; a plain bare repository needs telling.
    git(origin, "config", "uploadpack.allowAnySHA1InWant", "true")
    workspace = tmp / "github" / "workspace"
    workspace.parent.mkdir(parents=True, exist_ok=True)
    clone = ["clone", "-q", "--no-tags"]
    if depth is not None:
        clone.append(f"--depth={depth}")
    git(tmp, *clone, f"file://{origin}", str(workspace))
    git(workspace, "checkout", "-q", "--detach", head)
    return Checkout(origin, workspace, base, head, secret)


def pull_patches(repo: Path, base: str, head: str) -> dict[str, str | None]:
    """Each changed file's `patch` as `pulls/list-files` gives it: the hunks of `git diff
    base head`, without git's file headers and without the final newline."""
    env = {**os.environ, **GIT_ID, "HOME": str(repo)}
    text = subprocess.run(
        ["git", "-c", "safe.directory=*", "-c", "core.quotePath=false", "diff", "--no-color", "-M", base, head],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    patches: dict[str, str | None] = {}
    for chunk in text.split("\ndiff --git "):
        lines = chunk.split("\n")
        target = next((ln[4:] for ln in lines if ln.startswith("+++ ")), None)
        if target is None or not target.startswith("b/"):
            continue  # deleted (or binary) files have no right side here
        first = next((i for i, ln in enumerate(lines) if ln.startswith("@@")), None)
        patches[target[2:]] = "\n".join(lines[first:]).removesuffix("\n") if first is not None else None
    return patches


def own_as_runner(path: Path) -> None:
    """Give the tree to the runner's uid, as on GitHub-hosted runners: root's git then calls it dubious."""
    if os.geteuid() != 0:
        return
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            os.lchown(os.path.join(dirpath, name), RUNNER_UID, RUNNER_GID)
    os.lchown(path, RUNNER_UID, RUNNER_GID)


@dataclass
class Runner:
    """A runner-like container environment around one workspace."""

    tmp: Path
    workspace: Path
    api_url: str
    token: str = "write-token"

    def __post_init__(self) -> None:
        for d in ("home", "workflow", "file_commands", "runner_temp"):
            (self.tmp / "github" / d).mkdir(parents=True, exist_ok=True)

    @property
    def output_file(self) -> Path:
        return self.tmp / "github" / "file_commands" / "set_output_0b9a"

    @property
    def summary_file(self) -> Path:
        return self.tmp / "github" / "file_commands" / "step_summary_0b9a"

    def env(
        self, event_name: str, payload: Mapping[str, object], sha: str, ref: str, inputs: Mapping[str, str]
    ) -> dict[str, str]:
        event_path = self.tmp / "github" / "workflow" / "event.json"
        event_path.write_text(json.dumps(payload), encoding="utf-8")
        for f in (self.output_file, self.summary_file):
            f.write_text("", encoding="utf-8")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.tmp / "github" / "home"),
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_SHA": sha,
            "GITHUB_REF": ref,
            "GITHUB_REPOSITORY": "octo-org/ml-service",
            "GITHUB_REPOSITORY_OWNER": "octo-org",
            "GITHUB_API_URL": self.api_url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "9876543210",
            "GITHUB_OUTPUT": str(self.output_file),
            "GITHUB_STEP_SUMMARY": str(self.summary_file),
            "RUNNER_TEMP": str(self.tmp / "github" / "runner_temp"),
            "GIT_CONFIG_NOSYSTEM": "1",
            # No test reaches the internet: the deps scanner's OSV API is a closed local port.
            "AISEC_OSV_URL": "http://127.0.0.1:9",
            "AISEC_CACHE_DIR": str(self.tmp / "github" / "runner_temp" / "aisec-cache"),
            # Keep the status polling of the fake quick; the production default waits seconds.
            "AISEC_SARIF_POLL_FIRST": "0.05",
            "AISEC_SARIF_POLL_MAX": "5",
            "AISEC_GITHUB_MAX_WAIT": "10",
        }
        # The runner sets every declared input, with action.yml's defaults (read from the file,
        # so a changed default is what the tests run with).
        for name, default in ACTION_INPUT_DEFAULTS.items():
            env["INPUT_" + name.upper()] = self.token if name == "github-token" else default
        for name, value in inputs.items():
            env["INPUT_" + name.upper()] = value
        if "PYTHONPATH" in os.environ:
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        return env

    def run(
        self,
        event_name: str,
        payload: Mapping[str, object],
        sha: str,
        ref: str,
        inputs: Mapping[str, str] | None = None,
        python: str = sys.executable,
        entrypoint: Path = ENTRYPOINT,
        unset: Sequence[str] = (),
    ) -> subprocess.CompletedProcess[str]:
        env = self.env(event_name, payload, sha, ref, inputs or {})
        for name in unset:  # a variable the real runner would not set
            env.pop(name, None)
        return subprocess.run(
            [python, str(entrypoint)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def event_payload(name: str, **values: str) -> dict[str, object]:
    text = (FIXTURES / "events" / f"{name}.json").read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    data: dict[str, object] = json.loads(text)
    return data


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    if not OPENAPI_PATH.exists():
        pytest.skip("../shared/data/github-rest-subset.openapi.json is not beside the checkout")
    with FakeGitHub() as fake:
        yield fake
    assert not fake.state.schema_violations, fake.state.schema_violations
