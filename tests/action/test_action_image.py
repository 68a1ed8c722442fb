"""The action's `image` and `dockerfile` inputs: `docker save` output in the workspace, scanned by
the entrypoint, uploaded to code scanning in its own category and traced to the Dockerfile."""

from __future__ import annotations

import base64
import gzip
import json
import sys
from pathlib import Path

from tests.action.conftest import Runner, build_checkout, event_payload, own_as_runner
from tests.action.fake_github import FakeGitHub
from tests.action.test_action_e2e import everything_written
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
from make_image import LayerEntry, build_docker_save

DOCKERFILE = "FROM python:3.11-slim\nCOPY app /app\nRUN rm /app/.env\nEXPOSE 8888\n"


def test_image_input_scans_the_image_and_traces_to_the_dockerfile(tmp_path: Path, fake_github: FakeGitHub) -> None:
    co = build_checkout(tmp_path)
    (co.workspace / "docker").mkdir()
    (co.workspace / "docker" / "serve.Dockerfile").write_text(DOCKERFILE)
    layers = [
        [LayerEntry("etc/hostname", b"x\n")],
        [LayerEntry("app/serve.py", b"print(1)\n"), LayerEntry("app/.env", f"HF_TOKEN={co.secret}\n".encode())],
        [LayerEntry("app/.env", kind="whiteout")],
    ]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"ExposedPorts": {"8888/tcp": {}}},
        "history": [
            {"created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
            {"created_by": "COPY app /app # buildkit"},
            {"created_by": "RUN /bin/sh -c rm /app/.env # buildkit"},
        ],
    }
    build_docker_save(co.workspace / "build" / "image.tar", layers, config)
    own_as_runner(co.workspace)
    runner = Runner(tmp_path, co.workspace, fake_github.url)
    payload = event_payload("push", BEFORE_SHA=co.base_sha, AFTER_SHA=co.head_sha)
    inputs = {"image": "build/image.tar", "dockerfile": "docker/serve.Dockerfile", "json-file": "out/image.json"}
    proc = runner.run("push", payload, co.head_sha, "refs/heads/main", inputs)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the token deleted in layer 3 is still in layer 2

    report = json.loads((co.workspace / "out" / "image.json").read_text())
    token = next(f for f in report["findings"] if f["rule_id"] == "secrets/huggingface-token")
    assert (token["path"], token["start_line"]) == ("docker/serve.Dockerfile", 2)
    assert token["properties"]["image_path"] == "app/.env"
    # Only the image was scanned: the repository's own planted token (app/settings.py) is not in it.
    assert not any(f["path"] == "app/settings.py" for f in report["findings"])

    upload = fake_github.calls("code-scanning/upload-sarif")[-1].body
    sarif = json.loads(gzip.decompress(base64.b64decode(upload["sarif"])))
    run = sarif["runs"][0]
    assert run["automationDetails"]["id"].startswith("aisec-ci-image/")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert "docker/serve.Dockerfile" in uris
    assert co.secret not in everything_written(runner, proc, fake_github)


def test_dockerfile_input_without_image_is_an_error(tmp_path: Path, fake_github: FakeGitHub) -> None:
    co = build_checkout(tmp_path)
    own_as_runner(co.workspace)
    runner = Runner(tmp_path, co.workspace, fake_github.url)
    payload = event_payload("push", BEFORE_SHA=co.base_sha, AFTER_SHA=co.head_sha)
    proc = runner.run("push", payload, co.head_sha, "refs/heads/main", {"dockerfile": "Dockerfile"})
    assert proc.returncode == 2
    assert "only meaningful with the image input" in proc.stdout
