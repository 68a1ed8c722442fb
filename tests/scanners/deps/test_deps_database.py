"""`db update` downloads and checks all.zip; the embedded snapshot rebuilds byte for byte."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aisec_ci.scanners.deps.database import DatabaseError, update
from aisec_ci.scanners.deps.services.interface import PackageVersion, ServiceUnavailable
from aisec_ci.scanners.deps.services.offline_db import OfflineDbService, store_path
from aisec_ci.scanners.deps.services.record_store import RecordStore, write_store
from tests.scanners.deps.deps_support import OSV_DATA, REPO, serve_files

SHIPPED = REPO / "aisec_ci" / "scanners" / "deps" / "data" / "pypi-advisories.sqlite"


def osv_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("PYSEC-2020-96", "PYSEC-2021-142", "PYSEC-2023-192"):
            zf.write(OSV_DATA / f"{name}.json", f"{name}.json")
    return buf.getvalue()


@pytest.fixture
def file_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    with serve_files() as served:
        yield served


def test_update_downloads_checks_and_serves_the_offline_source(
    file_server: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    if not OSV_DATA.is_dir():
        pytest.skip("shared advisory data is absent")
    url, files = file_server
    files["/PyPI/all.zip"] = osv_zip()
    path = update(tmp_path, url + "/PyPI/all.zip")
    assert path == tmp_path / "osv" / "PyPI-all.zip"
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["records"] == 3 and meta["url"].endswith("/PyPI/all.zip")
    answer = OfflineDbService(path).audit([PackageVersion("pyyaml", "5.3")])
    assert [a.id for a in answer.advisories[PackageVersion("pyyaml", "5.3")]] == ["PYSEC-2020-96", "PYSEC-2021-142"]


def test_a_bad_download_never_replaces_a_good_database(
    file_server: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    if not OSV_DATA.is_dir():
        pytest.skip("shared advisory data is absent")
    url, files = file_server
    files["/good.zip"] = osv_zip()
    files["/corrupt.zip"] = osv_zip()[:200]
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("README.txt", "nothing here")
    files["/empty.zip"] = empty.getvalue()
    good = update(tmp_path, url + "/good.zip")
    before = good.read_bytes()
    with pytest.raises(DatabaseError, match="valid zip"):
        update(tmp_path, url + "/corrupt.zip")
    with pytest.raises(DatabaseError, match="without OSV JSON"):
        update(tmp_path, url + "/empty.zip")
    with pytest.raises(DatabaseError, match="HTTP 404"):
        update(tmp_path, url + "/missing.zip")
    with pytest.raises(DatabaseError, match=r"cannot reach 127\.0\.0\.1 to download"):
        update(tmp_path, "http://127.0.0.1:9/all.zip")
    assert good.read_bytes() == before
    assert sorted(p.name for p in good.parent.iterdir()) == ["PyPI-all.json", "PyPI-all.zip", "stores"]
    assert store_path(good, tmp_path).is_file()  # indexed at download time, for the first offline scan


def test_an_unreachable_host_is_named_and_leaves_no_empty_folder(tmp_path: Path) -> None:
    cache = tmp_path / "fresh" / "cache"
    with pytest.raises(DatabaseError, match=r"cannot reach 127\.0\.0\.1") as caught:
        update(cache, "http://127.0.0.1:9/all.zip")
    assert "AISEC_OSV_DB" in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither fresh/ nor fresh/cache/osv/ stays


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = sqlite3.connect(path)
    try:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {
            n: con.execute(f"SELECT * FROM {n} ORDER BY 1, 2" if n != "zdict" else "SELECT * FROM zdict").fetchall()
            for n in names
        }
    finally:
        con.close()


def test_shipped_snapshot_rebuilds_identically_from_the_shared_data(tmp_path: Path) -> None:
    if not OSV_DATA.is_dir():
        pytest.skip("shared advisory data is absent")
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import build_deps_snapshot  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(REPO / "tools"))
    out = tmp_path / "snap.sqlite"
    assert build_deps_snapshot.main([str(OSV_DATA), str(out), "--date", "2024-10-10"]) == 0
    # Row for row (the file's header also records the SQLite library version that wrote it).
    assert _tables(out) == _tables(SHIPPED)
    store = RecordStore(SHIPPED)
    assert store.meta["license"] == "CC-BY-4.0" and store.meta["date"] == "2024-10-10"
    ids = {vid for (vid,) in sqlite3.connect(SHIPPED).execute("SELECT id FROM records")}
    assert "PYSEC-2023-73" not in ids  # withdrawn records are left out
    assert len(ids) == 2661 - 10
    # Every stored record decodes to the compacted form of its source file.
    for vid in ("PYSEC-2020-96", "PYSEC-2005-1"):
        source = json.loads((OSV_DATA / f"{vid}.json").read_text(encoding="utf-8"))
        assert store.records_at([(vid, source["modified"])]) == {vid: build_deps_snapshot.compact(source)}
        assert store.records_at([(vid, "2000-01-01T00:00:00Z")]) == {}  # another revision is not this one


def test_a_damaged_store_is_a_clear_error_and_a_damaged_row_costs_one_record(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ServiceUnavailable, match=r"junk\.sqlite"):
        RecordStore(junk)

    records = [
        {"id": f"TEST-{n}", "modified": "2024-01-01T00:00:00Z", "affected": [
            {"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"}, "versions": ["1.0"]}]}
        for n in (1, 2)
    ] + [{"id": "TEST-3", "withdrawn": "2024-02-01T00:00:00Z", "affected": []}]  # fmt: skip
    store_path = tmp_path / "store.sqlite"
    assert write_store(store_path, records, {"date": "2024-01-01"}) == 2
    con = sqlite3.connect(store_path)
    with con:
        con.execute("UPDATE records SET body = ? WHERE id = 'TEST-2'", (b"garbage",))
    con.close()
    store = RecordStore(store_path)
    answer = store.audit("offline-db", [PackageVersion("demo-pkg", "1.0")])
    assert [a.id for a in answer.advisories[PackageVersion("demo-pkg", "1.0")]] == ["TEST-1"]
    both = [("TEST-1", "2024-01-01T00:00:00Z"), ("TEST-2", "2024-01-01T00:00:00Z")]
    assert list(store.records_at(both)) == ["TEST-1"]


def test_an_all_zip_is_indexed_once_reused_and_rebuilt_when_it_changes(tmp_path: Path) -> None:
    if not OSV_DATA.is_dir():
        pytest.skip("shared advisory data is absent")
    archive = tmp_path / "PyPI-all.zip"
    archive.write_bytes(osv_zip())
    cache = tmp_path / "cache"
    pins = [PackageVersion("pyyaml", "5.3"), PackageVersion("urllib3", "1.26.4")]
    expected = OfflineDbService(archive).audit(pins).advisories  # read in full, no cache

    assert OfflineDbService(archive, cache_dir=cache).audit(pins).advisories == expected
    store = store_path(archive, cache)
    built = store.stat().st_mtime_ns
    assert OfflineDbService(archive, cache_dir=cache).audit(pins).advisories == expected
    assert store.stat().st_mtime_ns == built  # reused, not rebuilt

    # A new download (different size and time) replaces the index.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(OSV_DATA / "PYSEC-2020-96.json", "PYSEC-2020-96.json")
    archive.write_bytes(buf.getvalue())
    smaller = OfflineDbService(archive, cache_dir=cache).audit(pins).advisories
    assert [a.id for a in smaller[pins[0]]] == ["PYSEC-2020-96"] and smaller[pins[1]] == []

    # A damaged index is rebuilt; a cache that cannot be written falls back to reading the archive.
    store.write_bytes(b"junk" * 100)
    assert [a.id for a in OfflineDbService(archive, cache_dir=cache).audit(pins).advisories[pins[0]]] == [
        "PYSEC-2020-96"
    ]
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory should be")
    assert OfflineDbService(archive, cache_dir=blocked).audit(pins).advisories == smaller
