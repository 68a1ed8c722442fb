"""Version order and OSV range matching for Go, npm and crates.io (SemVer, Go pseudo-versions)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from aisec_ci.scanners.deps.audit import merge_advisories
from aisec_ci.scanners.deps.matching import advisory_from_osv, fixed_versions, is_affected, smallest_fix_above
from aisec_ci.scanners.deps.versions import BOTTOM, audit_version, parse_semver, sort_key
from tests.scanners.deps.deps_support import LOCK_ADVISORIES


def real(vid: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((LOCK_ADVISORIES / f"{vid}.json").read_text(encoding="utf-8"))
    return loaded


def record(ecosystem: str, name: str, *ranges: dict[str, Any], versions: tuple[str, ...] = ()) -> dict[str, Any]:
    """A synthetic record (TEST- id) for rules no real advisory in the fixtures exercises."""
    entry: dict[str, Any] = {"package": {"ecosystem": ecosystem, "name": name}, "ranges": list(ranges)}
    if versions:
        entry["versions"] = list(versions)
    return {"id": "TEST-1", "modified": "2024-01-01T00:00:00Z", "affected": [entry]}


def semver_range(*events: dict[str, str], kind: str = "SEMVER") -> dict[str, Any]:
    return {"type": kind, "events": list(events)}


def test_semver_precedence() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0"]  # fmt: skip
    parsed = [parse_semver(v) for v in ordered]
    assert all(a < b for a, b in itertools.pairwise(parsed))
    # build metadata has no precedence
    assert not parse_semver("1.2.3+build.5") < parse_semver("1.2.3")
    assert not parse_semver("1.2.3") < parse_semver("1.2.3+build.5")


def test_go_pseudo_versions_sort_between_their_tags() -> None:
    base = parse_semver("v0.0.0-20220225172249-27dd8689420f")  # no tag before it
    after_tag = parse_semver("v0.4.1-0.20220101000000-abcdef123456")  # a commit after v0.4.0
    assert base < parse_semver("v0.0.1") and base < parse_semver("0.7.0")
    assert parse_semver("v0.4.0") < after_tag < parse_semver("v0.4.1")
    assert parse_semver("v0.0.0-20220722155237-a158d28d115b") < parse_semver("v0.0.0-20220906165146-f3363e06e74c")
    # `introduced: "0"` is below even the 0.0.0 pseudo-versions (which sort below 0.0.0 itself)
    assert base < parse_semver("0.0.0") and base > BOTTOM and not base < BOTTOM


@pytest.mark.parametrize("text", ["1.x", "1.2", "1.2.3.4", "01.2.3", "latest", "", "*", "1.2.3-", "v"])
def test_versions_outside_the_semver_grammar_are_not_ordered(text: str) -> None:
    # univers alone would coerce `1.x` into 1.0.0+x and `1.2.3.4` into 1.2.3+4
    assert parse_semver(text) is None


def test_go_versions_are_asked_about_without_their_v() -> None:
    assert audit_version("Go", "v1.2.3") == "1.2.3"
    assert audit_version("Go", "v2.3.4+incompatible") == "2.3.4+incompatible"
    assert audit_version("npm", "v1.2.3") == "v1.2.3"  # only Go's data drops it
    assert audit_version("PyPI", "1.0") == "1.0"


def test_go_advisory_fixed_at_a_pseudo_version() -> None:
    rec = real("GO-2022-0969")  # golang.org/x/net fixed in 0.0.0-20220906165146-f3363e06e74c
    assert is_affected(rec, "golang.org/x/net", "0.0.0-20220722155237-a158d28d115b", "Go")
    assert not is_affected(rec, "golang.org/x/net", "0.0.0-20220906165146-f3363e06e74c", "Go")
    assert not is_affected(rec, "golang.org/x/net", "0.0.0-20221004154528-8021a29435af", "Go")
    assert not is_affected(rec, "golang.org/x/net", "0.7.0", "Go")  # every tag is after the fix
    # module paths are exact: another module or another ecosystem's name does not match
    assert not is_affected(rec, "golang.org/x/net/http2", "0.0.0-20220722155237-a158d28d115b", "Go")
    assert not is_affected(rec, "golang.org/x/net", "0.0.0-20220722155237-a158d28d115b", "npm")
    assert fixed_versions(rec, "golang.org/x/net", "Go") == ("0.0.0-20220906165146-f3363e06e74c",)
    # stdlib's own entry of the record does not leak into the module's fixes
    assert fixed_versions(rec, "stdlib", "Go") == ("1.18.6", "1.19.1")


def test_two_ranges_and_a_gap() -> None:
    minimist = real("GHSA-xvch-5gv4-984h")  # < 0.2.4, and >= 1.0.0 < 1.2.6, in two entries
    assert [
        v for v in ("0.0.8", "0.2.4", "1.0.0", "1.2.5", "1.2.6", "1.2.8") if is_affected(minimist, "minimist", v, "npm")
    ] == [
        "0.0.8",
        "1.0.0",
        "1.2.5",
    ]
    time = real("RUSTSEC-2020-0071")  # introduced 0.0.0-0, fixed 0.2.0, introduced 0.2.7, fixed 0.2.23
    assert [
        v
        for v in ("0.1.44", "0.2.0", "0.2.5", "0.2.7", "0.2.22", "0.2.23", "0.3.30")
        if is_affected(time, "time", v, "crates.io")
    ] == [
        "0.1.44",
        "0.2.7",
        "0.2.22",
    ]
    assert fixed_versions(time, "time", "crates.io") == ("0.2.0", "0.2.23")
    assert smallest_fix_above(("0.2.0", "0.2.23"), "0.1.44", "crates.io") == "0.2.0"
    assert smallest_fix_above(("0.2.0", "0.2.23"), "0.2.7", "crates.io") == "0.2.23"


def test_semver_and_ecosystem_ranges_both_count_outside_pypi() -> None:
    events = ({"introduced": "1.0.0"}, {"fixed": "1.4.0"})
    for kind in ("SEMVER", "ECOSYSTEM"):
        rec = record("npm", "left-pad", semver_range(*events, kind=kind))
        assert is_affected(rec, "left-pad", "1.3.0", "npm")
        assert not is_affected(rec, "left-pad", "1.4.0", "npm")
        assert fixed_versions(rec, "left-pad", "npm") == ("1.4.0",)
    git = record("npm", "left-pad", {"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}]})
    assert not is_affected(git, "left-pad", "1.3.0", "npm")
    # PyPI reads ECOSYSTEM ranges alone, as it always has
    pypi = record("PyPI", "demo", semver_range(*events))
    assert not is_affected(pypi, "demo", "1.3.0")


def test_prereleases_last_affected_and_limit() -> None:
    rec = record("npm", "tfjs", semver_range({"introduced": "2.0.0-rc.1"}, {"last_affected": "2.1.0"}))
    assert not is_affected(rec, "tfjs", "2.0.0-beta.9", "npm")  # beta < rc
    assert is_affected(rec, "tfjs", "2.0.0-rc.1", "npm")
    assert is_affected(rec, "tfjs", "2.1.0", "npm")  # last_affected is inclusive
    assert not is_affected(rec, "tfjs", "2.1.1-0", "npm")
    limited = record("crates.io", "x", semver_range({"introduced": "0"}, {"limit": "1.0.0"}))
    assert is_affected(limited, "x", "0.9.9", "crates.io") and not is_affected(limited, "x", "1.0.0", "crates.io")


def test_incompatible_build_metadata_and_listed_versions() -> None:
    rec = record("Go", "github.com/docker/docker", semver_range({"introduced": "0"}, {"fixed": "24.0.9"}))
    assert is_affected(rec, "github.com/docker/docker", "24.0.7+incompatible", "Go")
    assert not is_affected(rec, "github.com/docker/docker", "24.0.9+incompatible", "Go")
    listed = record("npm", "event-stream", versions=("3.3.6",))
    assert is_affected(listed, "event-stream", "3.3.6", "npm")
    assert not is_affected(listed, "event-stream", "3.3.5", "npm")
    # a version the ecosystem cannot order only matches a listed version exactly
    odd = record("npm", "odd", semver_range({"introduced": "0"}), versions=("1.x",))
    assert is_affected(odd, "odd", "1.x", "npm")
    assert not is_affected(odd, "odd", "2.x", "npm")
    # an unorderable event skips its range instead of crashing
    broken = record("npm", "odd", semver_range({"introduced": "0"}, {"fixed": "1.x"}))
    assert not is_affected(broken, "odd", "1.0.0", "npm")


def test_advisories_merge_across_ids_and_keep_semver_fix_order() -> None:
    net = [advisory_from_osv(real(v), "golang.org/x/net", "osv-api", "0.0.0-20220722155237-a158d28d115b", "Go")
           for v in ("GO-2022-0969", "GO-2023-1571")]  # fmt: skip
    ghsa = advisory_from_osv(
        {**real("GO-2023-1571"), "id": "GHSA-vvpx-j8f3-3w6h", "aliases": ["CVE-2022-41723", "GO-2023-1571"]},
        "golang.org/x/net",
        "osv-api",
        "0.0.0-20220722155237-a158d28d115b",
        "Go",
    )
    merged = merge_advisories([*net, ghsa], "Go")
    # the Go database's id names the advisory; the GHSA twin becomes an alias
    assert [(a.id, a.aliases) for a in merged] == [
        ("GO-2022-0969", ("CVE-2022-27664", "GHSA-69cg-p879-7622")),
        ("GO-2023-1571", ("CVE-2022-41723", "GHSA-vvpx-j8f3-3w6h")),
    ]
    key = sort_key("Go")
    assert sorted(["0.7.0", "0.0.0-20220906165146-f3363e06e74c", "0.10.0", "junk"], key=key) == [
        "0.0.0-20220906165146-f3363e06e74c",
        "0.7.0",
        "0.10.0",
        "junk",
    ]
