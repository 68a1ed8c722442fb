"""The result cache (`--cache DIR`, issue #14): reports are byte for byte the same with and
without it, a changed file (or a file a scanner reads beside it) is scanned again while the
rest is reused, a damaged or foreign cache is dropped with a note and rebuilt, no raw secret
is written to it, and --new-only's base scan shares it.

Which files were reused is read from the progress line on stderr (`cache: N files reused, M
scanned`), the one place the cache shows itself: the reports must not differ."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from aisec_ci.budget import FileBudget
from aisec_ci.cache.codec import Uncacheable, decode_output, encode_output
from aisec_ci.cache.inputs import PURE_SCANNERS, ContentDigests, Neighbourhood
from aisec_ci.cache.session import PayloadEncoder
from aisec_ci.cache.store import FILE_NAME
from aisec_ci.engine import EngineOutput, FileTask, scan_one
from aisec_ci.findings import Finding
from aisec_ci.scanners.base import ScanContext
from aisec_ci.scanners.registry import all_scanners
from aisec_ci.severity import Severity
from aisec_ci.workspace.discovery import Workspace
from aisec_ci.workspace.kinds import FileKind
from tests.conftest import PLUGINS, git, make_repo, run_cli, write_tree
from tests.core.test_no_secret_leaks import SECRETS, leaky_repository
from tests.scanners.kubernetes.k8s_support import FIXTURES as K8S_FIXTURES

HF_TOKEN = SECRETS["huggingface"]

WORKER = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
  namespace: ml-serving
spec:
  template:
    spec:
      containers:
      - name: worker
        image: example/worker:latest
        securityContext:
          privileged: true
"""
GREET = """name: greet
inputs:
  title:
    description: a title
runs:
  using: composite
  steps:
    - run: {script}
      shell: bash
"""


def _files() -> dict[str, str | bytes]:
    cross = K8S_FIXTURES / "crossfile"
    return {
        # A Service in one file exposing a model server of another: the kubernetes whole-tree pass.
        "k8s/services.yaml": (cross / "services.yaml").read_text(),
        "k8s/vllm-deployment.yaml": (cross / "vllm-deployment.yaml").read_text(),
        "k8s/worker.yaml": WORKER,
        # A ClusterRole reading Secrets: judged by the kubebuilder markers of the tree's Go code.
        "config/rbac/role.yaml": (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: manager-role\n"
            "rules:\n- apiGroups: ['']\n  resources: [secrets]\n  verbs: [get, list, watch]\n"
        ),
        "app/settings.py": (
            f'import pickle\n\nHF_TOKEN = "{HF_TOKEN}"\n\n\ndef load(blob):\n    return pickle.loads(blob)\n'
        ),
        "app/util.py": "import yaml\n\n\ndef read(text):\n    return yaml.safe_load(text)\n",
        "Dockerfile": "FROM python:3.11\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n",
        "requirements.txt": "pyyaml==5.3\nrequests==2.19.0\n",
        ".github/workflows/ci.yml": (
            "on: pull_request_target\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: actions/checkout@v4\n        with:\n"
            "          ref: ${{ github.event.pull_request.head.sha }}\n"
            '      - run: echo "${{ github.event.pull_request.title }}"\n'
            "      - uses: ./.github/actions/greet\n        with:\n"
            "          title: ${{ github.event.pull_request.title }}\n"
        ),
        # A local action that pastes its input into a script: the workflow's finding depends on it.
        ".github/actions/greet/action.yml": GREET.format(script='echo "${{ inputs.title }}"'),
        ".dockerignore": ".git\n.env\n",
        ".gitignore": "*.pem\n",
        "docs/notes.md": "Nothing to see.\n",
    }


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    make_repo(repo, _files())
    return repo


class Scan:
    def __init__(self, stderr: str, json_bytes: bytes, sarif_bytes: bytes) -> None:
        self.stderr = stderr
        self.json = json_bytes
        self.sarif = sarif_bytes

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.json)  # type: ignore[no-any-return]

    def counts(self) -> tuple[int, int]:
        m = re.search(r"cache: (\d+) files reused, (\d+) scanned", self.stderr)
        assert m, self.stderr
        return int(m.group(1)), int(m.group(2))

    def without_notes(self) -> dict[str, Any]:
        report = self.report
        report["notes"] = [n for n in report["notes"] if "result cache" not in n]
        return report


