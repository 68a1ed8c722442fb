"""A network source that is down costs one request's attempts, not every batch's: the circuit
breaker and the lookup deadline, against real sockets on 127.0.0.1 (counting requests, not time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aisec_ci.scanners.deps.audit import run_audit
from aisec_ci.scanners.deps.services.breaker import Breaker, SourceDown, lookup_deadline
from aisec_ci.scanners.deps.services.interface import PackageVersion, ServiceUnavailable
from aisec_ci.scanners.deps.services.osv_api import OsvApiService
from aisec_ci.scanners.deps.services.pypi_index import PypiIndex
from aisec_ci.scanners.deps.services.snapshot import snapshot_records, snapshot_records_any
from tests.conftest import run_cli
from tests.scanners.deps.deps_support import DEAD_URL, BrokenServer, FakeOsv

P = PackageVersion
KNOWN_OFFLINE = {
    P("pyyaml", "5.3"): ["PYSEC-2020-96", "PYSEC-2021-142"],
    P("jinja2", "2.10"): ["PYSEC-2019-217", "PYSEC-2021-66"],
}
# Three querybatch requests' worth of pins (1,000 per request), two of them known to the snapshot.
PINS = sorted([*KNOWN_OFFLINE, *(P(f"internal-lib-{n}", "1.0") for n in range(2498))])


@pytest.fixture(params=["silent", "close"])
def broken(request: pytest.FixtureRequest) -> Iterator[BrokenServer]:
    server = BrokenServer(request.param)
    try:
        yield server
    finally:
        server.stop()


def _ids(result_advisories: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(a.id for a in result_advisories)


def test_a_down_osv_api_is_asked_for_the_first_batch_only(broken: BrokenServer) -> None:
    # Before the breaker each of the three batches paid every attempt: 9 requests.
    service = OsvApiService(broken.url, timeout=1, retries=2)
    result = run_audit(PINS, [service])
    assert broken.connections == 3 and service.requests_made == 3
    # everything falls back to the embedded snapshot, which still knows its advisories
    assert result.snapshot_only == set(PINS) and not result.unaudited
    for pv, expected in KNOWN_OFFLINE.items():
        assert _ids(result.advisories[pv]) == expected
    down = [n for n in result.notes if "osv-api unavailable" in n]
    assert len(down) == 1 and "(after 3 attempts); not asked again this run" in down[0]
    assert any("checked only against the embedded advisory snapshot" in n for n in result.notes)
    assert "not asked again" in result.fallback_reasons[P("pyyaml", "5.3")]


def test_a_refused_port_is_tried_once_per_attempt_not_per_batch() -> None:
    service = OsvApiService(DEAD_URL, retries=2)
    result = run_audit(PINS, [service])
    assert service.requests_made == 3
    assert result.snapshot_only == set(PINS)
    assert _ids(result.advisories[P("jinja2", "2.10")]) == KNOWN_OFFLINE[P("jinja2", "2.10")]
    assert any("connection refused" in n and "not asked again" in n for n in result.notes)


def test_a_source_that_fails_midway_leaves_only_the_rest_to_the_snapshot(osv: FakeOsv) -> None:
    # The first batch is answered, then the server errors: the second batch uses its two attempts,
    # the third is not sent at all.
    first = [*KNOWN_OFFLINE, *(P(f"internal-lib-{n}", "1.0") for n in range(998))]
    pins = first + [P(f"later-lib-{n}", "1.0") for n in range(1500)]

    class FailAfterFirst(OsvApiService):
        def _querybatch(self, chunk: list[PackageVersion]) -> dict[PackageVersion, list[tuple[str, str]]]:
            if self.requests_made >= 1:
                osv.fail_next = 100
            return super()._querybatch(chunk)

    service = FailAfterFirst(osv.url, retries=1, known=snapshot_records)
    answer = service.audit(pins)
    assert osv.hits["/v1/querybatch"] == 3  # 1 answered + 2 attempts of the second batch; none for the third
    assert len(answer.failed) == len(pins) - 1000
    assert _ids(answer.advisories[P("pyyaml", "5.3")]) == KNOWN_OFFLINE[P("pyyaml", "5.3")]
    assert any(n.startswith(f"OSV API: {len(pins) - 1000} of {len(pins)} package(s) not checked") for n in answer.notes)


def test_detail_fetches_stop_after_one_exhausted_request_and_use_the_snapshot_copy(osv: FakeOsv) -> None:
    # Records whose revision changed since the snapshot must be fetched; the server drops every fetch.
    changed = ["PYSEC-2019-217", "PYSEC-2021-66", "PYSEC-2020-96", "PYSEC-2021-142"]
    old = {vid: osv.records[vid]["modified"] for vid in changed}
    for vid in changed:
        osv.records[vid]["modified"] = "2099-01-01T00:00:00Z"
    osv.drop_prefix = "/v1/vulns/"
    try:
        service = OsvApiService(osv.url, retries=1, workers=1, known=snapshot_records, older=snapshot_records_any)
        answer = service.audit(sorted(KNOWN_OFFLINE))
    finally:
        for vid, stamp in old.items():
            osv.records[vid]["modified"] = stamp
    # two attempts for the first record, then no request for the other three (before: eight)
    assert sum(n for path, n in osv.hits.items() if path.startswith("/v1/vulns/")) == 2
    for pv, expected in KNOWN_OFFLINE.items():
        found = answer.advisories[pv]
        assert _ids(found) == expected
        assert all(a.summary and not a.summary.startswith("(details unavailable") for a in found)
    assert any(
        "4 advisory record(s) could not be fetched" in n and "4 described by the embedded snapshot's copy" in n
        for n in answer.notes
    )


def test_a_down_pypi_index_is_not_asked_for_every_pin(broken: BrokenServer, tmp_path: Path) -> None:
    pins = [P(f"internal-lib-{n}", "1.0") for n in range(40)]
    index = PypiIndex(broken.url, timeout=1, cache_dir=tmp_path, workers=1)
    absent, notes = index.missing(pins)
    assert broken.connections == 5 and index.requests_made == 5  # before: 40
    assert absent == {}
    assert notes[0].startswith(f"PyPI index {broken.url} did not answer for 40 pin(s)")
    assert "was not asked again this run (5 requests in a row failed" in notes[1]


def test_the_lookup_deadline_from_the_environment_bounds_a_silent_osv_api(tmp_path: Path) -> None:
    server = BrokenServer("silent")
    try:
        repo = tmp_path / "repo"
        repo.mkdir()
        pins = "".join(f"internal-lib-{n}==1.0\n" for n in range(2100))
        (repo / "requirements.txt").write_text("pyyaml==5.3\n" + pins, encoding="utf-8")
        out = tmp_path / "out.json"
        # timeout 15 s and 2 retries per request, but 1 s for the whole lookup: one request, cut short
        proc = run_cli(
            "scan", repo, "--scanners", "deps", "--format", "json", "--output", out, "--fail-on", "none",
            env={"AISEC_OSV_URL": server.url, "AISEC_DEPS_DEADLINE": "1"},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert server.connections == 1
    finally:
        server.stop()
    data = json.loads(out.read_text(encoding="utf-8"))
    found = {(f["rule_id"], f["properties"].get("advisory_id", "")) for f in data["findings"]}
    assert any(rule == "deps/vulnerable-package" for rule, _ in found)
    assert any(rule == "deps/stale-advisory-data" for rule, _ in found)
    notes = "\n".join(data["notes"]) if isinstance(data["notes"], list) else str(data["notes"])
    assert "the 1 s deadline for the whole lookup passed" in notes


def test_breaker_opens_on_consecutive_failures_and_at_the_deadline() -> None:
    now = [0.0]
    breaker = Breaker(deadline=10, threshold=3, clock=lambda: now[0])
    breaker.failed("x")
    breaker.failed("y")
    breaker.succeeded()  # an answer in between: the source is flaky, not down
    breaker.failed("a")
    breaker.failed("b")
    breaker.check()
    breaker.failed("c")
    with pytest.raises(SourceDown, match="3 requests in a row failed, the last: c"):
        breaker.check()
    late = Breaker(deadline=10, clock=lambda: now[0])
    now[0] = 9.5
    late.check()
    assert late.remaining() == pytest.approx(0.5)
    now[0] = 10.0
    with pytest.raises(SourceDown, match="10 s deadline"):
        late.check()


def test_deadline_option_and_environment() -> None:
    assert lookup_deadline({}, {}) == 120
    assert lookup_deadline({}, {"AISEC_DEPS_DEADLINE": "30"}) == 30
    assert lookup_deadline({"deadline": 5}, {"AISEC_DEPS_DEADLINE": "30"}) == 5
    assert lookup_deadline({}, {"AISEC_DEPS_DEADLINE": "soon"}) == 120


def test_an_unusable_url_is_still_unavailable_at_once() -> None:
    with pytest.raises(ServiceUnavailable, match="not an http"):
        OsvApiService("ftp://example.org").audit(PINS[:3])
