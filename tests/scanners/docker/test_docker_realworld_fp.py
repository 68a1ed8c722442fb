"""False-positive patterns seen on real ML repositories (issue 13), end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, write_tree


def _scan(tmp_path: Path, files: dict[str, str]) -> list[dict[str, object]]:
    repo = tmp_path / "repo"
    write_tree(repo, files)
    out = tmp_path / "report.json"
    proc = run_cli(
        "scan", repo, "--offline", "--quiet", "--scanners", "docker", "--profile", "audit", "--fail-on", "none",
        "--format", "json", "--output", out,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    findings: list[dict[str, object]] = json.loads(out.read_text())["findings"]
    return findings


def _rules(findings: list[dict[str, object]], path: str = "Dockerfile") -> list[tuple[str, object]]:
    return sorted((str(f["rule_id"]), f["start_line"]) for f in findings if f["path"] == path)


def test_pip_no_cache_abbreviation_counts_as_no_cache_dir(tmp_path: Path) -> None:
    found = _scan(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.11.9-slim\n"
            "RUN pip install --no-cache fastapi==0.111.0\n"
            "RUN pip install --no-cach uvicorn==0.30.1\n"
            "RUN pip install --no-c httpx==0.27.0\n"  # ambiguous: --no-clean, --no-color, --no-compile
            "RUN pip install pydantic==2.7.4\n"
            "USER 10001\n",
        },
    )
    assert [line for rule, line in _rules(found) if rule == "docker/pip-cache"] == [4, 5]


def test_extra_index_with_only_local_version_pins_is_not_confusion(tmp_path: Path) -> None:
    found = _scan(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.11.9-slim\n"
            "RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu \\\n"
            "    torch==2.3.1+cpu torchvision==0.18.1+cpu\n"
            "RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu \\\n"
            "    torch==2.3.1+cpu transformers==4.41.2\n"
            "RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu \\\n"
            "    -r requirements.txt torch==2.3.1+cpu\n"
            "USER 10001\n",
        },
    )
    assert [line for rule, line in _rules(found) if rule == "docker/pip-extra-index-url"] == [4, 6]


def test_empty_default_build_arg_used_through_secret_mount(tmp_path: Path) -> None:
    found = _scan(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.11.9-slim\n"
            'ARG HF_TOKEN=""\n'
            "RUN --mount=type=secret,id=HF_TOKEN,env=HF_TOKEN \\\n"
            "    pip install --no-cache-dir huggingface-hub==0.23.4 && huggingface-cli download org/model\n"
            "ARG WANDB_API_KEY=''\n"
            "ARG OPENAI_API_KEY=sk-not-really-a-key-but-a-literal\n"
            "USER 10001\n",
        },
    )
    rules = _rules(found)
    # An empty default is never a literal secret; one passed to a secret mount is the recommended pattern.
    assert ("docker/secret-in-env", 2) not in rules and ("docker/secret-build-arg", 2) not in rules
    assert ("docker/secret-in-env", 5) not in rules and ("docker/secret-build-arg", 5) in rules
    assert ("docker/secret-in-env", 6) in rules


def test_scratch_export_stage_is_not_a_root_container(tmp_path: Path) -> None:
    found = _scan(
        tmp_path,
        {
            "Dockerfile": "FROM golang:1.22.4 AS build\n"
            "WORKDIR /src\n"
            "COPY go.mod main.go ./\n"
            "RUN go build -o /out/server .\n"
            "FROM scratch AS export\n"
            "COPY --from=build /out/server /\n",
            "runtime.Dockerfile": "FROM golang:1.22.4 AS build\n"
            "COPY main.go ./\n"
            "RUN go build -o /server main.go\n"
            "FROM scratch\n"
            "COPY --from=build /server /server\n"
            'ENTRYPOINT ["/server"]\n',
        },
    )
    assert ("docker/root-user", 5) not in _rules(found)
    # A scratch image that starts a program does run it as uid 0.
    assert ("docker/root-user", 4) in _rules(found, "runtime.Dockerfile")


def test_sample_sources_named_secret_are_not_listed_as_secrets(tmp_path: Path) -> None:
    found = _scan(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.11.9-slim\nWORKDIR /app\nCOPY . .\nUSER 10001\n",
            ".dockerignore": ".git\n.env\n",
            "samples/secret/secret.py": "def use_secret() -> None:\n    pass\n",
            "samples/secret/secret_test.py": "def test_use_secret() -> None:\n    pass\n",
            "deploy/secrets/db.json": '{"user": "app"}\n',
        },
    )
    (f,) = [f for f in found if f["rule_id"] == "docker/broad-copy-context"]
    assert f["properties"]["not_excluded"] == ["deploy/secrets/db.json"]  # type: ignore[index]
