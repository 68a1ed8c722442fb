"""`--shard i/n` plus `merge` gives exactly the unsharded scan."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import load_json, make_repo, run_cli


def _repo(tmp_path: Path) -> Path:
    files: dict[str, str | bytes] = {}
    sev = ["critical", "high", "medium", "low", "info"]
    for i in range(40):
        files[f"svc{i % 7}/mod{i}.py"] = f"a = {i}  # SECURITY-MARK[{sev[i % 5]}]\n" * (1 + i % 3)
    # Findings in tests are lowered and in docs left out by the role policy; shards count them apart.
    for i in range(6):
        files[f"tests/test_mod{i}.py"] = f"a = {i}  # SECURITY-MARK[high]\n"
        files[f"docs/example{i}.py"] = f"a = {i}  # SECURITY-MARK[high]\n"
    files["svc0/boom.py"] = "CRASH-ME\n"
    files["assets/logo.png"] = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    files[".aisec.yml"] = "ignores:\n  - path: svc3/**\n    reason: vendored\nroles:\n  docs:\n    policy: skip\n"
    repo = tmp_path / "mono"
    make_repo(repo, files)
    return repo


def test_shards_merge_to_the_unsharded_scan(tmp_path: Path, sarif_validate) -> None:
    repo = _repo(tmp_path)
    full_json, full_sarif = tmp_path / "full.json", tmp_path / "full.sarif"
    base = ["scan", repo, "--scanners", "testkit", "--fail-on", "high"]
    assert (
        run_cli(
            *base, "--format", "json", "--output", full_json, "--format", "sarif", "--output", full_sarif
        ).returncode
        == 1
    )
    shards = []
    for i in (1, 2, 3):
        out = tmp_path / f"shard{i}.json"
        run_cli(*base, "--shard", f"{i}/3", "--format", "json", "--output", out)
        shards.append(out)
    counts = [load_json(s)["summary"]["findings"] for s in shards]
    assert all(c > 0 for c in counts) and sum(counts) == load_json(full_json)["summary"]["findings"]

    merged_json, merged_sarif = tmp_path / "merged.json", tmp_path / "merged.sarif"
    proc = run_cli(
        "merge", *shards, "--format", "json", "--output", merged_json, "--format", "sarif", "--output", merged_sarif
    )
    assert proc.returncode == 1, proc.stderr  # the merged gate fails like the full scan
    expected = load_json(full_json)
    merged = load_json(merged_json)
    assert merged == expected
    hidden = merged["summary"]["hidden"]
    assert hidden["lowered"] == {"test": 6} and hidden["skipped"] == {"docs": 6}
    assert merged_sarif.read_bytes() == full_sarif.read_bytes()
    sarif_validate(load_json(merged_sarif))


def test_merge_refuses_incomplete_or_duplicate_shards(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    outs = []
    for i in (1, 2, 3):
        out = tmp_path / f"s{i}.json"
        run_cli("scan", repo, "--scanners", "testkit", "--shard", f"{i}/3", "--format", "json", "--output", out)
        outs.append(out)
    proc = run_cli("merge", outs[0], outs[2], "--format", "json")
    assert proc.returncode == 2 and "missing shard(s) 2 of 3" in proc.stderr
    proc = run_cli("merge", outs[0], outs[0], outs[1], outs[2], "--format", "json")
    assert proc.returncode == 2 and "given twice" in proc.stderr
    (tmp_path / "junk.json").write_text("[1, 2]")
    proc = run_cli("merge", tmp_path / "junk.json")
    assert proc.returncode == 2 and "junk.json" in proc.stderr


def test_merge_refuses_shards_of_different_commits(tmp_path: Path) -> None:
    repo = _repo(tmp_path)  # a git repository: make_repo commits the files
    first = tmp_path / "s1.json"
    run_cli("scan", repo, "--scanners", "testkit", "--shard", "1/2", "--format", "json", "--output", first)
    commit = load_json(first)["shard"]["commit"]
    assert len(commit) == 40
    make_repo(repo, {"svc1/late.py": "b = 1\n"}, message="two")
    second = tmp_path / "s2.json"
    run_cli("scan", repo, "--scanners", "testkit", "--shard", "2/2", "--format", "json", "--output", second)
    assert load_json(second)["shard"]["commit"] != commit
    proc = run_cli("merge", first, second, "--format", "json")
    assert proc.returncode == 2 and "shards scanned different commits" in proc.stderr
    assert commit[:12] in proc.stderr


def test_merge_help_states_the_gate_it_applies() -> None:
    out = run_cli("merge", "--help").stdout
    assert "the shards' own fail-on" in " ".join(out.split())
    assert "(default: high)" not in out


def test_empty_scanner_list_is_a_usage_error(tmp_path: Path) -> None:
    for value in ("", " , "):
        proc = run_cli("scan", tmp_path, "--scanners", value, "--format", "json")
        assert proc.returncode == 2 and "--scanners" in proc.stderr, value
