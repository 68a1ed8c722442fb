"""End-to-end tests of `aisec-ci scan` through the real CLI, driven by the
testkit plugin scanner (tests/fixtures/plugins) so positions and severities
are decided by the fixture files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import load_json, make_repo, run_cli

APP = {
    "src/train.py": "import torch\nLR = 0.1  # SECURITY-MARK[high]\n",
    "src/serve.py": "# serving\nHOST = '0.0.0.0'  # SECURITY-MARK[critical]\nPORT = 1  # SECURITY-MARK[low]\n",
    "deploy/values.yaml": "replicas: 2  # SECURITY-MARK[medium]\n",
    "README.md": "# demo\n",
}


def scan_json(repo: Path, *extra: str) -> tuple[int, dict]:
    out = repo.parent / f"{repo.name}-out.json"
    proc = run_cli("scan", repo, "--scanners", "testkit", "--format", "json", "--output", out, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, load_json(out)


def test_text_report_and_gate_failed(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, APP)
    proc = run_cli("scan", repo, "--scanners", "testkit")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    # Grouped by severity, most severe first, with path:line and the rule id.
    assert out.index("critical") < out.index("high") < out.index("medium")
    assert "src/serve.py:2" in out and "testkit/marker" in out
    assert "\x1b[" not in out  # not a TTY: no colour
    assert "files scanned" in proc.stderr


def test_gate_thresholds(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.py": "x = 1  # SECURITY-MARK[medium]\n"})
    assert run_cli("scan", repo, "--scanners", "testkit").returncode == 0  # default fail-on high
    assert run_cli("scan", repo, "--scanners", "testkit", "--fail-on", "medium").returncode == 1
    assert run_cli("scan", repo, "--scanners", "testkit", "--fail-on", "critical").returncode == 0
    assert run_cli("scan", repo, "--scanners", "testkit", "--fail-on", "none").returncode == 0
    assert run_cli("scan", repo, "--scanners", "testkit", "--fail-on", "info").returncode == 1


def test_fail_on_from_config_and_cli_override(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.py": "x = 1  # SECURITY-MARK[low]\n", ".aisec.yml": "fail-on: low\n"})
    assert run_cli("scan", repo, "--scanners", "testkit").returncode == 1
    assert run_cli("scan", repo, "--scanners", "testkit", "--fail-on", "high").returncode == 0


def test_several_formats_in_one_run(tmp_path: Path, sarif_validate) -> None:
    repo = tmp_path / "app"
    make_repo(repo, APP)
    sarif, js, md = tmp_path / "r.sarif", tmp_path / "r.json", tmp_path / "summary.md"
    proc = run_cli(
        "scan", repo, "--scanners", "testkit", "--format", "sarif", "--output", sarif,
        "--format", "json", "--output", js, "--format", "markdown", "--output", md,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""  # every report went to its file
    log = load_json(sarif)
    sarif_validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == 4
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"src/train.py", "src/serve.py", "deploy/values.yaml"}
    report = load_json(js)
    assert report["summary"]["by_severity"] == {"critical": 1, "high": 1, "medium": 1, "low": 1, "info": 0}
    assert report["gate"] == {"fail_on": "high", "passed": False, "failing": 2}
    f = next(f for f in report["findings"] if f["severity"] == "critical")
    assert (f["path"], f["start_line"], f["rule_id"]) == ("src/serve.py", 2, "testkit/marker")
    assert f["start_column"] == APP["src/serve.py"].splitlines()[1].index("SECURITY-MARK") + 1
    assert len(f["fingerprint"]) == 32 and f["line_hash"]
    text = md.read_text()
    assert len(text) < 65_000 and "testkit/marker" in text


def test_output_format_inferred_and_stdout_json(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, APP)
    proc = run_cli("scan", repo, "--scanners", "testkit", "--format", "json", "--fail-on", "none")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["summary"]["findings"] == 4
    proc = run_cli("scan", repo, "--scanners", "testkit", "--output", tmp_path / "x.sarif")
    assert load_json(tmp_path / "x.sarif")["version"] == "2.1.0"
    proc = run_cli("scan", repo, "--scanners", "testkit", "--output", tmp_path / "x.weird")
    assert proc.returncode == 2 and "add --format" in proc.stderr


def test_python_dash_m_and_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("aisec-ci ")


def test_fingerprints_survive_line_shifts(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, APP)
    _, before = scan_json(repo)
    (repo / "src/serve.py").write_text("# new header\n\n\n" + APP["src/serve.py"])
    _, after = scan_json(repo)
    fp_before = {(f["path"], f["severity"]): f["fingerprint"] for f in before["findings"]}
    fp_after = {(f["path"], f["severity"]): f["fingerprint"] for f in after["findings"]}
    assert fp_before == fp_after
    lines = {f["severity"]: f["start_line"] for f in after["findings"] if f["path"] == "src/serve.py"}
    assert lines == {"critical": 5, "low": 6}


def test_output_is_deterministic(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    files = {f"pkg{i}/m{j}.py": f"x = {j}  # SECURITY-MARK[high]\n" for i in range(10) for j in range(10)}
    make_repo(repo, files)
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"r{jobs}.sarif"
        run_cli("scan", repo, "--scanners", "testkit", "--jobs", jobs, "--format", "sarif", "--output", out)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_scanner_crash_is_isolated(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {**APP, "src/boom.py": "CRASH-ME\n", "src/skip.py": "SKIP-ME\n"})
    code, report = scan_json(repo, "--fail-on", "none")
    assert code == 0
    errors = [f for f in report["findings"] if f["rule_id"] == "core/scan-error"]
    assert [(e["path"], e["scanner"]) for e in errors] == [("src/boom.py", "testkit")]
    assert "RuntimeError" in errors[0]["message"]
    # The other files were still scanned.
    assert sum(1 for f in report["findings"] if f["rule_id"] == "testkit/marker") == 4
    assert {"path": "src/skip.py", "reason": "testkit: testkit was asked to skip this file"} in report["skipped"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    proc = run_cli("scan", tmp_path / "does-not-exist")
    assert proc.returncode == 2 and "does-not-exist" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("scan", tmp_path, "--scanners", "nope")
    assert proc.returncode == 2 and "unknown scanner" in proc.stderr
    proc = run_cli("scan", tmp_path, "--fail-on", "severe")
    assert proc.returncode == 2
    proc = run_cli("scan", tmp_path, "--shard", "3/2")
    assert proc.returncode == 2 and "--shard" in proc.stderr
    proc = run_cli("scan", tmp_path, "--new-only")
    assert proc.returncode == 2 and "--base" in proc.stderr
    proc = run_cli("scan", tmp_path, "--format", "json", "--format", "text")
    assert proc.returncode == 2 and "stdout" in proc.stderr


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.py": "x\n", ".aisec.yml": "fail-on: hgih\n"})
    proc = run_cli("scan", repo)
    assert proc.returncode == 2
    assert "fail-on" in proc.stderr and "Traceback" not in proc.stderr
    (repo / ".aisec.yml").write_text("ignores:\n  - rule: testkit/marker\n")
    proc = run_cli("scan", repo)
    assert proc.returncode == 2 and "ignores[0]" in proc.stderr and "reason" in proc.stderr
    (repo / ".aisec.yml").write_text("scanners: [deps\n")
    proc = run_cli("scan", repo)
    assert proc.returncode == 2 and "line" in proc.stderr


def test_scanner_options_reach_the_scanner(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    make_repo(repo, {"a.py": "x  # SECURITY-MARK[low]\n", ".aisec.yml": "testkit:\n  prefix: 'P: '\n"})
    _, report = scan_json(repo)
    assert report["findings"][0]["message"].startswith("P: marker")
    (repo / ".aisec.yml").write_text("testkit:\n  prefx: 'P: '\n")
    proc = run_cli("scan", repo, "--scanners", "testkit")
    assert proc.returncode == 2 and "testkit" in proc.stderr and "prefx" in proc.stderr
