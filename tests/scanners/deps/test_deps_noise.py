"""Noise control: one finding for a pin a lock restates, one summary for a library's ranges."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.findings import Finding
from tests.scanners.deps.deps_support import FIXTURES, FakeOsv, advisory_ids, by_rule, scan_repo

REPO = FIXTURES / "repo"

UV_LOCK_HEAD = 'version = 1\nrequires-python = ">=3.10"\n'


def uv_package(name: str, version: str) -> str:
    return (
        f'\n[[package]]\nname = "{name}"\nversion = "{version}"\nsource = {{ registry = "https://pypi.org/simple" }}\n'
    )


def write_project(root: Path, deps: list[str], lock: dict[str, str] | None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    body = "".join(f'    "{d}",\n' for d in deps)
    (root / "pyproject.toml").write_text(f'[project]\nname = "app"\nversion = "1.0"\ndependencies = [\n{body}]\n')
    if lock is not None:
        (root / "uv.lock").write_text(UV_LOCK_HEAD + "".join(uv_package(n, v) for n, v in lock.items()))


def places(findings: list[Finding], rule: str) -> list[tuple[str, int, str]]:
    """(path, line, advisory id) for every advisory a finding lists (its `advisory_id` if it lists none)."""
    return sorted(
        (f.path, f.start_line, a)
        for f in by_rule(findings, rule)
        for a in (advisory_ids(f) if "advisories" in f.properties else [f.properties.get("advisory_id", "")])
    )


def test_a_pin_in_manifest_and_lock_is_reported_once_at_the_lock(osv: FakeOsv, tmp_path: Path) -> None:
    write_project(tmp_path, ["jinja2==2.10", "requests>=2"], {"jinja2": "2.10", "requests": "2.32.3"})
    findings = scan_repo(tmp_path, env={"AISEC_OSV_URL": osv.url})
    # uv.lock: jinja2 is the first [[package]], its `name` on line 5
    assert places(findings, "deps/vulnerable-package") == [
        ("uv.lock", 5, "PYSEC-2019-217"),
        ("uv.lock", 5, "PYSEC-2021-66"),
    ]
    [f] = by_rule(findings, "deps/vulnerable-package")  # both advisories of the one pin: one finding
    assert f.properties["declared_in"] == ["pyproject.toml:5"]
    assert f.message.endswith("Also declared in pyproject.toml:5.")
    assert by_rule(findings, "deps/unpinned-requirement") == []  # requests>=2 is locked


def test_a_manifest_pin_that_disagrees_with_its_lock_is_kept(osv: FakeOsv, tmp_path: Path) -> None:
    write_project(tmp_path, ["jinja2==2.10"], {"jinja2": "3.1.4"})
    findings = scan_repo(tmp_path, env={"AISEC_OSV_URL": osv.url})
    vulns = by_rule(findings, "deps/vulnerable-package")
    assert {(f.path, f.start_line) for f in vulns} == {("pyproject.toml", 5)}
    assert all("declared_in" not in f.properties for f in vulns)


def test_vcs_source_in_manifest_and_lock_is_one_finding() -> None:
    findings = scan_repo(REPO, options={"sources": ["offline"], "database": str(FIXTURES / "mal-db")})
    sources = {(f.path, f.properties["package"]): f for f in by_rule(findings, "deps/unverifiable-source")}
    assert ("training/pyproject.toml", "datasets-tools") not in sources
    lock = sources[("training/poetry.lock", "datasets-tools")]
    assert lock.properties["declared_in"] == ["training/pyproject.toml:12"]
    assert ("pipenv-app/Pipfile", "gradio-client") not in sources
    assert sources[("pipenv-app/Pipfile.lock", "gradio-client")].properties["declared_in"] == ["pipenv-app/Pipfile:9"]


def test_library_ranges_summary_each_and_off(tmp_path: Path) -> None:
    write_project(tmp_path / "lib", ["numpy>=1.24", "tqdm", "rich~=13.0"], None)
    options: dict[str, object] = {"sources": ["offline"], "database": str(FIXTURES / "mal-db")}
    (summary,) = by_rule(scan_repo(tmp_path, options=options), "deps/unpinned-requirement")
    assert (summary.path, summary.start_line) == ("lib/pyproject.toml", 5)
    assert summary.properties["packages"] == ["numpy", "rich", "tqdm"]
    assert "3 dependencies are declared with a range" in summary.message
    each = by_rule(scan_repo(tmp_path, options={**options, "pyproject_ranges": "each"}), "deps/unpinned-requirement")
    assert sorted((f.start_line, f.properties["package"]) for f in each) == [(5, "numpy"), (6, "tqdm"), (7, "rich")]
    off = scan_repo(tmp_path, options={**options, "pyproject_ranges": "off"})
    assert by_rule(off, "deps/unpinned-requirement") == []


def test_application_with_a_lock_still_gets_one_finding_per_unlocked_range(tmp_path: Path) -> None:
    # A lock beside the manifest means this is an application: a range the lock lacks is a real gap.
    write_project(tmp_path, ["numpy>=1.24", "tqdm"], {"numpy": "1.26.4"})
    options = {"sources": ["offline"], "database": str(FIXTURES / "mal-db")}
    found = by_rule(scan_repo(tmp_path, options=options), "deps/unpinned-requirement")
    assert [(f.path, f.start_line, f.properties["package"]) for f in found] == [("pyproject.toml", 6, "tqdm")]
