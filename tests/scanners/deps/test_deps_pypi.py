"""`check_pypi`: pins PyPI does not list are not called clean (local PyPI JSON API on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.scanners.deps.services.interface import PackageVersion
from aisec_ci.scanners.deps.services.pypi_index import PypiIndex
from tests.scanners.deps.deps_support import DEAD_URL, FakeOsv, by_rule, scan_repo

REQUIREMENTS = "jinja2==2.10\nrequests==2.32.3\nreqeusts-toolbelt==0.10.1\nnumpy==99.0.0\n"


def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir(parents=True)
    (root / "requirements.txt").write_text(REQUIREMENTS)
    return root


def pypi_hits(server: FakeOsv) -> int:
    return sum(n for path, n in server.hits.items() if path.startswith("/pypi/"))


def test_unknown_package_and_unknown_version_are_reported(osv: FakeOsv, tmp_path: Path) -> None:
    osv.releases = {"requests==2.32.3", "jinja2==2.10"}
    env = {"AISEC_OSV_URL": osv.url, "AISEC_PYPI_URL": osv.url}
    findings = scan_repo(repo(tmp_path), options={"check_pypi": True, "cache_dir": str(tmp_path / "c")}, env=env)
    missing = [f for f in by_rule(findings, "deps/audit-incomplete") if f.key.startswith("not-on-index:")]
    assert [(f.start_line, f.properties["package"]) for f in missing] == [(3, "reqeusts-toolbelt"), (4, "numpy")]
    assert "not a release on PyPI" in missing[0].message
    # jinja2 has advisories, so it exists: only the three advisory-free pins were asked about
    assert pypi_hits(osv) == 3
    assert {f.properties["package"] for f in by_rule(findings, "deps/vulnerable-package")} == {"jinja2"}
    # listed releases are remembered: a second run asks only about the unlisted ones
    osv.reset()
    osv.releases = {"requests==2.32.3"}
    scan_repo(repo(tmp_path / "again"), options={"check_pypi": True, "cache_dir": str(tmp_path / "c")}, env=env)
    assert pypi_hits(osv) == 2


def test_check_pypi_is_off_by_default_and_in_offline_mode(osv: FakeOsv, tmp_path: Path) -> None:
    env = {"AISEC_OSV_URL": osv.url, "AISEC_PYPI_URL": osv.url}
    findings = scan_repo(repo(tmp_path), env=env)
    assert pypi_hits(osv) == 0
    assert not any(f.key.startswith("not-on-index:") for f in findings)
    offline = scan_repo(repo(tmp_path / "o"), options={"check_pypi": True}, env=env, offline=True)
    assert pypi_hits(osv) == 0
    assert not any(f.key.startswith("not-on-index:") for f in offline)


def test_unreachable_index_reports_nothing_missing_but_says_so(tmp_path: Path) -> None:
    index = PypiIndex(DEAD_URL, timeout=2, cache_dir=tmp_path)
    absent, notes = index.missing([PackageVersion("requests", "2.32.3")])
    assert absent == {}
    assert notes == [f"PyPI index {DEAD_URL} did not answer for 1 pin(s): requests==2.32.3"]
