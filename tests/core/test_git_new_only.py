"""`--new-only --base`: the base revision is judged by the HEAD's rules, end to end.

A pull request that deletes an ignore, re-enables a rule or removes an inline
suppression makes old findings visible again; they are old, not new, and must
not fail the gate as if the change had introduced them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git, load_json, make_repo, run_cli

MARK = "x = 1  # SECURITY-MARK[high]\n"


def new_only(repo: Path, base: str, *extra: str) -> tuple[int, dict, str]:
    out = repo.parent / "out.json"
    proc = run_cli("scan", repo, "--new-only", "--base", base, "--format", "json", "--output", out, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, load_json(out), proc.stderr


def commit(repo: Path, files: dict[str, str], remove: tuple[str, ...] = ()) -> str:
    for name in remove:
        git(repo, "rm", "-q", name)
    return make_repo(repo, files, "change")


@pytest.mark.parametrize(
    "base_config",
    [
        pytest.param("rules:\n  testkit/marker: {enabled: false}\n", id="rule-disabled"),
        pytest.param("scanners: [docker]\n", id="scanner-not-selected"),
        pytest.param("exclude: ['a.py']\n", id="path-excluded"),
        pytest.param("ignores:\n  - rule: testkit/marker\n    reason: known\n", id="ignored"),
    ],
)
def test_deleting_the_config_does_not_make_old_findings_new(tmp_path: Path, base_config: str) -> None:
    repo = tmp_path / "app"
    base = make_repo(repo, {"a.py": MARK, ".aisec.yml": base_config})
    commit(repo, {"b.py": "y = 2  # SECURITY-MARK[critical]\n"}, remove=(".aisec.yml",))

    code, report, _ = new_only(repo, base)

    assert [f["path"] for f in report["findings"]] == ["b.py"]
    assert code == 1
    old = [s for s in report["suppressed"] if s["suppression"]["kind"] == "new-only"]
    assert [s["path"] for s in old] == ["a.py"]


def test_re_enabling_a_rule_does_not_make_old_findings_new(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    base = make_repo(repo, {"a.py": MARK, ".aisec.yml": "rules:\n  testkit/marker: {enabled: false}\n"})
    commit(repo, {".aisec.yml": "rules:\n  testkit/marker: {enabled: true}\n"})

    code, report, _ = new_only(repo, base)

    assert code == 0 and report["findings"] == []
    assert report["summary"]["suppressed"]["new-only"] == 1


def test_base_config_that_is_invalid_does_not_matter(tmp_path: Path) -> None:
    """The base's own .aisec.yml is never read: HEAD's configuration governs both scans."""
    repo = tmp_path / "app"
    base = make_repo(repo, {"a.py": MARK, ".aisec.yml": "fail-on: hgih\n"})
    commit(repo, {".aisec.yml": "fail-on: high\n"})

    code, report, _ = new_only(repo, base)

    assert code == 0 and report["findings"] == []


@pytest.mark.parametrize(
    "base_text",
    [
        pytest.param("x = 1  # SECURITY-MARK[high]  # aisec: ignore[testkit/marker] reviewed\n", id="same-line"),
        pytest.param("# aisec: ignore[testkit/marker] reviewed\nx = 1  # SECURITY-MARK[high]\n", id="line-above"),
    ],
)
def test_removing_an_inline_suppression_does_not_make_the_finding_new(tmp_path: Path, base_text: str) -> None:
    repo = tmp_path / "app"
    base = make_repo(repo, {"a.py": base_text})
    commit(repo, {"a.py": MARK})

    code, report, _ = new_only(repo, base)

    assert code == 0 and report["findings"] == [], report["findings"]
    assert report["summary"]["suppressed"]["new-only"] == 1


def test_a_genuinely_new_finding_beside_a_removed_inline_suppression_is_new(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    base = make_repo(repo, {"a.py": "x = 1  # SECURITY-MARK[high]  # aisec: ignore[testkit/marker] reviewed\n"})
    commit(repo, {"a.py": MARK + "z = 3  # SECURITY-MARK[high]\n"})

    code, report, _ = new_only(repo, base)

    assert code == 1
    assert [(f["path"], f["start_line"]) for f in report["findings"]] == [("a.py", 2)]


def test_base_scan_leaves_the_sbom_of_head_alone(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    base = make_repo(repo, {"requirements.txt": "requests==2.31.0\n"})
    commit(repo, {"requirements.txt": "requests==2.31.0\nflask==3.0.0\n"})
    sbom = tmp_path / "sbom.json"

    new_only(repo, base, "--scanners", "deps", "--offline", "--sbom", str(sbom))

    names = {c["name"] for c in load_json(sbom)["components"]}
    assert "flask" in names
