"""OSV matching, checked by hand against real advisories and small synthetic records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aisec_ci.scanners.deps.matching import advisory_from_osv, fixed_versions, is_affected, smallest_fix_above
from tests.scanners.deps.deps_support import OSV_DATA


def real(advisory_id: str) -> dict[str, Any]:
    path = OSV_DATA / f"{advisory_id}.json"
    if not path.is_file():
        pytest.skip("shared advisory data is absent")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def record(events: list[dict[str, str]], versions: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
    }
    if versions is not None:
        entry["versions"] = versions
    return {"id": "TEST-1", "affected": [entry], **extra}


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        # PYSEC-2023-192 lists [introduced 2.0.0, fixed 2.0.6, introduced 0, fixed 1.26.17]. Walked in
        # file order, 2.0.x ends on "fixed 1.26.17" and looks safe; sorted, both intervals count.
        ("1.26.4", True),
        ("1.26.16", True),
        ("1.26.17", False),
        ("1.26.18", False),
        ("2.0.0", True),
        ("2.0.5", True),
        ("2.0.6", False),
        ("2.1.0", False),
    ],
)
def test_out_of_order_ranges_urllib3(version: str, affected: bool) -> None:
    assert is_affected(real("PYSEC-2023-192"), "urllib3", version) is affected


def test_last_affected_is_inclusive_py() -> None:
    rec = real("PYSEC-2022-42969")
    assert is_affected(rec, "py", "1.11.0")
    assert is_affected(rec, "py", "1.4.0")
    assert not is_affected(rec, "py", "1.11.1")
    assert not is_affected(rec, "py", "2.0")


def test_withdrawn_advisories_affect_nothing() -> None:
    rec = real("PYSEC-2023-73")  # redis, withdrawn, introduced 0 with no fix
    assert rec.get("withdrawn")
    assert not is_affected(rec, "redis", "4.5.3")
    assert is_affected({k: v for k, v in rec.items() if k != "withdrawn"}, "redis", "4.5.3")


def test_range_beats_an_incomplete_versions_list_jupyterlab() -> None:
    rec = real("PYSEC-2021-130")
    listed = rec["affected"][0].get("versions", [])
    assert "3.1.3" not in listed
    assert is_affected(rec, "jupyterlab", "3.1.3")


def test_non_pep440_event_versions_do_not_crash() -> None:
    steam = real("PYSEC-2019-125")  # fixed "2019-09-12"
    binderhub = real("PYSEC-2021-371")  # fixed "0.2.0-n653"
    for rec, name in ((steam, "steam"), (binderhub, "binderhub")):
        for version in ("0.1", "1.0.0", "not a version", "2019-09-12"):
            assert isinstance(is_affected(rec, name, version), bool)


def test_names_are_compared_canonically() -> None:
    rec = record([{"introduced": "0"}, {"fixed": "1.0"}])
    assert is_affected(rec, "demo-pkg", "0.9")
    assert is_affected(rec, "Demo.Pkg", "0.9")
    assert not is_affected(rec, "demo-pkgs", "0.9")


def test_multiple_intervals_and_prereleases() -> None:
    rec = record([{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0.0rc1"}, {"fixed": "2.0.3"}])
    assert not is_affected(rec, "demo-pkg", "0.9")
    assert is_affected(rec, "demo-pkg", "1.1.9")
    assert not is_affected(rec, "demo-pkg", "1.2")
    assert not is_affected(rec, "demo-pkg", "1.9")
    assert not is_affected(rec, "demo-pkg", "2.0.0b1")
    assert is_affected(rec, "demo-pkg", "2.0.0rc1")
    assert is_affected(rec, "demo-pkg", "2.0.0")
    assert not is_affected(rec, "demo-pkg", "2.0.3")
    assert fixed_versions(rec, "demo-pkg") == ("1.2", "2.0.3")
    assert smallest_fix_above(("1.2", "2.0.3"), "2.0.1") == "2.0.3"
    assert smallest_fix_above(("1.2", "2.0.3"), "1.0") == "1.2"
    assert smallest_fix_above(("1.2",), "1.5") is None


def test_versions_list_and_limit_and_arbitrary_equality() -> None:
    listed = record([], versions=["0.5", "1.0-custom"])
    assert is_affected(listed, "demo-pkg", "0.5")
    assert is_affected(listed, "demo-pkg", "0.5.0")  # PEP 440 equality
    assert is_affected(listed, "demo-pkg", "1.0-custom")  # a `===` pin matched as a string
    assert not is_affected(listed, "demo-pkg", "0.6")
    limited = record([{"introduced": "0"}, {"limit": "3.0"}])
    assert is_affected(limited, "demo-pkg", "2.9")
    assert not is_affected(limited, "demo-pkg", "3.0")
    git_only = {"id": "X", "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-pkg"},
                                         "ranges": [{"type": "GIT", "events": [{"introduced": "0"}]}]}]}  # fmt: skip
    assert not is_affected(git_only, "demo-pkg", "1.0")


def test_advisory_from_osv_keeps_ids_fixes_and_vectors() -> None:
    adv = advisory_from_osv(real("PYSEC-2023-192"), "urllib3", "offline-db")
    assert adv.id == "PYSEC-2023-192"
    assert "CVE-2023-43804" in adv.aliases
    assert adv.fixed == ("1.26.17", "2.0.6")
    assert adv.summary
    assert adv.sources == ("offline-db",)


def test_a_listed_version_matches_however_it_is_spelled() -> None:
    # Only the versions list names 3.0.0 (no range covers it): pins of equal versions in other
    # spellings must still match, as pip would install the same release for them.
    rec = record([{"introduced": "1.0"}, {"fixed": "2.0"}], versions=["3.0.0", "4.0rc1", "5.0.post1"])
    for pin in ("3.0.0", "3", "3.0", "3.0.0.0", "v3.0", "03.0.0", "4.0.0rc1", "4.0c1", "5.0-1", "5.post1"):
        assert is_affected(rec, "demo-pkg", pin), pin
    for pin in ("3.0.1", "30", "3.0.0.1", "4.0", "5.0"):
        assert not is_affected(rec, "demo-pkg", pin), pin


def test_the_equality_key_agrees_with_pep440_equality() -> None:
    import itertools

    from packaging.version import Version

    from aisec_ci.scanners.deps.matching import _equality_key

    spellings = [
        "0", "0.0", "00.0", "1", "1.0", "1.0.0", "1.0.0.0", "01.0", "v1.0", "1!1.0", "1!1", "1.10", "1.0.10",
        "1.0a1", "1.0.0a1", "1a1", "1.0alpha1", "1.0.post1", "1.post1", "1.0-1", "1.0.dev1", "1.dev1",
        "1.0+abc", "1+abc", "1.0.0+ABC", "1.0+abc.1", "2.0rc1", "2rc1", "2.0c1", "0.1", "0.1.0", "0.0.1",
    ]  # fmt: skip
    for a, b in itertools.product(spellings, spellings):
        assert (Version(a) == Version(b)) == (_equality_key(a) == _equality_key(b)), (a, b)
