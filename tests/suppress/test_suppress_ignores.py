"""Config ignores: matching rules, paths and fingerprints, and expiry."""

from __future__ import annotations

import datetime as dt

from aisec_ci.config.loader import IgnoreEntry
from aisec_ci.core_rules import EXPIRED_IGNORE
from aisec_ci.findings import Finding
from aisec_ci.suppress.ignores import IgnoreMatcher, apply_advisory_ignores, expired_ignore_findings, is_expired
from tests.suppress.suppress_fakes import make_findings

TODAY = dt.date(2026, 11, 25)


def entry(
    rule: str | None = None,
    path: str | None = None,
    fingerprint: str | None = None,
    until: dt.date | None = None,
    line: int = 3,
) -> IgnoreEntry:
    return IgnoreEntry(rule=rule, path=path, fingerprint=fingerprint, reason="why", until=until, line=line)


def matched_paths(e: IgnoreEntry) -> list[tuple[str, str]]:
    m = IgnoreMatcher([e], TODAY)
    return sorted((f.rule_id, f.path) for f in make_findings() if m.match(f) is not None)


def test_rule_exact_and_glob() -> None:
    assert matched_paths(entry(rule="docker/root-user")) == [("docker/root-user", "docker/Dockerfile.gpu")]
    assert matched_paths(entry(rule="secrets/*")) == [
        ("secrets/keyword", "legacy/train.py"),
        ("secrets/openai-api-key", "notebooks/demo/chat.ipynb"),
        ("secrets/openai-api-key", "src/app/settings.py"),
    ]
    assert matched_paths(entry(rule="secrets")) == []  # a family name alone is not a glob


def test_path_globs_are_gitignore_style() -> None:
    assert matched_paths(entry(path="notebooks/demo/**")) == [("secrets/openai-api-key", "notebooks/demo/chat.ipynb")]
    # A pattern without a slash matches the name at any depth, as in .gitignore.
    assert matched_paths(entry(path="*.yaml")) == [("k8s/privileged-container", "deploy/triton.yaml")]
    # A leading slash anchors at the root.
    assert matched_paths(entry(path="/settings.py")) == []
    assert matched_paths(entry(path="src/**/settings.py")) == [("secrets/openai-api-key", "src/app/settings.py")]
    assert matched_paths(entry(path="docker/")) == [
        ("docker/healthcheck-missing", "docker/Dockerfile.gpu"),
        ("docker/root-user", "docker/Dockerfile.gpu"),
    ]


def test_rule_and_path_must_both_match() -> None:
    assert matched_paths(entry(rule="secrets/openai-api-key", path="notebooks/**")) == [
        ("secrets/openai-api-key", "notebooks/demo/chat.ipynb")
    ]


def test_fingerprint_exact() -> None:
    target = make_findings()[3]
    assert matched_paths(entry(fingerprint=target.fingerprint)) == [(target.rule_id, target.path)]
    assert matched_paths(entry(fingerprint=target.fingerprint[:-1])) == []


def test_expiry_boundaries() -> None:
    assert not is_expired(entry(until=None), TODAY)
    assert not is_expired(entry(until=TODAY), TODAY)  # the last valid day
    assert is_expired(entry(until=TODAY - dt.timedelta(days=1)), TODAY)


def test_one_expired_one_active() -> None:
    active = entry(rule="secrets/*", path="notebooks/**", until=dt.date(2026, 12, 31), line=4)
    expired = entry(rule="docker/root-user", path="docker/**", until=dt.date(2026, 10, 1), line=9)
    m = IgnoreMatcher([active, expired], TODAY)
    assert [c.entry for c in m.active] == [active] and m.expired == [expired]
    findings = make_findings()
    assert [f.path for f in findings if m.match(f) is not None] == ["notebooks/demo/chat.ipynb"]

    (reported,) = expired_ignore_findings(m.expired, "config/.aisec.yml")
    assert reported.rule_id == EXPIRED_IGNORE.id and reported.severity is EXPIRED_IGNORE.severity
    assert (reported.path, reported.start_line) == ("config/.aisec.yml", 9)
    assert reported.message == (
        "The ignore for rule 'docker/root-user' on path 'docker/**' was valid until 2026-10-01 and has expired; "
        "the findings it suppressed are reported again."
    )
    assert reported.fingerprint


