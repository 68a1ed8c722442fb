"""docker/broad-copy-context and the .dockerignore matcher."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.scanners.docker.dockerignore import is_excluded, parse_dockerignore
from tests.scanners.docker.docker_support import FIXTURES, lines, scan, write

RULE = "docker/broad-copy-context"


def test_no_dockerignore() -> None:
    found = scan(FIXTURES / "kitchen-sink" / "Dockerfile")
    assert lines(found, RULE) == [27]
    (f,) = [f for f in found if f.rule_id == RULE]
    assert f.properties["dockerignore"] is None and f.severity.label == "medium"


def test_weak_dockerignore_lists_what_gets_in() -> None:
    (f,) = [f for f in scan(FIXTURES / "weak-ignore" / "Dockerfile") if f.rule_id == RULE]
    assert f.start_line == 3
    # `.env` is excluded; `.git` is not; `*.ipynb` only covers the top level. secrets/ holds only
    # a README, which is not a secret.
    assert f.properties["not_excluded"] == [".git", "notebooks/train.ipynb"]


def test_good_dockerignore() -> None:
    assert lines(scan(FIXTURES / "hardened" / "Dockerfile"), RULE) == []


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM python:3.11.9-slim\nWORKDIR /app\nCOPY . .\nUSER 1\n", "gpu.Dockerfile")
    (tmp_path / ".dockerignore").write_text(".git\n.env\n")
    assert lines(scan(path), RULE) == []
    (tmp_path / "gpu.Dockerfile.dockerignore").write_text("__pycache__\n")
    assert lines(scan(path), RULE) == [3]


def test_parent_dockerignore_inside_the_root_is_used(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM python:3.11.9-slim\nWORKDIR /app\nCOPY . .\nUSER 1\n", "docker/gpu/Dockerfile")
    assert lines(scan(path, root=tmp_path), RULE) == [3]
    (tmp_path / ".dockerignore").write_text(".git\n**/.env\n")
    assert lines(scan(path, root=tmp_path), RULE) == []
    # A .dockerignore above the scanned root is not ours to read.
    assert lines(scan(path, root=tmp_path / "docker"), RULE) == [3]


def test_copy_from_another_stage_or_of_named_files_is_fine(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "FROM python:3.11.9-slim AS b\nWORKDIR /a\nCOPY src/ src/\n"
        "FROM python:3.11.9-slim\nCOPY --from=b . /app\nUSER 1\n",
    )
    assert lines(scan(path), RULE) == []


def test_copy_exclude_flags_count_as_ignore_patterns(tmp_path: Path) -> None:
    good = "# syntax=docker/dockerfile:1.7-labs\nFROM python:3.11.9-slim\nWORKDIR /app\n"
    good += "COPY --exclude=.git --exclude=**/.env . .\nUSER 1\n"
    assert lines(scan(write(tmp_path, good, "a/Dockerfile")), RULE) == []
    weak = good.replace(" --exclude=**/.env", "")
    (f,) = [f for f in scan(write(tmp_path, weak, "b/Dockerfile")) if f.rule_id == RULE]
    assert f.properties["not_excluded"] == [".env"] and "--exclude" in f.message


def test_option_turns_off_reading_the_context() -> None:
    assert lines(scan(FIXTURES / "kitchen-sink" / "Dockerfile", options={"check_build_context": False}), RULE) == []


def test_matcher_semantics() -> None:
    patterns = parse_dockerignore(
        "# c\n/.git\n*.ipynb\n**/secrets\n!secrets/README.md\ndata/**/*.pt\n.env*\n!.env.example\n"
    )
    assert is_excluded(".git", patterns)
    assert is_excluded(".git/config", patterns)  # a matching parent excludes its children
    assert is_excluded("eda.ipynb", patterns)
    assert not is_excluded("notebooks/eda.ipynb", patterns)  # `*` does not cross `/`
    assert is_excluded("deep/secrets/key.json", patterns)
    assert not is_excluded("secrets/README.md", patterns)
    assert is_excluded("data/a/b/model.pt", patterns)
    assert is_excluded(".env.local", patterns)
    assert not is_excluded(".env.example", patterns)
    assert not is_excluded("src/app.py", patterns)


def test_sample_and_test_notebooks_are_not_listed(tmp_path: Path) -> None:
    # kubeflow/pipelines' backend images: a .dockerignore that excludes .git and .env, and a context
    # holding the SDK's sample notebooks. Those are published with the repository already.
    path = write(tmp_path, "FROM python:3.11.9-slim\nWORKDIR /app\nCOPY . .\nUSER 1\n")
    (tmp_path / ".dockerignore").write_text(".git\n.env\n", encoding="utf-8")
    for rel in ("samples/core/caching/caching.ipynb", "tests/data/client.pem", "app/analysis.ipynb"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}", encoding="utf-8")
    (f,) = [f for f in scan(path) if f.rule_id == RULE]
    assert f.properties["not_excluded"] == ["app/analysis.ipynb"]
    (tmp_path / "app" / "analysis.ipynb").unlink()
    assert lines(scan(path), RULE) == []
