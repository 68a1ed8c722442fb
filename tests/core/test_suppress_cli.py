"""Suppressions end to end: inline comments, config ignores with expiry, baselines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.conftest import load_json, make_repo, run_cli


def scan(repo: Path, *extra: str) -> tuple[int, dict]:
    out = repo.parent / "out.json"
    proc = run_cli("scan", repo, "--scanners", "testkit", "--format", "json", "--output", out, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, load_json(out)


def test_inline_ignore_same_line_and_line_above(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(
        repo,
        {
            "a.py": "x = 1  # SECURITY-MARK[high] aisec: ignore[testkit/marker] test data\n",
            "b.py": "# aisec: ignore[testkit/*] fixture, not shipped\ny = 2  # SECURITY-MARK[critical]\n",
            "c.py": "# aisec: ignore[docker/root-user] wrong rule\nz = 3  # SECURITY-MARK[high]\n",
            "Dockerfile": "# aisec: ignore[testkit/marker]\nFROM python:3.12  # SECURITY-MARK[low]\n",
        },
    )
    code, report = scan(repo)
    assert code == 1  # c.py still fails the gate
    # The Dockerfile's directive gives no reason: like a config ignore without `reason:`, it is
    # refused (suppresses nothing) and reported.
    assert [(f["path"], f["severity"]) for f in report["findings"] if f["rule_id"] == "testkit/marker"] == [
        ("Dockerfile", "low"),
        ("c.py", "high"),
    ]
    (invalid,) = [f for f in report["findings"] if f["rule_id"] == "core/invalid-suppression"]
    assert (invalid["path"], invalid["start_line"]) == ("Dockerfile", 1) and "gives no reason" in invalid["message"]
    sup = {s["path"]: s["suppression"] for s in report["suppressed"]}
    assert sup["a.py"] == {"kind": "inline", "reason": "test data"}
    assert sup["b.py"] == {"kind": "inline", "reason": "fixture, not shipped"}
    assert "Dockerfile" not in sup
    assert report["summary"]["suppressed"]["inline"] == 2


def test_inline_ignore_of_unknown_rule_is_reported(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.py": "x = 1  # SECURITY-MARK[low] aisec: ignore[testkit/markr] typo\n"})
    _, report = scan(repo)
    ids = sorted(f["rule_id"] for f in report["findings"])
    assert ids == ["core/invalid-suppression", "testkit/marker"]


def test_config_ignores_and_expiry(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    config = f"""\
ignores:
  - path: "legacy/**"
    reason: "legacy code, removal tracked in #12"
    until: {future}
  - rule: testkit/marker
    path: old.py
    reason: was temporary
    until: {past}
"""
    make_repo(
        repo,
        {
            ".aisec.yml": config,
            "legacy/x.py": "a = 1  # SECURITY-MARK[critical]\n",
            "old.py": "b = 2  # SECURITY-MARK[high]\n",
        },
    )
    code, report = scan(repo)
    assert code == 1
    by_rule = {(f["rule_id"], f["path"]) for f in report["findings"]}
    # The expired entry no longer suppresses old.py, and is itself reported at its line in .aisec.yml.
    assert ("testkit/marker", "old.py") in by_rule
    expired = [f for f in report["findings"] if f["rule_id"] == "core/expired-ignore"]
    assert len(expired) == 1 and expired[0]["path"] == ".aisec.yml" and expired[0]["start_line"] == 5
    assert [s["path"] for s in report["suppressed"]] == ["legacy/x.py"]
    assert report["suppressed"][0]["suppression"] == {"kind": "config", "reason": "legacy code, removal tracked in #12"}


def test_rule_override_and_disable(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(
        repo, {"a.py": "x  # SECURITY-MARK[critical]\n", ".aisec.yml": "rules:\n  testkit/marker: {severity: low}\n"}
    )
    code, report = scan(repo)
    assert code == 0 and report["findings"][0]["severity"] == "low"
    (repo / ".aisec.yml").write_text("rules:\n  testkit/marker: {enabled: false}\n")
    code, report = scan(repo)
    assert code == 0 and report["findings"] == []


def test_baseline_create_then_only_new(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.py": "x  # SECURITY-MARK[high]\n", "b.py": "y  # SECURITY-MARK[critical]\n"})
    proc = run_cli("baseline", "create", repo, "--scanners", "testkit")
    assert proc.returncode == 0, proc.stderr
    baseline = repo / ".aisec-baseline.json"
    data = load_json(baseline)
    assert len(data["findings"]) == 2
    code, report = scan(repo, "--baseline", str(baseline))
    assert code == 0 and report["findings"] == []
    assert report["summary"]["suppressed"]["baseline"] == 2
    # A new problem, plus the old ones moved down a few lines: only the new one is reported.
    (repo / "a.py").write_text("\n\nx  # SECURITY-MARK[high]\nz  # SECURITY-MARK[medium]\n")
    code, report = scan(repo, "--baseline", str(baseline), "--fail-on", "medium")
    assert code == 1
    assert [(f["path"], f["start_line"], f["severity"]) for f in report["findings"]] == [("a.py", 4, "medium")]
    # The config can name the baseline too.
    (repo / ".aisec.yml").write_text("baseline: .aisec-baseline.json\n")
    code, report = scan(repo)
    assert len(report["findings"]) == 1


def test_corrupt_baseline_is_exit_2(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.py": "x\n", "bl.json": "{not json"})
    proc = run_cli("scan", repo, "--scanners", "testkit", "--baseline", repo / "bl.json")
    assert proc.returncode == 2 and "bl.json" in proc.stderr and "Traceback" not in proc.stderr


def test_new_only_against_base_revision(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    base = make_repo(repo, {"a.py": "x  # SECURITY-MARK[high]\n"})
    make_repo(repo, {"a.py": "# moved\nx  # SECURITY-MARK[high]\n", "b.py": "y  # SECURITY-MARK[critical]\n"}, "change")
    code, report = scan(repo, "--new-only", "--base", base)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["b.py"]
    assert report["new_only_base"] == base
    assert report["summary"]["suppressed"]["new-only"] == 1
    # The temporary worktree is gone.
    from tests.conftest import git

    assert git(repo, "worktree", "list").count("\n") == 0
    proc = run_cli("scan", repo, "--scanners", "testkit", "--new-only", "--base", "no-such-ref")
    assert proc.returncode == 2 and "no-such-ref" in proc.stderr


def test_inline_ignore_applies_to_repository_level_findings(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(
        repo,
        {
            "svc.yaml": "# aisec: ignore[testkit/marker] reviewed: internal only\nkind: Service  # REPO-MARK\n",
            "other.yaml": "kind: Service  # REPO-MARK\n",
        },
    )
    code, report = scan(repo)
    assert code == 1
    assert [(f["path"], f["start_line"]) for f in report["findings"]] == [("other.yaml", 1)]
    assert report["findings"][0]["line_hash"]  # finished like per-file findings
    assert [(s["path"], s["suppression"]["reason"]) for s in report["suppressed"]] == [
        ("svc.yaml", "reviewed: internal only")
    ]
