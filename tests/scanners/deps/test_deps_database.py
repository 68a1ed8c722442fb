"""`db update` downloads and checks all.zip; the embedded snapshot rebuilds byte for byte."""

from __future__ import annotations

import gzip
import io
import json
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from deps_support import OSV_DATA, REPO

from aisec_ci.scanners.deps.database import DatabaseError, update
from aisec_ci.scanners.deps.services.interface import PackageVersion
from aisec_ci.scanners.deps.services.offline_db import OfflineDbService

SHIPPED = REPO / "aisec_ci" / "scanners" / "deps" / "data" / "pypi-advisories.json.gz"


def osv_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("PYSEC-2020-96", "PYSEC-2021-142", "PYSEC-2023-192"):
            zf.write(OSV_DATA / f"{name}.json", f"{name}.json")
    return buf.getvalue()


@pytest.fixture
def file_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files
    finally:
        server.shutdown()
        server.server_close()


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
    with pytest.raises(DatabaseError, match="cannot download"):
        update(tmp_path, "http://127.0.0.1:9/all.zip")
    assert good.read_bytes() == before
    assert sorted(p.name for p in good.parent.iterdir()) == ["PyPI-all.json", "PyPI-all.zip"]


def test_shipped_snapshot_rebuilds_identically_from_the_shared_data(tmp_path: Path) -> None:
    if not OSV_DATA.is_dir():
        pytest.skip("shared advisory data is absent")
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import build_deps_snapshot  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(REPO / "tools"))
    out = tmp_path / "snap.json.gz"
    assert build_deps_snapshot.main([str(OSV_DATA), str(out), "--date", "2024-10-10"]) == 0
    assert out.read_bytes() == SHIPPED.read_bytes()
    data = json.loads(gzip.decompress(SHIPPED.read_bytes()))
    assert data["meta"]["license"] == "CC-BY-4.0" and data["meta"]["date"] == "2024-10-10"
    ids = {r["id"] for r in data["records"]}
    assert "PYSEC-2023-73" not in ids  # withdrawn records are left out
    assert len(ids) == 2661 - 10