def scan(
    tmp: Path, repo: Path, *extra: str | Path, cache: Path | None = None, env: dict[str, str] | None = None
) -> Scan:
    out = tmp / "out"
    out.mkdir(exist_ok=True)
    args: list[str | Path] = ["scan", repo, "--offline", "--fail-on", "none", *extra]
    args += ["--format", "json", "--output", out / "r.json", "--format", "sarif", "--output", out / "r.sarif"]
    if cache is not None:
        args += ["--cache", cache]
    proc = run_cli(*args, plugin=False, env=env)
    assert proc.returncode == 0, proc.stderr
    return Scan(proc.stderr, (out / "r.json").read_bytes(), (out / "r.sarif").read_bytes())


def test_cold_and_warm_reports_are_the_uncached_ones_byte_for_byte(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    cache = tmp_path / "cache"
    plain = scan(tmp_path, repo)
    cold = scan(tmp_path, repo, cache=cache)
    warm = scan(tmp_path, repo, cache=cache)
    assert cold.json == plain.json and warm.json == plain.json
    assert cold.sarif == plain.sarif and warm.sarif == plain.sarif
    # The fixture exercises what the cache must reproduce: several scanners, the cross-file
    # kubernetes pass, a secret, the deps audit (a repository pass too, cached with --offline).
    rules = {f["rule_id"] for f in plain.report["findings"]}
    scanners = {f["scanner"] for f in plain.report["findings"]}
    assert {"kubernetes", "secrets", "code", "docker", "workflows", "deps"} <= scanners, scanners
    cross = [f for f in plain.report["findings"] if f["rule_id"] == "exposure/model-server-without-api-key"]
    assert cross and "services.yaml" in cross[0]["message"] and "deps/vulnerable-package" in rules
    assert HF_TOKEN not in plain.json.decode()
    reused, scanned = cold.counts()
    assert reused == 0 and scanned > 5
    assert warm.counts() == (scanned, 0)
    assert "2 repository passes reused, 0 run" in warm.stderr
    assert plain.report["notes"] == warm.report["notes"]  # no cache note when nothing unusual happened


def test_shards_with_the_cache_are_the_uncached_shards(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    cache = tmp_path / "cache"
    scan(tmp_path, repo, cache=cache)
    for shard in ("1/2", "2/2"):
        plain = scan(tmp_path, repo, "--shard", shard)
        cached = scan(tmp_path, repo, "--shard", shard, cache=cache)
        assert cached.json == plain.json and cached.sarif == plain.sarif
        assert cached.counts()[1] == 0


def test_a_changed_file_is_scanned_again_and_the_others_are_reused(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    cache = tmp_path / "cache"
    total = scan(tmp_path, repo, cache=cache).counts()[1]
    util = repo / "app" / "util.py"
    util.write_text("import yaml\n\n\ndef read(text):\n    return yaml.load(text, Loader=yaml.Loader)\n")
    plain = scan(tmp_path, repo)
    cached = scan(tmp_path, repo, cache=cache)
    assert cached.json == plain.json and cached.sarif == plain.sarif
    assert cached.counts() == (total - 1, 1)
    assert any(f["path"] == "app/util.py" for f in plain.report["findings"])  # the change is visible
    # The old content is still cached: going back costs nothing.
    util.write_text(_files()["app/util.py"])  # type: ignore[arg-type]
    assert scan(tmp_path, repo, cache=cache).counts() == (total, 0)


def test_a_change_in_a_kubernetes_file_runs_the_cross_file_pass_again(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    cache = tmp_path / "cache"
    scan(tmp_path, repo, cache=cache)
    services = repo / "k8s" / "services.yaml"
    services.write_text(services.read_text().replace("LoadBalancer", "ClusterIP"))
    plain = scan(tmp_path, repo)
    cached = scan(tmp_path, repo, cache=cache)
    assert cached.json == plain.json
    assert "1 repository passes reused, 1 run" in cached.stderr  # deps reused, kubernetes run


@pytest.mark.parametrize(
    ("name", "content", "dependent"),
    [
        # A kustomization naming worker.yaml as a patch: its missing fields say nothing any more.
        ("k8s/kustomization.yaml", "resources: [services.yaml]\npatches:\n- path: worker.yaml\n", "k8s/worker.yaml"),
        # A controller's marker declares the Secret reads: the role's finding moves to the strict profile.
        (
            "controllers/c.go",
            "package controllers\n\n// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get;list;watch\n",
            "config/rbac/role.yaml",
        ),
        # The .dockerignore decides what `COPY . /app` is reported for.
        (".dockerignore", ".git\n", "Dockerfile"),
        # A sensitive file in the build context, git-ignored (so not in the workspace): still copied.
        ("key.pem", "not really a key\n", "Dockerfile"),
        # The local action the workflow calls no longer pastes its input into a script.
        (".github/actions/greet/action.yml", GREET.format(script="echo hello"), ".github/workflows/ci.yml"),
    ],
)
def test_a_file_a_scanner_reads_beside_another_invalidates_it(
    tmp_path: Path, name: str, content: str, dependent: str
) -> None:
    repo = _repo(tmp_path)
    cache = tmp_path / "cache"
    before = scan(tmp_path, repo, cache=cache)
    write_tree(repo, {name: content})
    plain = scan(tmp_path, repo)
    cached = scan(tmp_path, repo, cache=cache)
    assert cached.json == plain.json and cached.sarif == plain.sarif

    def at(s: Scan) -> list[tuple[str, str]]:
        return [(f["rule_id"], f["message"]) for f in s.report["findings"] if f["path"] == dependent]

    assert at(plain) != at(before)  # the file beside really changes the dependent file's result
    assert cached.counts()[1] >= 1


def _corrupt_garbage(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 64)


def _corrupt_truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt_other_version(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '0.0.1' WHERE name = 'version'")
        conn.execute("UPDATE meta SET value = 'f00d' WHERE name = 'identity'")


def _corrupt_foreign(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE something (x)")


def _corrupt_payload(path: Path) -> None:
    """Someone edits a stored result without its checksum: never taken as a result."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE files SET payload = CAST('{}' AS BLOB)")


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_corrupt_garbage, "is not an SQLite database"),
        (_corrupt_truncated, ""),
        (_corrupt_other_version, "was written by aisec-ci 0.0.1"),
        (_corrupt_foreign, "is another program's SQLite database"),
        (_corrupt_payload, "fails its checksum"),
    ],
)
def test_a_damaged_or_foreign_cache_is_ignored_with_a_note_and_rebuilt(tmp_path: Path, damage: Any, says: str) -> None:
    repo = _repo(tmp_path)
    cache = tmp_path / "cache"
    plain = scan(tmp_path, repo)
    total = scan(tmp_path, repo, cache=cache).counts()[1]
    damage(cache / FILE_NAME)
    hurt = scan(tmp_path, repo, cache=cache)
    notes = [n for n in hurt.report["notes"] if "result cache" in n]
    assert len(notes) == 1 and notes[0].endswith("; ignored and rebuilt") and says in notes[0], notes
    assert hurt.without_notes() == plain.report
    assert hurt.counts() == (0, total)
    again = scan(tmp_path, repo, cache=cache)
    assert again.json == plain.json and again.counts() == (total, 0)


def test_an_unusable_cache_directory_costs_a_note_only(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be\n")
    plain = scan(tmp_path, repo)
    got = scan(tmp_path, repo, cache=blocker)
    notes = [n for n in got.report["notes"] if "result cache" in n]
    assert len(notes) == 1 and "cannot be used" in notes[0], notes
    assert got.without_notes() == plain.report


def test_no_raw_secret_is_written_to_the_cache(tmp_path: Path) -> None:
    """The leak test's repository (every scanner quotes a credential, one sits in a path)."""
    repo = tmp_path / "leaky"
    leaky_repository(repo)
    for path in repo.rglob("*"):  # old enough for the cache to keep their stat signatures
        os.utime(path, (1_700_000_000, 1_700_000_000), follow_symlinks=False)
    cache = tmp_path / "cache"
    plain = scan(tmp_path, repo, "--no-git")
    cold = scan(tmp_path, repo, "--no-git", cache=cache)
    warm = scan(tmp_path, repo, "--no-git", cache=cache)
    assert cold.json == plain.json == warm.json and cold.sarif == plain.sarif == warm.sarif
    stored = b"".join(p.read_bytes() for p in cache.iterdir())
    assert len(stored) > 10_000
    assert [name for name, value in SECRETS.items() if value.encode() in stored] == []
    with sqlite3.connect(cache / FILE_NAME) as conn:
        assert conn.execute("SELECT count(*) FROM stat").fetchone()[0] > 5  # the paths were there to leak
    # Outputs the redaction stage would still change (the file under tokens/<token>/) are not kept.
    reused, scanned = warm.counts()
    assert reused > 5 and scanned >= 1


def test_the_cache_file_inside_the_scanned_tree_is_not_reported(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    plain = scan(tmp_path, repo)
    scan(tmp_path, repo, cache=repo / ".aisec-cache")
    warm = scan(tmp_path, repo, cache=repo / ".aisec-cache")
    assert warm.json == plain.json and warm.counts()[1] == 0


def test_aisec_cache_dir_turns_it_on_and_the_option_wins(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    from_env, from_cli = tmp_path / "env-cache", tmp_path / "cli-cache"
    scan(tmp_path, repo, env={"AISEC_CACHE_DIR": str(from_env)})
    assert (from_env / FILE_NAME).is_file()
    scan(tmp_path, repo, cache=from_cli, env={"AISEC_CACHE_DIR": str(tmp_path / "unused")})
    assert (from_cli / FILE_NAME).is_file() and not (tmp_path / "unused" / FILE_NAME).exists()
    assert scan(tmp_path, repo, env={"AISEC_CACHE_DIR": str(from_env)}).counts()[1] == 0


def test_new_only_base_scan_reuses_the_cache(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD")
    write_tree(
        repo, {"app/util.py": "import yaml\n\n\ndef read(text):\n    return yaml.load(text, Loader=yaml.Loader)\n"}
    )
    git(repo, "commit", "-qam", "unsafe yaml")
    cache = tmp_path / "cache"
    total = scan(tmp_path, repo, cache=cache).counts()[1]
    plain = scan(tmp_path, repo, "--new-only", "--base", base)
    cached = scan(tmp_path, repo, "--new-only", "--base", base, cache=cache)
    assert cached.json == plain.json and cached.sarif == plain.sarif
    # The head scan reuses every file; the base scan every file but the one the change touched.
    assert cached.counts() == (2 * total - 1, 1)
    assert [f["path"] for f in plain.report["findings"]] == ["app/util.py"]


# --- the parts --------------------------------------------------------------------


def test_outputs_read_back_exactly() -> None:
    f = Finding(
        rule_id="x/y",
        severity=Severity.HIGH,
        message="m",
        path="a.py",
        end_line=3,
        properties={"tuple": (1, "a", (2.5, None)), "list": [1, {"k": True}], "sev": Severity.LOW},
        lowered_from=Severity.CRITICAL,
    )
    out = EngineOutput(findings=[f], scanned=["a.py"], notes=["n"])
    back, notes = decode_output(encode_output(out, ["repo note"]))
    assert back.findings == [f] and notes == ["repo note"] and back.scanned == ["a.py"]
    props = back.findings[0].properties
    assert type(props["tuple"]) is tuple and type(props["tuple"][2]) is tuple and props["sev"] is Severity.LOW
    # The key (never in a report) is kept only as far as the pipeline reads it after fingerprinting.
    keyed = f.evolve(key=f"policy:Allow{HF_TOKEN}:mlflow-store-password")
    back_out, _ = decode_output(encode_output(EngineOutput(findings=[keyed])))
    (back_keyed,) = back_out.findings
    assert HF_TOKEN not in back_keyed.key and back_keyed.key.split(":")[2] == "mlflow-store-password"
    assert back_keyed.evolve(key=keyed.key) == keyed
    with pytest.raises(Uncacheable):
        encode_output(EngineOutput(findings=[f.evolve(properties={"s": {1, 2}})]))


def test_every_scanner_says_what_it_reads_beside_a_file(tmp_path: Path) -> None:
    """A new scanner must be classified for the cache (pure, or with its neighbours), or the
    files it wants are never cached: this makes the decision explicit."""
    near = Neighbourhood(Workspace(root=tmp_path, files=[], skipped=[], is_git=False), ContentDigests(0), False)
    unknown = [n for n in all_scanners() if n not in PURE_SCANNERS and n not in near._extras]
    assert unknown in ([], ["testkit"]), unknown


def test_outcomes_of_the_run_rather_than_the_file_are_never_stored(tmp_path: Path) -> None:
    """A time budget that ran out or a scanner that crashed says nothing about the content."""
    spec = importlib.util.spec_from_file_location("aisec_testkit", PLUGINS / "aisec_testkit.py")
    assert spec is not None and spec.loader is not None
    testkit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(testkit)
    write_tree(tmp_path, {"ok.py": "x = 1  # SECURITY-MARK[high]\n", "spin.py": "SPIN-ME\n", "crash.py": "CRASH-ME\n"})
    scanner = testkit.TestkitScanner(ScanContext(root=tmp_path))
    encoder = PayloadEncoder(frozenset())

    def scanned(name: str) -> EngineOutput:
        path = tmp_path / name
        task = FileTask(name, str(path), FileKind.PYTHON, path.stat().st_size)
        return scan_one(task, [scanner], set(), FileBudget(seconds=0.3), encoder)

    ok, spin, crash = scanned("ok.py"), scanned("spin.py"), scanned("crash.py")
    assert ok.findings and ok.payload is not None
    assert spin.transient and "time budget" in spin.skipped[0].reason and spin.payload is None
    assert [f.rule_id for f in crash.findings] == ["core/scan-error"] and crash.payload is None
