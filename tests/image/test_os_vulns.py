"""image/vulnerable-os-package: OS packages audited per release through the offline database, the
OSV API (a real HTTP server on 127.0.0.1) and `db update --ecosystem Debian`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aisec_ci.findings import Finding
from aisec_ci.image.os_vulns import VULNERABLE_OS_PACKAGE, audit_os_packages, os_advisory_severity
from aisec_ci.image.ospackages import (
    Distro,
    OsPackage,
    parse_apk_installed,
    parse_dpkg_status,
    parse_os_release,
)
from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.services.offline_db import open_store
from aisec_ci.scanners.deps.services.record_store import RecordStore, write_store
from aisec_ci.severity import Severity
from tests.scanners.deps.deps_support import DEAD_URL, LOCK_ADVISORIES, FakeOsv, load_records, serve_files

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "image"
OSV = FIXTURES / "osv"
STATUS = "var/lib/dpkg/status"
APK_DB = "lib/apk/db/installed"


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The OSV detail cache defaults to the user's cache directory; tests must not touch it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.delenv("AISEC_CACHE_DIR", raising=False)
    monkeypatch.delenv("AISEC_OSV_DB", raising=False)


def distro(name: str) -> Distro:
    found = parse_os_release((FIXTURES / "os-release" / name).read_text(encoding="utf-8"))
    assert found is not None
    return found


def debian12_packages() -> list[OsPackage]:
    return parse_dpkg_status((FIXTURES / "debian12" / STATUS).read_text(encoding="utf-8"), STATUS)


def offline_options(tmp_path: Path, database: Path = OSV) -> dict[str, Any]:
    return {"sources": ["offline"], "database": str(database), "cache_dir": str(tmp_path / "cache")}


def audit(
    packages: list[OsPackage], dist: Distro | None, options: dict[str, Any], env: dict[str, str] | None = None
) -> tuple[list[Finding], list[str]]:
    return audit_os_packages(packages, dist, options, env or {}, False, REPO)


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


# --- offline directory database --------------------------------------------------------


def test_vulnerable_glibc_on_debian_12_is_one_finding_at_libc6(tmp_path: Path) -> None:
    packages = debian12_packages()
    findings, _notes = audit(packages, distro("debian-12"), offline_options(tmp_path))
    [f] = findings  # base-files, zlib and jansson were audited and are clean; libc-bin adds nothing
    libc6 = next(p for p in packages if p.name == "libc6")
    assert f.rule_id == VULNERABLE_OS_PACKAGE.id == "image/vulnerable-os-package"
    assert (f.path, f.start_line, f.snippet) == (STATUS, libc6.line, "Package: libc6")
    assert f.message == (
        "glibc 2.36-9+deb12u1 (libc6, libc-bin) is affected by DSA-5514-1 (CVE-2023-4911): "
        "glibc - security update; fixed in 2.36-9+deb12u3."
    )
    assert f.key == "glibc==2.36-9+deb12u1:DSA-5514-1"
    # no CVSS, no named severity, no distribution rating in the record: medium
    assert f.severity is Severity.MEDIUM
    props = f.properties
    assert props["package"] == "glibc" and props["version"] == "2.36-9+deb12u1"
    assert props["binaries"] == ["libc6", "libc-bin"]
    assert props["ecosystem"] == "Debian:12"
    assert props["advisory_id"] == "DSA-5514-1"
    assert props["aliases"] == ["CVE-2023-4911", "DEBIAN-CVE-2023-4911"]
    assert props["fixed"] == "2.36-9+deb12u3" and props["fixed_versions"] == ["2.36-9+deb12u3"]
    assert props["severity_source"] == "default" and props["sources"] == ["offline-db"]


def test_the_same_advisory_on_debian_11_uses_the_bullseye_fix(tmp_path: Path) -> None:
    packages = debian12_packages()
    # bookworm's glibc on a bullseye table is past bullseye's fix: nothing to report
    findings, _ = audit(packages, distro("debian-11"), offline_options(tmp_path))
    assert findings == []
    old = [
        OsPackage("libc6", "2.31-13+deb11u6", "glibc", "2.31-13+deb11u6", STATUS, 7, "deb", "amd64"),
        OsPackage("libc-bin", "2.31-13+deb11u6", "glibc", "2.31-13+deb11u6", STATUS, 40, "deb", "amd64"),
    ]
    [f] = audit(old, distro("debian-11"), offline_options(tmp_path))[0]
    assert f.properties["ecosystem"] == "Debian:11"
    assert f.properties["fixed"] == "2.31-13+deb11u7"
    assert f.message.endswith("; fixed in 2.31-13+deb11u7.")
    assert (f.start_line, f.key) == (7, "glibc==2.31-13+deb11u6:DSA-5514-1")
    # the bullseye version on bookworm gets bookworm's fix
    [g] = audit(old, distro("debian-12"), offline_options(tmp_path))[0]
    assert g.properties["fixed"] == "2.36-9+deb12u3"


def test_a_fixed_glibc_has_no_finding(tmp_path: Path) -> None:
    status_d = FIXTURES / "distroless" / "var" / "lib" / "dpkg" / "status.d"
    packages = [
        pkg
        for file in sorted(status_d.iterdir())
        for pkg in parse_dpkg_status(file.read_text(encoding="utf-8"), f"var/lib/dpkg/status.d/{file.name}", True)
    ]
    assert {(p.name, p.version) for p in packages} == {("libc6", "2.36-9+deb12u3"), ("base-files", "12.4+deb12u5")}
    assert audit(packages, distro("debian-12"), offline_options(tmp_path)) == ([], [])


def test_alpine_openssl_is_one_finding_for_its_two_libraries(tmp_path: Path) -> None:
    text = (FIXTURES / "alpine318" / APK_DB).read_text(encoding="utf-8")
    packages = parse_apk_installed(text, APK_DB)
    [f] = audit(packages, distro("alpine-3.18"), offline_options(tmp_path))[0]
    crypto = next(p for p in packages if p.name == "libcrypto3")
    assert (f.path, f.start_line, f.snippet) == (APK_DB, crypto.line, "P:libcrypto3")
    assert f.properties["binaries"] == ["libcrypto3", "libssl3"]
    assert f.properties["ecosystem"] == "Alpine:v3.18"
    assert f.message == (
        "openssl 3.1.3-r0 (libcrypto3, libssl3) is affected by ALPINE-CVE-2023-5363 (CVE-2023-5363): "
        "Issue summary: A bug has been identified in the processing of key and initialisation vector "
        "(IV) lengths; fixed in 3.1.4-r0."
    )
    assert f.key == "openssl==3.1.3-r0:ALPINE-CVE-2023-5363"


def test_ubuntu_php_takes_its_cvss_severity(tmp_path: Path) -> None:
    rel = FIXTURES / "ubuntu2204" / STATUS
    packages = parse_dpkg_status(rel.read_text(encoding="utf-8"), STATUS)
    dist = distro("ubuntu-22.04")
    [f] = audit(packages, dist, offline_options(tmp_path))[0]
    assert f.properties["ecosystem"] == "Ubuntu:22.04:LTS"
    assert f.properties["package"] == "php8.1" and f.properties["binaries"] == ["php8.1-common", "php8.1-cli"]
    assert f.properties["advisory_id"] == "UBUNTU-CVE-2025-6491"
    assert f.properties["fixed"] == "8.1.2-1ubuntu2.22"
    # CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H scores 5.9; Ubuntu's own priority is kept beside it
    assert f.properties["cvss_score"] == 5.9 and f.severity is Severity.MEDIUM
    assert f.properties["severity_source"] == "cvss" and f.properties["distro_severity"] == "medium"
    assert "(CVE-2025-6491)" in f.message
    # the same installed php on a non-LTS release is another ecosystem, which the record does not name
    mantic = distro("ubuntu-23.10")
    assert mantic.ecosystem == "Ubuntu:23.10"
    assert audit(packages, mantic, offline_options(tmp_path))[0] == []


def test_a_database_without_debian_records_leaves_the_packages_unaudited(tmp_path: Path) -> None:
    # the Go, npm and crates.io advisories of the lock-file tests: a database, but not Debian's
    findings, _notes = audit(debian12_packages(), distro("debian-12"), offline_options(tmp_path, LOCK_ADVISORIES))
    [f] = findings
    assert f.rule_id == "deps/audit-incomplete"
    assert (f.path, f.start_line) == (STATUS, 1)  # the first stanza of the file
    assert f.properties["ecosystem"] == "Debian:12"
    assert f.properties["packages"] == [
        "base-files@12.4+deb12u1",
        "glibc@2.36-9+deb12u1",
        "jansson@2.14-2",
        "zlib@1:1.2.13.dfsg-1",
    ]
    assert "holds no Debian:12 advisories (run `aisec-ci db update --ecosystem Debian`)" in f.message


def test_an_unreachable_osv_api_is_reported_not_clean(tmp_path: Path) -> None:
    options = {"sources": ["osv"], "osv_url": DEAD_URL, "cache_dir": str(tmp_path / "c"), "retries": 0}
    findings, notes = audit(debian12_packages(), distro("debian-12"), options)
    [f] = findings
    assert f.rule_id == "deps/audit-incomplete" and "4 Debian:12 package(s) were not audited" in f.message
    # the fix it names is the distribution's archive, not one release's
    assert "`aisec-ci db update --ecosystem Debian`" in f.message
    assert any("osv-api unavailable" in n for n in notes)


def test_an_alpine_version_apk_rules_here_cannot_order_is_not_called_clean(tmp_path: Path) -> None:
    snapshot = OsPackage("openssl", "3.1_git20230901-r0", "openssl", "3.1_git20230901-r0", APK_DB, 1, "apk")
    [f] = audit([snapshot], distro("alpine-3.18"), offline_options(tmp_path))[0]
    assert f.rule_id == "deps/audit-incomplete"
    assert "cannot be ordered by apk rules" in f.message


def test_without_a_supported_release_the_packages_are_reported_unaudited(tmp_path: Path) -> None:
    packages = debian12_packages()
    findings, notes = audit(packages, None, offline_options(tmp_path))
    assert notes == [
        "image: OS packages not audited: no os-release file names the distribution, so no advisory data "
        "applies (5 package(s) in var/lib/dpkg/status)"
    ]
    # Never a clean pass: one audit-incomplete finding per package database, naming the packages.
    (finding,) = findings
    assert finding.rule_id == "deps/audit-incomplete" and finding.path == "var/lib/dpkg/status"
    assert len(finding.properties["packages"]) == 5
    findings, notes = audit(packages, distro("debian-trixie-testing"), offline_options(tmp_path))
    assert [f.rule_id for f in findings] == ["deps/audit-incomplete"]
    assert "OSV has no advisories for Debian GNU/Linux trixie/sid" in findings[0].message
    assert notes[0].startswith("image: OS packages not audited: OSV has no advisories for Debian GNU/Linux trixie/sid")
    assert audit([], distro("debian-12"), offline_options(tmp_path)) == ([], [])


# --- severity ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("advisory", "expected"),
    [
        (Advisory(id="DSA-1", distro_severity="high"), Severity.HIGH),
        (Advisory(id="DEBIAN-CVE-1", distro_severity="unimportant"), Severity.LOW),
        (Advisory(id="DEBIAN-CVE-2", distro_severity="low**"), Severity.LOW),
        (Advisory(id="UBUNTU-CVE-1", distro_severity="negligible"), Severity.LOW),
        (Advisory(id="UBUNTU-CVE-2", distro_severity="critical"), Severity.CRITICAL),
        (Advisory(id="DEBIAN-CVE-3", distro_severity="not yet assigned"), Severity.MEDIUM),
        (Advisory(id="ALPINE-CVE-1"), Severity.MEDIUM),
        (Advisory(id="X-1", database_severity="HIGH", distro_severity="low"), Severity.HIGH),
        (
            Advisory(id="X-2", cvss=("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",), distro_severity="low"),
            Severity.CRITICAL,
        ),
        (Advisory(id="X-3", distro_severity="high", disputed=True), Severity.LOW),
    ],
)
def test_os_advisory_severity(advisory: Advisory, expected: Severity) -> None:
    assert os_advisory_severity(advisory)[0] is expected


def test_distribution_ratings_reach_the_advisory(tmp_path: Path) -> None:
    from aisec_ci.scanners.deps.matching import advisory_from_osv

    ubuntu = load_records(OSV)[-1]
    assert ubuntu["id"] == "UBUNTU-CVE-2025-6491"
    adv = advisory_from_osv(ubuntu, "php8.1", "offline-db", "8.1.2-1ubuntu2.21", "Ubuntu:22.04:LTS")
    assert adv.distro_severity == "medium" and adv.aliases == ("CVE-2025-6491",)
    # the PyPI path reads neither `upstream` nor the distribution's words
    pypi = advisory_from_osv({**ubuntu, "affected": []}, "php8.1", "offline-db", "1", "PyPI")
    assert pypi.distro_severity == "" and pypi.aliases == ()


# --- OSV API ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def osv_server() -> Iterator[FakeOsv]:
    server = FakeOsv(OSV)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_osv_api_is_asked_about_the_source_package_of_the_release(osv_server: FakeOsv, tmp_path: Path) -> None:
    osv_server.reset()
    options = {"sources": ["osv"], "osv_url": osv_server.url, "cache_dir": str(tmp_path / "c")}
    findings, _notes = audit(debian12_packages(), distro("debian-12"), options)
    [f] = findings
    assert f.key == "glibc==2.36-9+deb12u1:DSA-5514-1" and f.properties["sources"] == ["osv-api"]
    assert f.properties["fixed"] == "2.36-9+deb12u3"
    queried = sorted((q["package"]["name"], q["package"]["ecosystem"], q["version"]) for q in osv_server.queries)
    assert queried == [
        ("base-files", "Debian:12", "12.4+deb12u1"),
        ("glibc", "Debian:12", "2.36-9+deb12u1"),  # once, for libc6 and libc-bin
        ("jansson", "Debian:12", "2.14-2"),  # the source's version, not the binNMU's
        ("zlib", "Debian:12", "1:1.2.13.dfsg-1"),
    ]
    assert osv_server.hits["/v1/vulns/DSA-5514-1"] == 1


# --- db update --ecosystem Debian -------------------------------------------------------


def test_db_update_debian_then_an_offline_audit_reads_it(tmp_path: Path) -> None:
    archive = tmp_path / "Debian.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(OSV / "DSA-5514-1.json", "DSA-5514-1.json")
    cache = tmp_path / "cache"
    with serve_files() as (url, files):
        files["/Debian/all.zip"] = archive.read_bytes()
        proc = subprocess.run(
            [sys.executable, "-m", "aisec_ci", "db", "update", "--cache-dir", str(cache), "--ecosystem", "Debian",
             "--url", url + "/Debian/all.zip"],
            capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    target = cache / "osv" / "Debian-all.zip"
    assert proc.stdout.strip() == str(target)
    # a plain offline run finds the archive in the cache by itself
    findings, _ = audit_os_packages(
        debian12_packages(), distro("debian-12"), {}, {"AISEC_CACHE_DIR": str(cache)}, True, REPO
    )
    assert [f.key for f in findings if f.rule_id == VULNERABLE_OS_PACKAGE.id] == ["glibc==2.36-9+deb12u1:DSA-5514-1"]
    # the PyPI archive it also looks for is absent: said, but the Debian packages were audited
    assert not [f for f in findings if f.rule_id == "deps/audit-incomplete"]


def test_a_store_built_before_distributions_were_kept_is_rebuilt(tmp_path: Path) -> None:
    archive = tmp_path / "Debian-all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(OSV / "DSA-5514-1.json", "DSA-5514-1.json")
    cache = tmp_path / "cache"
    store, _bad = open_store(archive, cache)
    assert isinstance(store, RecordStore) and "Debian" in store.ecosystems
    path = store.path
    stamp = {k: store.meta[k] for k in ("source", "source_size", "source_mtime_ns")}
    store.close()
    # what an older aisec-ci left: the same archive's store, without Debian's records or `kept`
    write_store(path, [], {**stamp, "unreadable": "0", "ecosystems": ""})
    again, _bad = open_store(archive, cache)
    assert isinstance(again, RecordStore)
    assert "Debian" in again.ecosystems and "kept" in again.meta
    again.close()
