"""The shared YAML reader: one document cap, one alias budget, and the same
outcome for the same hostile file whichever scanner reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec_ci.yamlfile import stream, values
from aisec_ci.yamlfile.stream import (
    MAX_DOCUMENTS,
    ExpansionBudget,
    YamlRecursiveAlias,
    YamlTooDeep,
    YamlTooLarge,
    YamlTooManyDocuments,
    compose_documents,
)
from aisec_ci.yamlfile.values import YMap, load_documents
from tests.call_budget import count_calls
from tests.conftest import run_cli, write_tree

BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
)


def test_documents_are_composed_one_at_a_time_up_to_the_cap() -> None:
    stream = compose_documents("a: 1\n---\n" * 9 + "a: 1\n", max_documents=10)
    assert [index for index, _ in stream] == list(range(10))
    # Past the cap the file is refused before any document is composed (the markers are counted first).
    stream = compose_documents("a: 1\n---\n" * 30, max_documents=10)
    with pytest.raises(YamlTooManyDocuments, match="more than 10 YAML documents") as cut:
        next(stream)
    assert cut.value.line > 20


def test_alias_bomb_and_plain_size_are_told_apart() -> None:
    with pytest.raises(YamlTooLarge) as bomb:
        list(compose_documents(BOMB))
    assert bomb.value.aliases and "alias bomb" in bomb.value.reason
    plain = "- x\n" * 1000
    with pytest.raises(YamlTooLarge) as big:
        list(compose_documents(plain, budget=ExpansionBudget(500)))
    assert not big.value.aliases and "more than 500 YAML values" in big.value.reason


def test_merge_fan_out_counts_each_key_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # 10^12 entries if merges were expanded naively; YAML merging keeps one key. Counted,
    # not timed: measuring and converting visit each mapping a bounded number of times
    # per byte of the file.
    text = "m0: &m0 {privileged: true}\n" + "".join(
        f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 10)}]}}\n" for i in range(1, 13)
    )
    text += "app:\n  <<: *m12\n  image: x\n"
    budgets = [
        count_calls(monkeypatch, stream._Sizer, "_merged", limit=len(text)),
        count_calls(monkeypatch, values._Converter, "convert", limit=len(text)),
        count_calls(monkeypatch, values._Converter, "_mapping", limit=len(text)),
    ]
    (doc,) = load_documents(text)
    assert all(0 < b.calls <= len(text) for b in budgets), [b.calls for b in budgets]
    assert isinstance(doc.value, YMap) and doc.value["app"] == {"image": "x", "privileged": True}


def test_recursive_alias_and_depth() -> None:
    with pytest.raises(YamlRecursiveAlias):
        list(compose_documents("a: &a [x, *a]\n"))
    with pytest.raises(YamlTooDeep, match="nested deeper than 200"):
        list(compose_documents("a: " + "[" * 300 + "]" * 300 + "\n"))


def _skipped(repo: Path, scanner: str) -> dict[str, str]:
    out = repo.parent / f"{scanner}.json"
    proc = run_cli("scan", repo, "--scanners", scanner, "--format", "json", "--output", out, "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(out.read_text())
    return {s["path"]: s["reason"] for s in report["skipped"]}


def test_compose_and_kubernetes_share_the_document_cap(tmp_path: Path) -> None:
    # Before: compose had no cap (194,650 findings and 1 GB for a 10 MB file of this shape).
    compose = "services:\n  a:\n    image: x\n    privileged: true\n---\n" * (MAX_DOCUMENTS + 1)
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n---\n"
    repo = tmp_path / "repo"
    write_tree(repo, {"docker-compose.yml": compose, "k8s/pods.yaml": pod * (MAX_DOCUMENTS + 1)})
    cap = f"more than {MAX_DOCUMENTS} YAML documents in one file (the cap); not scanned"
    assert _skipped(repo, "docker")["docker-compose.yml"] == f"docker: {cap}"
    assert _skipped(repo, "kubernetes")["k8s/pods.yaml"] == f"kubernetes: {cap}"


def test_the_same_alias_bomb_is_skipped_by_every_reader(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_tree(
        repo,
        {
            "docker-compose.yml": BOMB + "services:\n  app:\n    image: x\n    environment: *a8\n",
            "k8s/bomb.yaml": BOMB + "apiVersion: v1\nkind: ConfigMap\ndata: *a8\n",
            ".github/workflows/ci.yml": BOMB + "on: push\njobs: *a8\n",
        },
    )
    for scanner, path in (("docker", "docker-compose.yml"), ("kubernetes", "k8s/bomb.yaml")):
        assert "(alias bomb?); not scanned" in _skipped(repo, scanner)[path]
    assert "(alias bomb?); not scanned" in _skipped(repo, "workflows")[".github/workflows/ci.yml"]
