"""Vulnerability sources against real local servers and files: OSV API, offline DB, pip-audit, safety."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.audit import merge_advisories, run_audit
from aisec_ci.scanners.deps.services import local_records
from aisec_ci.scanners.deps.services.detail_cache import CACHE_FILE
from aisec_ci.scanners.deps.services.interface import PackageVersion, ServiceUnavailable
from aisec_ci.scanners.deps.services.offline_db import OfflineDbService
from aisec_ci.scanners.deps.services.osv_api import OsvApiService
from aisec_ci.scanners.deps.services.pip_audit import PipAuditService
from aisec_ci.scanners.deps.services.safety import SafetyService
from aisec_ci.scanners.deps.services.snapshot import snapshot_records
from tests.call_budget import count_calls
from tests.scanners.deps.deps_support import DEAD_URL, OSV_DATA, SAFETY_DB, FakeOsv

P = PackageVersion
SAMPLE = [P("urllib3", "1.26.4"), P("pyyaml", "5.3"), P("requests", "2.32.3"), P("jinja2", "2.10")]


def thousand_pins(server: FakeOsv) -> list[PackageVersion]:
    names = sorted(server.index.by_package)
    pins = [P(name, v) for name in names for v in ("0.0.1", "99.0")]
    return pins[:1000]


def detail_hits(server: FakeOsv) -> list[str]:
    return sorted(path for path, n in server.hits.items() for _ in range(n) if path.startswith("/v1/vulns/"))


def ids(answer_advisories: list[Advisory]) -> list[str]:
    return [a.id for a in answer_advisories]


def test_osv_api_batches_1000_pins_in_one_query_request(osv: FakeOsv, tmp_path: Path) -> None:
    pins = thousand_pins(osv)
    service = OsvApiService(osv.url, cache_dir=tmp_path)
    answer = service.audit(pins)
    assert osv.hits["/v1/querybatch"] == 1
    assert not answer.failed
    expected = {pv: sorted(r["id"] for r in osv.matches(pv.name, pv.version)) for pv in pins}
    assert {pv: ids(v) for pv, v in answer.advisories.items()} == expected
    assert sum(len(v) for v in expected.values()) > 100  # the comparison is not vacuous
    # details are cached by id and `modified`: a second run needs the batch request only
    osv.reset()
    again = OsvApiService(osv.url, cache_dir=tmp_path).audit(pins)
    assert sum(osv.hits.values()) == 1
    assert {pv: ids(v) for pv, v in again.advisories.items()} == expected


def test_osv_api_reuses_snapshot_records_at_the_same_revision(osv: FakeOsv, tmp_path: Path) -> None:
    # The local server answers from the data the snapshot was built from, so every matched
    # advisory is held at the same `modified` stamp: 1,000 pins cost one request in all.
    pins = thousand_pins(osv)
    service = OsvApiService(osv.url, cache_dir=tmp_path, known=snapshot_records)
    answer = service.audit(pins)
    assert dict(osv.hits) == {"/v1/querybatch": 1}
    expected = {pv: sorted(r["id"] for r in osv.matches(pv.name, pv.version)) for pv in pins}
    assert {pv: ids(v) for pv, v in answer.advisories.items()} == expected
    assert service.details_fetched == 0 and service.details_reused > 100
    # the compact snapshot copy yields the same advisories as the full records fetched over HTTP
    sample = [pv for pv in pins if expected[pv]][:40]
    fetched = OsvApiService(osv.url).audit(sample).advisories
    reused = OsvApiService(osv.url, known=snapshot_records).audit(sample).advisories
    assert fetched == reused


def test_osv_api_fetches_a_record_whose_revision_changed(osv: FakeOsv, tmp_path: Path) -> None:
    record = osv.records["PYSEC-2019-217"]
    old = record["modified"]
    record["modified"] = "2099-01-01T00:00:00Z"
    try:
        service = OsvApiService(osv.url, cache_dir=tmp_path, known=snapshot_records)
        answer = service.audit([P("jinja2", "2.10")])
        assert detail_hits(osv) == [
            "/v1/vulns/PYSEC-2019-217"
        ]  # only the changed record; PYSEC-2021-66 came from the snapshot
        assert ids(answer.advisories[P("jinja2", "2.10")]) == ["PYSEC-2019-217", "PYSEC-2021-66"]
        assert service.details_fetched == 1 and service.details_reused == 1
        # fetched once, then served from the disk cache at its new revision
        osv.reset()
        OsvApiService(osv.url, cache_dir=tmp_path, known=snapshot_records).audit([P("jinja2", "2.10")])
        assert dict(osv.hits) == {"/v1/querybatch": 1}
    finally:
        record["modified"] = old


def test_a_junk_detail_cache_is_replaced_and_never_costs_the_audit(osv: FakeOsv, tmp_path: Path) -> None:
    cache = tmp_path / CACHE_FILE
    cache.write_bytes(b"not a database at all" * 50)
    first = OsvApiService(osv.url, cache_dir=tmp_path).audit([P("jinja2", "2.10")])
    assert ids(first.advisories[P("jinja2", "2.10")]) == ["PYSEC-2019-217", "PYSEC-2021-66"]
    assert len(detail_hits(osv)) == 2
    # the junk was dropped and the fetched records stored in a fresh cache: no detail requests now
    osv.reset()
    again = OsvApiService(osv.url, cache_dir=tmp_path).audit([P("jinja2", "2.10")])
    assert dict(osv.hits) == {"/v1/querybatch": 1}
    assert again.advisories == first.advisories


def test_osv_api_details_and_fixes(osv: FakeOsv) -> None:
    answer = OsvApiService(osv.url).audit(SAMPLE)
    urllib3 = {a.id: a for a in answer.advisories[P("urllib3", "1.26.4")]}
    assert set(urllib3) == {"PYSEC-2021-108", "PYSEC-2023-192", "PYSEC-2023-212"}
    assert urllib3["PYSEC-2023-192"].fixed == ("1.26.17", "2.0.6")
    assert "CVE-2023-43804" in urllib3["PYSEC-2023-192"].aliases
    assert answer.advisories[P("requests", "2.32.3")] == []


def test_osv_api_retries_a_server_error(osv: FakeOsv) -> None:
    osv.fail_next = 1
    answer = OsvApiService(osv.url, retries=2).audit(SAMPLE)
    assert osv.hits["/v1/querybatch"] == 2
    assert ids(answer.advisories[P("jinja2", "2.10")]) == ["PYSEC-2019-217", "PYSEC-2021-66"]


def test_osv_api_down_slow_or_refusing(osv: FakeOsv) -> None:
    osv.fail_next = 10
    with pytest.raises(ServiceUnavailable, match="HTTP 503"):
        OsvApiService(osv.url, retries=1).audit(SAMPLE)
    osv.reset()
    osv.delay = 1.5
    # The server answers after 1.5 s, so an answer at all would mean the 0.3 s timeout was
    # not kept; one request means no retry stretched the wait (counted, not timed).
    with pytest.raises(ServiceUnavailable, match=r"within 0\.3 s"):
        OsvApiService(osv.url, timeout=0.3, retries=0).audit(SAMPLE)
    assert dict(osv.hits) == {"/v1/querybatch": 1}
    osv.reset()
    with pytest.raises(ServiceUnavailable, match="cannot reach"):
        OsvApiService(DEAD_URL, retries=0).audit(SAMPLE)


def test_unreachable_sources_fall_back_to_the_snapshot_and_never_say_clean() -> None:
    result = run_audit(SAMPLE, [OsvApiService(DEAD_URL, retries=0)])
    assert result.snapshot_only == set(SAMPLE)
    assert result.snapshot_date == "2024-10-10"
    assert ids(result.advisories[P("pyyaml", "5.3")]) == ["PYSEC-2020-96", "PYSEC-2021-142"]
    assert any("cannot reach" in n for n in result.notes)
    bare = run_audit(SAMPLE, [OsvApiService(DEAD_URL, retries=0)], use_snapshot=False)
    assert set(bare.unaudited) == set(SAMPLE) and not bare.advisories
    assert all("osv-api" in why and "cannot reach" in why for why in bare.unaudited.values())


def test_offline_db_directory_and_zip_agree(tmp_path: Path) -> None:
    if not OSV_DATA.is_dir():
        pytest.skip("shared advisory data is absent")
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(OSV_DATA.glob("*.json")):
            zf.write(path, path.name)
        zf.writestr("broken.json", "{not json")
    from_dir = OfflineDbService(OSV_DATA).audit(SAMPLE)
    from_zip = OfflineDbService(archive).audit(SAMPLE)
    assert {k: ids(v) for k, v in from_dir.advisories.items()} == {k: ids(v) for k, v in from_zip.advisories.items()}
    assert ids(from_zip.advisories[P("urllib3", "1.26.4")]) == ["PYSEC-2021-108", "PYSEC-2023-192", "PYSEC-2023-212"]
    assert from_zip.notes == ["offline database all.zip: 1 unreadable record(s) ignored"]


def test_offline_db_thousand_pins_under_two_seconds(osv_server: FakeOsv, monkeypatch: pytest.MonkeyPatch) -> None:
    # Counted, not timed (the wall time is in bench/bench_deps.py): every record file is read
    # once, and each pin is matched only against the records of its own name, which for
    # 500 names at two versions each is at most twice the records (every pin against every
    # record would be 1,000 times).
    pins = thousand_pins(osv_server)
    records = len(list(OSV_DATA.rglob("*.json")))
    reads = count_calls(monkeypatch, Path, "read_text", limit=records)
    checks = count_calls(monkeypatch, local_records, "is_affected", limit=2 * records)
    answer = OfflineDbService(OSV_DATA).audit(pins)
    assert len(answer.advisories) == 1000
    assert reads.calls == records and 1000 <= checks.calls <= 2 * records


def test_corrupt_or_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    corrupt = tmp_path / "all.zip"
    corrupt.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 100)
    with pytest.raises(ServiceUnavailable, match=r"all\.zip is not a readable zip"):
        OfflineDbService(corrupt).audit(SAMPLE)
    with pytest.raises(ServiceUnavailable, match="does not exist"):
        OfflineDbService(tmp_path / "nope.zip").audit(SAMPLE)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ServiceUnavailable, match="holds no OSV JSON"):
        OfflineDbService(empty).audit(SAMPLE)


def test_merge_deduplicates_by_id_and_alias_across_sources() -> None:
    merged = merge_advisories(
        [
            Advisory(id="PYSEC-2020-96", aliases=("CVE-2020-1747",), fixed=("5.3.1",), sources=("osv-api",)),
            Advisory(id="CVE-2020-1747", fixed=("5.3.1",), summary="from safety", sources=("safety",)),
            Advisory(id="GHSA-6757-jp84-gxfx", aliases=("CVE-2020-1747",), sources=("pip-audit",)),
            Advisory(id="PYSEC-2021-142", sources=("osv-api",)),
        ]
    )
    assert [a.id for a in merged] == ["PYSEC-2020-96", "PYSEC-2021-142"]
    assert merged[0].aliases == ("CVE-2020-1747", "GHSA-6757-jp84-gxfx")
    assert merged[0].sources == ("osv-api", "pip-audit", "safety")


def test_pip_audit_engine_against_the_local_osv_server(osv: FakeOsv) -> None:
    pins = [*SAMPLE, P("weird", "1.0-custom-build"), P("urllib3", "2.0.7")]
    answer = PipAuditService(osv.url, timeout=10).audit(pins)
    assert osv.hits["/v1/query"] == 5  # one package per request; two urllib3 versions in two runs
    assert ids(answer.advisories[P("urllib3", "2.0.7")]) == []
    assert ids(answer.advisories[P("urllib3", "1.26.4")]) == ["PYSEC-2021-108", "PYSEC-2023-192", "PYSEC-2023-212"]
    assert answer.advisories[P("requests", "2.32.3")] == []
    assert "non-PEP 440" in answer.failed[P("weird", "1.0-custom-build")]
    fix = {a.id: a.fixed for a in answer.advisories[P("pyyaml", "5.3")]}
    assert fix["PYSEC-2020-96"] == ("5.3.1",)


def test_pip_audit_failure_is_an_error_not_a_pass() -> None:
    with pytest.raises(ServiceUnavailable, match="pip-audit exited"):
        PipAuditService(DEAD_URL, timeout=2).audit(SAMPLE)


def test_safety_check_with_a_local_database_and_auth_stub(osv: FakeOsv) -> None:
    if not SAFETY_DB.is_dir():
        pytest.skip("shared safety database is absent")
    answer = SafetyService(db_dir=SAFETY_DB, auth_url=osv.url, timeout=30).audit(SAMPLE)
    assert osv.hits["/.well-known/openid-configuration"] >= 1
    assert ids(answer.advisories[P("jinja2", "2.10")]) == ["PYSEC-2019-217", "PYSEC-2021-66"]
    assert answer.advisories[P("requests", "2.32.3")] == []


def test_safety_without_database_or_key_is_skipped_with_a_reason() -> None:
    with pytest.raises(ServiceUnavailable, match="safety was skipped"):
        SafetyService().audit(SAMPLE)


def test_safety_rejects_a_legacy_schema_database(osv: FakeOsv, tmp_path: Path) -> None:
    legacy = tmp_path / "db"
    legacy.mkdir()
    (legacy / "insecure.json").write_text(json.dumps({"$meta": {"schema_version": "1.0"}, "jinja2": ["<2.10.1"]}))
    (legacy / "insecure_full.json").write_text(json.dumps({"$meta": {"schema_version": "1.0"}}))
    with pytest.raises(ServiceUnavailable, match="safety exited"):
        SafetyService(db_dir=legacy, auth_url=osv.url, timeout=20).audit(SAMPLE)
