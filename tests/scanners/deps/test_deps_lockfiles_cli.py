"""Go, npm and Cargo lock files end to end through the CLI: the OSV API on 127.0.0.1, the offline
database per ecosystem, the fallbacks that know PyPI alone, the SBOM and `db update --ecosystem`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.scanners.deps.deps_support import (
    DEAD_URL,
    FIXTURES,
    LOCK_ADVISORIES,
    OSV_DATA,
    FakeOsv,
    advisory_ids,
    serve_files,
)
from tests.scanners.deps.test_deps_cli import run_scan

LOCKS = FIXTURES / "locks"

# (path, line) -> advisory ids of every deps/vulnerable-package finding the fixture repository must give.
EXPECTED = {
    ("go/go.mod", 9): ["GO-2022-0969", "GO-2023-1571"],  # x/net at a pseudo-version before both fixes
    ("go-legacy/go.sum", 11): ["GO-2021-0113"],  # x/text v0.3.6, named by go.sum only (go 1.16)
    ("npm-v1/package-lock.json", 7): ["GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"],
    ("npm-v1/package-lock.json", 25): ["GHSA-xvch-5gv4-984h"],  # minimist nested below mkdirp
    ("npm-v3/package-lock.json", 39): ["GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"],
    ("npm-v3/package-lock.json", 60): ["GHSA-xvch-5gv4-984h"],  # node_modules/mkdirp/node_modules/minimist
    ("yarn-classic/yarn.lock", 12): ["GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"],
    ("yarn-classic/yarn.lock", 17): ["GHSA-xvch-5gv4-984h"],  # minimist 0.0.8: the range below 0.2.4
    ("yarn-berry/yarn.lock", 18): ["GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"],
    ("yarn-berry/yarn.lock", 25): ["GHSA-xvch-5gv4-984h"],
    ("pnpm-v5/pnpm-lock.yaml", 17): ["GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"],
    ("pnpm-v6/pnpm-lock.yaml", 35): ["GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"],
    ("pnpm-v6/pnpm-lock.yaml", 39): ["GHSA-xvch-5gv4-984h"],
    ("pnpm-v9/pnpm-lock.yaml", 33): ["GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"],
    ("pnpm-v9/pnpm-lock.yaml", 36): ["GHSA-xvch-5gv4-984h"],
    ("cargo/Cargo.lock", 6): ["RUSTSEC-2020-0159"],  # chrono 0.4.19
    ("cargo/Cargo.lock", 41): ["RUSTSEC-2020-0071"],  # time 0.1.44 (0.2.5 and 0.3.30 are not affected)
}


def vulnerable(data: dict[str, Any]) -> dict[tuple[str, int], list[str]]:
    return {
        (f["path"], f["start_line"]): advisory_ids(f)
        for f in data["findings"]
        if f["rule_id"] == "deps/vulnerable-package"
    }


def test_lock_files_through_the_osv_api(lock_osv: FakeOsv, tmp_path: Path) -> None:
    code, data, err = run_scan(LOCKS, tmp_path / "out.json", {"AISEC_OSV_URL": lock_osv.url}, "--no-git")
    assert code == 0, err
    assert vulnerable(data) == EXPECTED
    by_place = {(f["path"], f["start_line"]): f for f in data["findings"]}
    net = by_place[("go/go.mod", 9)]
    assert net["properties"]["ecosystem"] == "Go"
    assert net["properties"]["version"] == "v0.0.0-20220722155237-a158d28d115b"
    assert net["properties"]["fix_version"] == "0.7.0"  # the fix of both, past the pseudo-version fix
    assert net["message"].startswith(
        "golang.org/x/net v0.0.0-20220722155237-a158d28d115b (Go) is affected by 2 advisories"
    )
    assert net["snippet"] == "golang.org/x/net v0.0.0-20220722155237-a158d28d115b"
    lodash = by_place[("npm-v3/package-lock.json", 39)]
    assert lodash["properties"]["ecosystem"] == "npm" and lodash["properties"]["fix_version"] == "4.17.21"
    assert lodash["severity"] == "high"  # GHSA-35jh-r3h4-6jhm's CVSS 7.2
    assert by_place[("yarn-classic/yarn.lock", 17)]["severity"] == "critical"  # minimist, CVSS 9.8
    assert by_place[("cargo/Cargo.lock", 41)]["properties"]["fix_version"] == "0.2.0"
    assert lodash["properties"]["advisories"][0]["url"] == "https://osv.dev/vulnerability/GHSA-35jh-r3h4-6jhm"

    # the queries name each package's ecosystem, and Go versions as the Go database spells them
    asked = {(q["package"]["ecosystem"], q["package"]["name"], q["version"]) for q in lock_osv.queries}
    assert ("Go", "golang.org/x/net", "0.0.0-20220722155237-a158d28d115b") in asked
    assert ("Go", "github.com/docker/docker", "24.0.7+incompatible") in asked
    assert ("Go", "golang.org/x/text", "0.3.8") in asked and ("Go", "golang.org/x/text", "0.3.6") in asked
    assert ("npm", "string-width", "4.2.3") in asked
    assert ("crates.io", "time", "0.2.5") in asked
    assert {e for e, _n, _v in asked} == {"Go", "npm", "crates.io"}
    assert lock_osv.hits["/v1/querybatch"] == 1

    # a git checkout, a URL tarball and another registry's crate are outside advisory data
    sources = {(f["path"], f["start_line"]) for f in data["findings"] if f["rule_id"] == "deps/unverifiable-source"}
    assert sources == {
        ("cargo/Cargo.lock", 62),
        ("cargo/Cargo.lock", 67),
        ("npm-v1/package-lock.json", 43),
        ("npm-v3/package-lock.json", 65),
        ("pnpm-v6/pnpm-lock.yaml", 55),
        ("pnpm-v9/pnpm-lock.yaml", 47),
        ("yarn-classic/yarn.lock", 31),
    }
    assert not [f for f in data["findings"] if f["rule_id"] == "deps/audit-incomplete"]
    fingerprints = [f["fingerprint"] for f in data["findings"]]
    assert len(set(fingerprints)) == len(fingerprints)


def _zip(target: Path, records: list[Path]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for record in records:
            zf.write(record, record.name)


def test_lock_files_against_offline_databases_per_ecosystem(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    by_prefix = {"Go": "GO-", "npm": "GHSA-", "crates.io": "RUSTSEC-"}
    for ecosystem, prefix in by_prefix.items():
        _zip(cache / "osv" / f"{ecosystem}-all.zip", sorted(LOCK_ADVISORIES.glob(f"{prefix}*.json")))
    env = {"AISEC_CACHE_DIR": str(cache)}
    code, data, err = run_scan(LOCKS, tmp_path / "out.json", env, "--offline", "--no-git")
    assert code == 0, err
    assert vulnerable(data) == EXPECTED
    assert {s for f in data["findings"] for s in f["properties"].get("sources", ())} == {"offline-db"}
    # each archive was indexed into a record store that says which ecosystem it holds
    assert len(list((cache / "osv" / "stores").glob("*.sqlite"))) == 3

    # without the npm archive, every npm package is unaudited: one finding per lock file, naming the fix
    (cache / "osv" / "npm-all.zip").unlink()
    code, data, err = run_scan(LOCKS, tmp_path / "out2.json", env, "--offline", "--no-git")
    assert code == 0, err
    assert {p for p, _line in vulnerable(data)} == {"go/go.mod", "go-legacy/go.sum", "cargo/Cargo.lock"}
    incomplete = {f["path"]: f for f in data["findings"] if f["rule_id"] == "deps/audit-incomplete"}
    assert sorted(incomplete) == [
        "npm-v1/package-lock.json",
        "npm-v3/package-lock.json",
        "pnpm-v5/pnpm-lock.yaml",
        "pnpm-v6/pnpm-lock.yaml",
        "pnpm-v9/pnpm-lock.yaml",
        "yarn-berry/yarn.lock",
        "yarn-classic/yarn.lock",
    ]
    v1 = incomplete["npm-v1/package-lock.json"]
    assert v1["start_line"] == 7 and v1["properties"]["ecosystem"] == "npm"
    assert "6 npm package(s) were not audited" in v1["message"]
    assert "aisec-ci db update --ecosystem npm" in v1["message"]


def test_the_pypi_only_fallbacks_never_call_a_lock_file_clean(tmp_path: Path) -> None:
    if not OSV_DATA.is_dir():
        pytest.skip("shared advisory data is absent")
    root = tmp_path / "repo"
    shutil.copytree(LOCKS / "cargo", root / "cargo")
    (root / "requirements.txt").write_text("pyyaml==5.3\n", encoding="utf-8")
    # the OSV API is down: the embedded (PyPI) snapshot answers for pyyaml, and for nothing else
    code, data, err = run_scan(root, tmp_path / "down.json", {"AISEC_OSV_URL": DEAD_URL}, "--no-git")
    assert code == 0, err
    rules = {(f["path"], f["rule_id"]) for f in data["findings"]}
    assert ("requirements.txt", "deps/vulnerable-package") in rules
    assert ("requirements.txt", "deps/stale-advisory-data") in rules
    assert ("cargo/Cargo.lock", "deps/audit-incomplete") in rules
    assert ("cargo/Cargo.lock", "deps/vulnerable-package") not in rules
    assert ("cargo/Cargo.lock", "deps/stale-advisory-data") not in rules
    cargo = next(
        f for f in data["findings"] if f["path"] == "cargo/Cargo.lock" and f["rule_id"] == "deps/audit-incomplete"
    )
    assert cargo["properties"]["packages"] == ["chrono@0.4.19", "libc@0.2.150", "safetensors@0.4.1", "time@0.1.44",
                                               "time@0.2.5", "time@0.3.30"]  # fmt: skip
    # an offline PyPI database: the same for the crates, with the command that fetches theirs
    env = {"AISEC_OSV_DB": str(OSV_DATA)}
    code, data, err = run_scan(root, tmp_path / "offline.json", env, "--offline", "--no-git")
    assert code == 0, err
    cargo = next(
        f for f in data["findings"] if f["path"] == "cargo/Cargo.lock" and f["rule_id"] == "deps/audit-incomplete"
    )
    assert "holds no crates.io advisories (run `aisec-ci db update --ecosystem crates.io`)" in cargo["message"]
    assert [f["path"] for f in data["findings"] if f["rule_id"] == "deps/vulnerable-package"] == ["requirements.txt"]


def test_sbom_lists_lock_file_packages_with_purls(lock_osv: FakeOsv, tmp_path: Path) -> None:
    sbom = tmp_path / "sbom.json"
    code, _data, err = run_scan(
        LOCKS, tmp_path / "out.json", {"AISEC_OSV_URL": lock_osv.url}, "--no-git", "--sbom", str(sbom)
    )
    assert code == 0, err
    doc = json.loads(sbom.read_text(encoding="utf-8"))
    purls = {c["purl"] for c in doc["components"]}
    assert "pkg:golang/golang.org/x/net@v0.0.0-20220722155237-a158d28d115b" in purls
    assert "pkg:golang/github.com/docker/docker@v24.0.7%2Bincompatible" in purls
    assert "pkg:npm/%40babel/core@7.23.0" in purls
    assert "pkg:npm/lodash@4.17.20" in purls and "pkg:npm/lodash@4.17.21" in purls
    assert {"pkg:cargo/time@0.1.44", "pkg:cargo/time@0.2.5", "pkg:cargo/time@0.3.30"} <= purls
    lodash = next(c for c in doc["components"] if c["purl"] == "pkg:npm/lodash@4.17.20")
    origins = sorted(p["value"] for p in lodash["properties"] if p["name"] == "aisec-ci:origin")
    assert "npm-v3/package-lock.json:39" in origins and "yarn-berry/yarn.lock:18" in origins


@pytest.fixture
def archive_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    with serve_files() as served:
        yield served


def test_db_update_per_ecosystem(archive_server: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    url, files = archive_server
    archive = tmp_path / "npm.zip"
    _zip(archive, sorted(LOCK_ADVISORIES.glob("GHSA-*.json")))
    files["/npm/all.zip"] = archive.read_bytes()
    cache = tmp_path / "cache"
    proc = subprocess.run(
        [sys.executable, "-m", "aisec_ci", "db", "update", "--cache-dir", str(cache), "--ecosystem", "npm",
         "--url", url + "/npm/all.zip"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    target = cache / "osv" / "npm-all.zip"
    assert proc.stdout.strip() == str(target)
    meta = json.loads(target.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["ecosystem"] == "npm" and meta["records"] == 3
    # a scan finds it in the cache by itself
    code, data, err = run_scan(LOCKS / "npm-v1", tmp_path / "out.json", {"AISEC_CACHE_DIR": str(cache)}, "--offline")
    assert code == 0, err
    assert vulnerable(data) == {
        ("package-lock.json", 7): ["GHSA-35jh-r3h4-6jhm", "GHSA-29mw-wpgm-hmr9"],
        ("package-lock.json", 25): ["GHSA-xvch-5gv4-984h"],
    }
    # one --url for several ecosystems is a usage error
    proc = subprocess.run(
        [sys.executable, "-m", "aisec_ci", "db", "update", "--cache-dir", str(cache), "--ecosystem", "npm",
         "--ecosystem", "Go", "--url", url + "/npm/all.zip"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "one --ecosystem" in proc.stderr


def test_with_no_offline_database_at_all_each_lock_file_names_its_own_fix(tmp_path: Path) -> None:
    env = {"AISEC_CACHE_DIR": str(tmp_path / "empty-cache")}
    code, data, err = run_scan(LOCKS, tmp_path / "out.json", env, "--offline", "--no-git")
    assert code == 0, err
    incomplete = {f["path"]: f["message"] for f in data["findings"] if f["rule_id"] == "deps/audit-incomplete"}
    assert "aisec-ci db update --ecosystem npm" in incomplete["npm-v3/package-lock.json"]
    assert "aisec-ci db update --ecosystem Go" in incomplete["go/go.mod"]
    assert "aisec-ci db update --ecosystem crates.io" in incomplete["cargo/Cargo.lock"]
