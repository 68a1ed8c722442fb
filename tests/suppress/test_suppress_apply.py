"""apply_suppressions: rule settings, config ignores and the baseline, in order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from aisec_ci.config.loader import Config, IgnoreEntry, RuleOverride, load_config
from aisec_ci.severity import Severity
from aisec_ci.suppress.apply import apply_suppressions, rule_enabled
from tests.suppress.suppress_fakes import make_catalog, make_findings

TODAY = dt.date(2026, 11, 25)


def ignore(reason: str, **kw: object) -> IgnoreEntry:
    fields: dict[str, object] = {"rule": None, "path": None, "fingerprint": None, "until": None, "line": 1}
    fields.update(kw)
    return IgnoreEntry(reason=reason, **fields)  # type: ignore[arg-type]


def test_no_config_keeps_everything_but_default_disabled_rules() -> None:
    out = apply_suppressions(
        make_findings(), config=Config(), baseline=frozenset(), today=TODAY, config_relpath=None, catalog=make_catalog()
    )
    assert out.suppressed == [] and out.extra_findings == []
    # docker/healthcheck-missing ships disabled: dropped, not suppressed.
    assert sorted(f.rule_id for f in out.kept) == [
        "docker/root-user",
        "k8s/privileged-container",
        "secrets/keyword",
        "secrets/openai-api-key",
        "secrets/openai-api-key",
    ]
    assert [f.path for f in out.kept] == sorted(f.path for f in out.kept)


def test_rule_enabled() -> None:
    cat = make_catalog()
    on = Config(rules={"docker/healthcheck-missing": RuleOverride(enabled=True)})
    off = Config(rules={"docker/root-user": RuleOverride(enabled=False, reason="rootless podman")})
    assert not rule_enabled("docker/healthcheck-missing", Config(), cat)
    assert rule_enabled("docker/healthcheck-missing", on, cat)
    assert not rule_enabled("docker/root-user", off, cat)
    assert rule_enabled("docker/root-user", Config(), cat)
    assert rule_enabled("thirdparty/unknown", Config(), cat)


def test_order_rules_then_ignores_then_baseline() -> None:
    findings = make_findings()
    fp = {f.path + ":" + f.rule_id: f.fingerprint for f in findings}
    config = Config(
        baseline=".aisec-baseline.json",
        rules={
            "k8s/privileged-container": RuleOverride(enabled=False),
            "docker/healthcheck-missing": RuleOverride(enabled=True, severity=Severity.MEDIUM),
            "secrets/keyword": RuleOverride(severity=Severity.LOW),
        },
        ignores=(ignore("demo notebook, key revoked", rule="secrets/*", path="notebooks/**"),),
    )
    baseline = frozenset(
        {
            fp["notebooks/demo/chat.ipynb:secrets/openai-api-key"],  # also ignored: the config ignore wins
            fp["legacy/train.py:secrets/keyword"],
            fp["deploy/triton.yaml:k8s/privileged-container"],  # disabled rule: dropped before the baseline
        }
    )
    out = apply_suppressions(
        findings, config=config, baseline=baseline, today=TODAY, config_relpath=".aisec.yml", catalog=make_catalog()
    )
    assert [(f.rule_id, f.severity) for f in out.kept] == [
        ("docker/healthcheck-missing", Severity.MEDIUM),
        ("docker/root-user", Severity.HIGH),
        ("secrets/openai-api-key", Severity.CRITICAL),
    ]
    assert [(s.finding.path, s.kind, s.reason, s.finding.severity) for s in out.suppressed] == [
        ("legacy/train.py", "baseline", "in baseline .aisec-baseline.json", Severity.LOW),
        ("notebooks/demo/chat.ipynb", "config", "demo notebook, key revoked", Severity.CRITICAL),
    ]
    assert all(f.rule_id != "k8s/privileged-container" for f in out.kept)


def test_baseline_reason_names_the_file_given() -> None:
    findings = make_findings()
    out = apply_suppressions(
        findings,
        config=Config(),
        baseline=frozenset({findings[0].fingerprint}),
        today=TODAY,
        config_relpath=None,
        baseline_name="ci/baseline.json",
        catalog=make_catalog(),
    )
    assert [(s.kind, s.reason) for s in out.suppressed] == [("baseline", "in baseline ci/baseline.json")]


def test_expired_ignore_from_a_real_config(tmp_path: Path) -> None:
    (tmp_path / ".aisec.yml").write_text(
        "fail-on: high\n"
        "ignores:\n"
        "  - rule: secrets/openai-api-key\n"
        "    path: notebooks/demo/**\n"
        "    reason: rotated key, revoked 2026-10-01\n"
        "    until: 2026-12-31\n"
        "  - rule: docker/root-user\n"
        "    path: docker/**\n"
        "    reason: migrating to a rootless image\n"
        "    until: 2026-11-24\n",
        encoding="utf-8",
    )
    cat = make_catalog()
    config = load_config(None, root=tmp_path, scanners={}, catalog=cat)
    findings = make_findings()
    baseline = frozenset(f.fingerprint for f in findings if f.rule_id == "docker/root-user")
    out = apply_suppressions(
        findings, config=config, baseline=frozenset(), today=TODAY, config_relpath=".aisec.yml", catalog=cat
    )
    # The expired entry no longer hides the root-user finding.
    assert "docker/root-user" in [f.rule_id for f in out.kept]
    assert [(s.finding.path, s.kind) for s in out.suppressed] == [("notebooks/demo/chat.ipynb", "config")]
    (expired,) = out.extra_findings
    assert (expired.rule_id, expired.path, expired.start_line) == ("core/expired-ignore", ".aisec.yml", 7)
    assert "2026-11-24" in expired.message and "docker/root-user" in expired.message

    # A day earlier, the same entry still suppresses and nothing is reported.
    earlier = apply_suppressions(
        findings,
        config=config,
        baseline=frozenset(),
        today=dt.date(2026, 11, 24),
        config_relpath=".aisec.yml",
        catalog=cat,
    )
    assert earlier.extra_findings == [] and len(earlier.suppressed) == 2

    # The reminder is not hidden by a baseline holding its fingerprint.
    again = apply_suppressions(
        findings,
        config=config,
        baseline=baseline | {expired.fingerprint},
        today=TODAY,
        config_relpath=".aisec.yml",
        catalog=cat,
    )
    assert [f.rule_id for f in again.extra_findings] == ["core/expired-ignore"]


def test_expired_ignore_respects_rule_settings() -> None:
    entry = ignore("old", rule="docker/root-user", until=dt.date(2020, 1, 1), line=4)
    quiet = Config(rules={"core/expired-ignore": RuleOverride(enabled=False)}, ignores=(entry,))
    loud = Config(rules={"core/expired-ignore": RuleOverride(severity=Severity.HIGH)}, ignores=(entry,))
    cat = make_catalog()
    out = apply_suppressions(
        [], config=quiet, baseline=frozenset(), today=TODAY, config_relpath=".aisec.yml", catalog=cat
    )
    assert out.extra_findings == []
    out = apply_suppressions(
        [], config=loud, baseline=frozenset(), today=TODAY, config_relpath=".aisec.yml", catalog=cat
    )
    assert [f.severity for f in out.extra_findings] == [Severity.HIGH]


def test_expired_ignore_path_when_config_is_outside_the_root(tmp_path: Path) -> None:
    entry = ignore("old", path="x/**", until=dt.date(2020, 1, 1), line=2)
    config = Config(path=tmp_path / "strict.yml", ignores=(entry,))
    out = apply_suppressions(
        [], config=config, baseline=frozenset(), today=TODAY, config_relpath=None, catalog=make_catalog()
    )
    assert [(f.path, f.start_line) for f in out.extra_findings] == [("strict.yml", 2)]
