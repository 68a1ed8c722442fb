"""Each deps rule through the scanner: a failing and a passing case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aisec_ci.scanners.deps import DepsScanner
from aisec_ci.scanners.registry import all_scanners, catalog
from aisec_ci.severity import Severity
from tests.scanners.deps.deps_support import (
    DEAD_URL,
    FIXTURES,
    OSV_DATA,
    FakeOsv,
    advisories,
    advisory_ids,
    by_rule,
    repo_files,
    scan_repo,
)

REPO = FIXTURES / "repo"
SMALL = FIXTURES / "small"


def test_scanner_is_registered_with_its_rules() -> None:
    assert all_scanners()["deps"] is DepsScanner
    ids = {r.id for r in catalog() if r.family == "deps"}
    assert ids == {
        "deps/vulnerable-package",
        "deps/malicious-package",
        "deps/unpinned-requirement",
        "deps/unverifiable-source",
        "deps/audit-incomplete",
        "deps/stale-advisory-data",
    }


def test_vulnerable_package_points_at_every_format(osv: FakeOsv) -> None:
    findings = scan_repo(REPO, env={"AISEC_OSV_URL": osv.url})
    vulns = by_rule(findings, "deps/vulnerable-package")
    where = {(f.path, f.start_line, f.properties["package"]) for f in vulns}
    assert where >= {
        ("common/requirements-base.txt", 3, "urllib3"),  # reached through `-r` from serving/
        ("common/constraints.txt", 2, "certifi"),
        ("serving/requirements.txt", 9, "jinja2"),
        ("training/poetry.lock", 26, "mlflow"),
        ("training/poetry.lock", 34, "scikit-learn"),  # also pinned in training/pyproject.toml:10
        ("agent/uv.lock", 11, "langchain"),
        ("agent/uv.lock", 31, "streamlit"),  # also pinned in agent/pyproject.toml:12
        ("pipenv-app/Pipfile.lock", 28, "werkzeug"),
        ("pipenv-app/Pipfile.lock", 19, "flask"),  # also pinned in pipenv-app/Pipfile:7
        ("library/pyproject.toml", 15, "pyyaml"),  # no lock beside it: the manifest line is the pin
        ("pdm-app/pdm.lock", 11, "lxml"),
        ("pylock-app/pylock.toml", 7, "cryptography"),
        ("conda/environment.yml", 12, "sqlparse"),
        ("legacy/setup.cfg", 10, "py"),
        ("notebooks/finetune.ipynb", 17, "setuptools"),
    }
    # nothing is reported for pins without advisories
    assert not any(f.properties["package"] in ("numpy", "torch", "openai", "pytest") for f in vulns)
    assert by_rule(findings, "deps/stale-advisory-data") == []
    assert by_rule(findings, "deps/audit-incomplete") == [
        f for f in findings if f.rule_id == "deps/audit-incomplete" and f.path == "conda/environment.yml"
    ]


def test_vulnerable_package_properties_and_severity(osv: FakeOsv) -> None:
    findings = scan_repo(SMALL, env={"AISEC_OSV_URL": osv.url})
    # One finding for the pin, listing both of its advisories.
    [f] = by_rule(findings, "deps/vulnerable-package")
    assert (f.path, f.start_line, f.snippet) == ("requirements.txt", 2, "pyyaml==5.3")
    assert f.key == "pyyaml==5.3"
    assert advisory_ids(f) == ["PYSEC-2020-96", "PYSEC-2021-142"]
    first, second = advisories(f)
    assert first["aliases"] == ["CVE-2020-1747", "GHSA-6757-jp84-gxfx"]
    assert (first["fix_version"], second["fix_version"]) == ("5.3.1", "5.4")
    assert first["sources"] == ["osv-api"] and first["url"] == "https://osv.dev/vulnerability/PYSEC-2020-96"
    # The most severe advisory (then the first id) names the finding; every id and alias matches it.
    assert f.properties["advisory_id"] == "PYSEC-2020-96"
    assert f.properties["aliases"] == [
        "CVE-2020-14343",
        "CVE-2020-1747",
        "GHSA-6757-jp84-gxfx",
        "GHSA-8q59-q68h-6hv4",
        "PYSEC-2021-142",
    ]
    # 5.3.1 fixes one advisory, 5.4 both: the finding names 5.4.
    assert f.properties["fix_version"] == "5.4"
    assert f.properties["sources"] == ["osv-api"]
    assert "is affected by 2 advisories (PYSEC-2020-96, PYSEC-2021-142)" in f.message
    assert "Upgrading to 5.4 fixes all of them." in f.message
    # Neither advisory carries a vector: the rule default applies
    assert f.severity is Severity.HIGH and "cvss_score" not in f.properties
    assert all(a["severity"] == "high" for a in advisories(f))


def test_cvss_vector_sets_the_severity(osv: FakeOsv) -> None:
    findings = scan_repo(REPO, env={"AISEC_OSV_URL": osv.url})
    scored = [f for f in by_rule(findings, "deps/vulnerable-package") if "cvss_score" in f.properties]
    assert scored, "the fixture pins packages whose advisories carry CVSS vectors"
    for f in scored:
        assert f.severity is Severity.from_cvss(f.properties["cvss_score"])
    assert any(f.severity is Severity.CRITICAL for f in scored)
    assert any(f.severity is Severity.MEDIUM for f in scored)


def test_malicious_package_from_an_offline_database(tmp_path: Path) -> None:
    findings = scan_repo(SMALL, options={"sources": ["offline"], "database": str(FIXTURES / "mal-db")})
    mal = by_rule(findings, "deps/malicious-package")
    assert [(f.start_line, f.severity, f.properties["advisory_id"]) for f in mal] == [
        (4, Severity.CRITICAL, "MAL-2022-4691")
    ]
    assert mal[0].key == "reqeusts==2.28.1" and advisory_ids(mal[0]) == ["MAL-2022-4691"]
    assert mal[0].message == "reqeusts 2.28.1 is a known malicious package MAL-2022-4691."
    # a version the advisory does not list is not malicious
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "requirements.txt").write_text("reqeusts==2.0.0\n")
    clean = scan_repo(repo, options={"sources": ["offline"], "database": str(FIXTURES / "mal-db")})
    assert by_rule(clean, "deps/malicious-package") == []
    assert by_rule(clean, "deps/audit-incomplete") == []


def test_unpinned_requirement(osv: FakeOsv) -> None:
    findings = scan_repo(REPO, env={"AISEC_OSV_URL": osv.url})
    per_range = [f for f in by_rule(findings, "deps/unpinned-requirement") if "package" in f.properties]
    unpinned = {(f.path, f.start_line, f.properties["package"]) for f in per_range}
    assert unpinned == {
        ("serving/requirements.txt", 10, "uvicorn"),
        ("serving/requirements.txt", 11, "gunicorn"),
        ("conda/environment.yml", 13, "wandb"),
        ("legacy/setup.cfg", 9, "click"),
        ("notebooks/finetune.ipynb", 18, "accelerate"),
    }
    # ranges locked by a lock file beside them (poetry, uv, Pipfile, pdm) and constraint caps are quiet
    assert not any(p.startswith(("training/", "agent/", "pipenv-app/", "pdm-app/", "common/")) for p, _, _ in unpinned)
    # the library's pyproject.toml (no lock beside it) gets one finding for all its ranges
    (summary,) = [f for f in by_rule(findings, "deps/unpinned-requirement") if "package" not in f.properties]
    assert (summary.path, summary.start_line, summary.severity) == ("library/pyproject.toml", 12, Severity.LOW)
    assert summary.properties["packages"] == ["matplotlib", "numpy", "pillow", "scipy"]
    assert summary.key == "unpinned:pyproject-without-lock"
    quiet = scan_repo(REPO, options={"report_unpinned": False}, env={"AISEC_OSV_URL": osv.url})
    assert by_rule(quiet, "deps/unpinned-requirement") == []


def test_unverifiable_source_and_credentials_are_redacted(osv: FakeOsv) -> None:
    findings = scan_repo(SMALL, env={"AISEC_OSV_URL": osv.url})
    (f,) = by_rule(findings, "deps/unverifiable-source")
    assert f.start_line == 6 and f.properties["package"] == "vision-ops"
    text = f.message + f.snippet + f.key + str(f.properties)
    assert "ghp_" not in text and "deploy-bot" not in text
    assert "https://***@github.com/acme/vision-ops.git" in f.message
    full = scan_repo(REPO, env={"AISEC_OSV_URL": osv.url})
    sources = {(f.path, f.start_line) for f in by_rule(full, "deps/unverifiable-source")}
    assert ("serving/requirements.txt", 16) in sources  # a vendored archive
    assert ("pylock-app/pylock.toml", 17) in sources
    assert not any(line in (12,) and path == "serving/requirements.txt" for path, line in sources)  # -e .
    assert ("agent/uv.lock", 47) not in sources and ("pylock-app/pylock.toml", 24) not in sources


def test_service_down_falls_back_to_the_snapshot_and_says_so() -> None:
    findings = scan_repo(SMALL, options={"retries": 0}, env={"AISEC_OSV_URL": DEAD_URL})
    stale = by_rule(findings, "deps/stale-advisory-data")
    assert [(f.path, f.severity, f.properties["snapshot_date"]) for f in stale] == [
        ("requirements.txt", Severity.INFO, "2024-10-10")
    ]
    assert stale[0].properties["packages"] == ["pyyaml==5.3", "reqeusts==2.28.1", "requests==2.32.3"]
    assert stale[0].properties["reasons"] == [
        "osv-api: OSV API: cannot reach http://127.0.0.1:9 (connection refused) (after 1 attempt)"
    ]
    assert "because no configured source answered (osv-api: OSV API: cannot reach" in stale[0].message
    [vuln] = by_rule(findings, "deps/vulnerable-package")
    assert advisory_ids(vuln) == ["PYSEC-2020-96", "PYSEC-2021-142"]
    assert vuln.properties["sources"] == ["snapshot"]
    assert all(a["sources"] == ["snapshot"] for a in advisories(vuln))
    assert vuln.properties["snapshot_date"] == "2024-10-10"


def test_service_down_without_fallback_is_audit_incomplete_never_clean() -> None:
    findings = scan_repo(SMALL, options={"retries": 0, "snapshot_fallback": False}, env={"AISEC_OSV_URL": DEAD_URL})
    assert by_rule(findings, "deps/vulnerable-package") == []
    incomplete = by_rule(findings, "deps/audit-incomplete")
    assert {(f.start_line, f.properties["package"]) for f in incomplete} == {
        (2, "pyyaml"),
        (3, "requests"),
        (4, "reqeusts"),
    }
    assert all("cannot reach" in f.properties["reason"] for f in incomplete)


def test_broken_includes_and_conda_packages_are_audit_incomplete(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r ../outside.txt\n-r loop.txt\npyyaml==5.4.1\n")
    (tmp_path / "loop.txt").write_text("-r requirements.txt\n")
    shutil.copy(REPO / "conda" / "environment.yml", tmp_path / "environment.yml")
    findings = scan_repo(tmp_path, options={"sources": ["offline"], "database": str(OSV_DATA)})
    got = {(f.path, f.start_line, f.severity) for f in by_rule(findings, "deps/audit-incomplete")}
    assert got == {
        ("requirements.txt", 1, Severity.MEDIUM),
        ("loop.txt", 1, Severity.MEDIUM),
        ("environment.yml", 7, Severity.LOW),
    }
    msgs = " ".join(f.message for f in findings)
    assert "escapes the repository" in msgs and "include cycle" in msgs and "cudatoolkit, pytorch" in msgs


def test_offline_flag_uses_the_database_and_no_network(osv: FakeOsv) -> None:
    if not OSV_DATA.is_dir():
        pytest.skip("shared advisory data is absent")
    findings = scan_repo(SMALL, options={"database": str(OSV_DATA)}, env={"AISEC_OSV_URL": osv.url}, offline=True)
    assert sum(osv.hits.values()) == 0
    [vuln] = by_rule(findings, "deps/vulnerable-package")
    assert advisory_ids(vuln) == ["PYSEC-2020-96", "PYSEC-2021-142"]
    assert all(a["sources"] == ["offline-db"] for a in advisories(vuln))
    assert by_rule(findings, "deps/stale-advisory-data") == []


def test_several_sources_are_merged_per_advisory(osv: FakeOsv) -> None:
    options = {"sources": ["osv", "pip-audit"]}
    findings = scan_repo(SMALL, options=options, env={"AISEC_OSV_URL": osv.url})
    [vuln] = by_rule(findings, "deps/vulnerable-package")
    # two advisories, each reported by both sources (one entry each), in one finding for the pin
    assert advisory_ids(vuln) == ["PYSEC-2020-96", "PYSEC-2021-142"]
    assert all(a["sources"] == ["osv-api", "pip-audit"] for a in advisories(vuln))
    assert vuln.properties["sources"] == ["osv-api", "pip-audit"]


def test_the_repository_pass_skips_a_malformed_manifest_with_its_reason(tmp_path: Path) -> None:
    from aisec_ci.scanners.base import ScanContext

    (tmp_path / "pyproject.toml").write_text("[project]\ndependencies = [\n")
    (tmp_path / "requirements.txt").write_text("pyyaml==5.3\n")
    options = {"sources": ["offline"], "database": str(OSV_DATA)}
    scanner = DepsScanner(ScanContext(root=tmp_path.resolve(), options=options))
    findings = list(scanner.scan_repository(repo_files(tmp_path)))
    assert [s.path for s in scanner.skipped] == ["pyproject.toml"]
    assert scanner.skipped[0].reason.startswith("pyproject.toml: invalid TOML")
    assert {f.path for f in findings} == {"requirements.txt"}  # the broken file does not stop the rest


def test_offline_mode_drops_every_network_source() -> None:
    from aisec_ci.scanners.deps.audit import build_services

    options = {"sources": ["osv", "pip-audit", "safety"], "safety_db": "db"}
    services, notes = build_services(options, {}, offline=True, root=Path("/repo"))
    assert [s.name for s in services] == ["offline-db"]
    assert notes == ["deps: --offline: skipped the network source(s) osv, pip-audit, safety"]
    local_auth = {**options, "safety_auth_url": "http://127.0.0.1:8080"}
    services, _ = build_services(local_auth, {"SAFETY_API_KEY": "k"}, offline=True, root=Path("/repo"))
    assert [s.name for s in services] == ["offline-db", "safety"]
    assert services[1].api_key == ""  # type: ignore[attr-defined]  # the online database is never used offline


def test_two_malicious_advisories_and_a_vulnerability_of_one_pin(tmp_path: Path) -> None:
    db = tmp_path / "db"
    shutil.copytree(FIXTURES / "mal-db", db)
    record = json.loads((db / "MAL-2022-4691.json").read_text())
    (db / "MAL-2023-0001.json").write_text(json.dumps(record | {"id": "MAL-2023-0001"}))
    vuln = record | {"id": "PYSEC-2099-1", "summary": "A flaw", "database_specific": {"severity": "MODERATE"}}
    (db / "PYSEC-2099-1.json").write_text(json.dumps(vuln))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("reqeusts==2.28.1\n")
    findings = scan_repo(repo, options={"sources": ["offline"], "database": str(db)})
    # Malicious-package and vulnerability advisories stay apart: one finding per rule for the pin.
    [mal] = by_rule(findings, "deps/malicious-package")
    assert advisory_ids(mal) == ["MAL-2022-4691", "MAL-2023-0001"] and mal.severity is Severity.CRITICAL
    assert mal.message == "reqeusts 2.28.1 is a known malicious package (MAL-2022-4691, MAL-2023-0001)."
    [vul] = by_rule(findings, "deps/vulnerable-package")
    assert advisory_ids(vul) == ["PYSEC-2099-1"] and vul.severity is Severity.MEDIUM
    assert mal.key == vul.key == "reqeusts==2.28.1"