def test_expired_fingerprint_survives_moving_the_entry() -> None:
    first = expired_ignore_findings([entry(fingerprint="abc", until=dt.date(2025, 1, 1), line=3)], ".aisec.yml")
    moved = expired_ignore_findings([entry(fingerprint="abc", until=dt.date(2025, 1, 1), line=30)], ".aisec.yml")
    other = expired_ignore_findings([entry(fingerprint="abd", until=dt.date(2025, 1, 1), line=3)], ".aisec.yml")
    assert first[0].fingerprint == moved[0].fingerprint != other[0].fingerprint
    assert "fingerprint abc" in first[0].message


def test_first_matching_entry_wins() -> None:
    broad = IgnoreEntry(rule="secrets/*", path=None, fingerprint=None, reason="broad", until=None, line=2)
    narrow = IgnoreEntry(rule="secrets/keyword", path=None, fingerprint=None, reason="narrow", until=None, line=5)
    m = IgnoreMatcher([broad, narrow], TODAY)
    keyword = next(f for f in make_findings() if f.rule_id == "secrets/keyword")
    hit = m.match(keyword)
    assert hit is not None and hit.reason == "broad"


def test_advisory_matches_only_findings_that_report_it() -> None:
    by_alias = IgnoreEntry(
        rule=None, path=None, fingerprint=None, reason="why", until=None, line=3, advisory="cve-2020-1747"
    )
    assert matched_paths(by_alias) == []  # no finding in the fakes carries advisory properties
    m = IgnoreMatcher([by_alias], TODAY)
    vuln = make_findings()[0].evolve(
        rule_id="deps/vulnerable-package",
        properties={"advisory_id": "PYSEC-2020-96", "aliases": ["CVE-2020-1747", "GHSA-6757-jp84-gxfx"]},
    )
    other = vuln.evolve(properties={"advisory_id": "PYSEC-2021-142", "aliases": ["CVE-2020-14343"]})
    assert m.match(vuln) is by_alias and m.match(other) is None
    assert by_alias.describe() == "advisory cve-2020-1747"


def _listing(*advisories: tuple[str, list[str]]) -> Finding:
    """A dependency finding in the shape the deps scanner writes: one per pin, its advisories listed."""
    listed = [
        {"id": i, "aliases": aliases, "severity": "high", "summary": "", "fix_version": "2.0", "sources": []}
        for i, aliases in advisories
    ]
    props = {"name": "pkg", "package": "pkg", "version": "1.0", "advisory_id": listed[0]["id"], "advisories": listed}
    return make_findings()[0].evolve(rule_id="deps/vulnerable-package", path="svc/requirements.txt", properties=props)


def test_an_advisory_entry_drops_one_listed_advisory_only_where_it_applies() -> None:
    def ignore(advisory: str, path: str | None = None, reason: str = "why") -> IgnoreEntry:
        return IgnoreEntry(rule=None, path=path, fingerprint=None, reason=reason, until=None, line=3, advisory=advisory)

    two = _listing(("PYSEC-1", ["CVE-1"]), ("PYSEC-2", ["CVE-2"]))
    # Naming one of two advisories never covers the whole finding ...
    m = IgnoreMatcher([ignore("cve-1")], TODAY)
    assert m.match(two) is None
    reduced, whole = apply_advisory_ignores(two, m)
    assert whole is None
    assert [a["id"] for a in reduced.properties["advisories"]] == ["PYSEC-2"]
    assert reduced.properties["suppressed_advisories"][0]["suppression"] == {
        "kind": "config",
        "reason": "why",
        "ignore": "advisory cve-1",
    }
    assert (reduced.fingerprint, reduced.path, reduced.start_line) == (two.fingerprint, two.path, two.start_line)
    # ... an entry scoped to another path drops nothing ...
    elsewhere = IgnoreMatcher([ignore("PYSEC-1", path="api/**")], TODAY)
    assert apply_advisory_ignores(two, elsewhere) == (two, None)
    # ... and entries that together name every advisory suppress it, with each reason once.
    both = IgnoreMatcher([ignore("PYSEC-1", reason="a"), ignore("CVE-2", reason="b"), ignore("PYSEC-2")], TODAY)
    assert apply_advisory_ignores(two, both) == (two, "a; b")
