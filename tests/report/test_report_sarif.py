"""SARIF: schema-valid, GitHub's supported subset, limits, suppressions, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote

import pytest

import aisec_ci.scanners.registry as registry
from aisec_ci.core_rules import CORE_RULES
from aisec_ci.findings import Finding
from aisec_ci.report.sarif import (
    FINGERPRINT_KEY,
    MAX_RESULTS,
    artifact_uri,
    build_sarif,
    gzip_size,
    render_sarif,
)
from aisec_ci.result import ScanResult, Suppressed
from aisec_ci.rules import Rule, RuleCatalog
from aisec_ci.scanners.base import Scanner
from aisec_ci.severity import Severity
from tests.conftest import load_json, make_repo, run_cli
from tests.report.report_builders import (
    FIXTURES,
    ROOT_USER,
    fixture_findings,
    fixture_result,
    make_catalog,
    many_findings,
)


def _run(log: dict[str, Any]) -> dict[str, Any]:
    assert len(log["runs"]) == 1
    run: dict[str, Any] = log["runs"][0]
    return run


def _results_by_rule(run: dict[str, Any], rule_id: str) -> list[dict[str, Any]]:
    return [r for r in run["results"] if r["ruleId"] == rule_id]


def test_fixture_scan_is_schema_valid(result: ScanResult, catalog: RuleCatalog, sarif_validator: Any) -> None:
    log = json.loads(render_sarif(result, catalog))
    errors = sorted(sarif_validator.iter_errors(log), key=str)
    assert errors == []
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"


def test_schema_rejects_what_we_must_never_emit(sarif_validator: Any, result: ScanResult, catalog: RuleCatalog) -> None:
    # Guard that the validator is really checking: a zero start line must fail.
    log = build_sarif(result, catalog)
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert not sarif_validator.is_valid(log)


def test_driver_and_rules_follow_github_subset(
    result: ScanResult, catalog: RuleCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the test catalog: the real scanners' rules are checked in the next test.
    monkeypatch.setattr(registry, "all_scanners", dict)
    run = _run(build_sarif(result, catalog))
    driver = run["tool"]["driver"]
    assert driver["name"] == "aisec-ci"
    assert driver["version"] == result.tool_version == driver["semanticVersion"]
    assert driver["informationUri"].startswith("https://")
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(ids)
    # Core rules always, plus every rule a finding (reported or suppressed) references.
    assert {r.id for r in CORE_RULES} <= set(ids)
    assert {f.rule_id for f in result.findings} | {s.finding.rule_id for s in result.suppressed} <= set(ids)
    for desc in driver["rules"]:
        rule = catalog.get(desc["id"])
        assert rule is not None
        assert 0 < len(desc["name"]) <= 255
        assert 0 < len(desc["shortDescription"]["text"]) <= 1024
        assert 0 < len(desc["fullDescription"]["text"]) <= 1024
        assert desc["defaultConfiguration"]["level"] == rule.severity.sarif_level
        assert desc["help"]["text"] == rule.help_text()
        assert rule.help_uri in desc["help"]["markdown"]
        assert desc["helpUri"] == rule.help_uri
        props = desc["properties"]
        assert props["tags"][0] == "security" and len(props["tags"]) <= 10
        assert set(rule.tags) <= set(props["tags"])
        assert props["precision"] == rule.precision
        assert props["problem.severity"] in ("error", "warning", "recommendation")
        if rule.severity is Severity.INFO:
            assert "security-severity" not in props
        else:
            score = float(props["security-severity"])
            assert isinstance(props["security-severity"], str) and 0.0 < score <= 10.0
    by_id = {d["id"]: d for d in driver["rules"]}
    assert by_id["secrets/openai-api-key"]["properties"]["security-severity"] == "9.5"
    assert by_id["docker/root-user"]["properties"]["security-severity"] == "8.0"
    assert by_id["docker/root-user"]["properties"]["problem.severity"] == "error"
    assert by_id["docker/unpinned-base-image"]["defaultConfiguration"]["level"] == "warning"


def test_every_registered_rule_makes_a_valid_descriptor(sarif_validator: Any) -> None:
    names = list(registry.all_scanners())
    real = registry.catalog()
    log = build_sarif(ScanResult([], scanners=names), real)
    assert sarif_validator.is_valid(log)
    descriptors = _run(log)["tool"]["driver"]["rules"]
    expected = {r.id for r in CORE_RULES} | {r.id for n in names for r in registry.all_scanners()[n].rules}
    assert {d["id"] for d in descriptors} == expected
    for d in descriptors:
        assert len(d["name"]) <= 255 and len(d["properties"]["tags"]) <= 10
        assert 0 < len(d["shortDescription"]["text"]) <= 1024 and 0 < len(d["fullDescription"]["text"]) <= 1024


def test_results_carry_locations_fingerprints_and_properties(result: ScanResult, catalog: RuleCatalog) -> None:
    run = _run(build_sarif(result, catalog))
    rules = run["tool"]["driver"]["rules"]
    active = [r for r in run["results"] if not r.get("suppressions")]
    # Reported findings plus the pre-existing (new-only) one, which is not a suppression.
    assert len(active) == len(result.findings) + 1
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["message"]["text"]
        assert len(res["locations"]) == 1
        region = res["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1 and region["endLine"] >= region["startLine"]

    (key,) = _results_by_rule(run, "secrets/openai-api-key")
    phys = key["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"] == {"uri": "serve.py", "uriBaseId": "%SRCROOT%"}
    assert phys["region"] == {
        "startLine": 8,
        "startColumn": 18,
        "endLine": 8,
        "endColumn": 44,
        "snippet": {"text": 'OPENAI_API_KEY = "sk-proj-****"'},
    }
    assert key["level"] == "error"
    assert key["properties"]["security-severity"] == "9.5"
    assert key["properties"]["severity"] == "critical"
    assert key["properties"]["scanner"] == "secrets"
    assert key["properties"]["secret_type"] == "OpenAI API key"
    # The line hash is the real one for serve.py line 8, as codeql-action would compute it.
    from aisec_ci.report.linehash import line_hash

    serve = (FIXTURES / "serve.py").read_text(encoding="utf-8")
    assert key["partialFingerprints"]["primaryLocationLineHash"] == line_hash(serve, 8)
    assert len(key["partialFingerprints"][FINGERPRINT_KEY]) == 32

    (root,) = [r for r in _results_by_rule(run, "docker/root-user") if not r["properties"].get("preexisting")]
    assert "endColumn" not in root["locations"][0]["physicalLocation"]["region"]

    torch = next(r for r in _results_by_rule(run, "deps/vulnerable-package") if r["properties"]["package"] == "torch")
    # Tuples and sets from scanners arrive as JSON arrays (sets sorted).
    assert torch["properties"]["fixed_versions"] == ["2.6.0"]
    assert torch["properties"]["aliases"] == ["CVE-2025-32434"]
    assert torch["properties"]["cvss"] == 9.8


def test_level_follows_overridden_severity(catalog: RuleCatalog) -> None:
    finding = next(f for f in fixture_findings() if f.rule_id == "docker/root-user").with_severity(Severity.LOW)
    run = _run(build_sarif(ScanResult([finding]), catalog))
    (res,) = run["results"]
    assert res["level"] == "note"
    assert res["properties"]["security-severity"] == "2.0"
    rule = run["tool"]["driver"]["rules"][res["ruleIndex"]]
    assert rule["defaultConfiguration"]["level"] == "error"


def test_suppressed_findings_are_marked(result: ScanResult, catalog: RuleCatalog) -> None:
    run = _run(build_sarif(result, catalog))
    marked = {r["suppressions"][0]["properties"]["aisecKind"]: r for r in run["results"] if r.get("suppressions")}
    assert set(marked) == {"inline", "baseline"}
    assert marked["inline"]["suppressions"][0] == {
        "kind": "inSource",
        "status": "accepted",
        "justification": "config files are written by our own deploy job",
        "properties": {"aisecKind": "inline"},
    }
    assert marked["baseline"]["suppressions"][0]["kind"] == "external"
    # SARIF: once any result is suppressed, every result carries the (possibly empty) array.
    assert all("suppressions" in r for r in run["results"])
    (pre,) = [r for r in run["results"] if r["properties"].get("preexisting")]
    assert pre["suppressions"] == []
    assert pre["properties"]["newOnlyReason"] == "present in origin/main"

    plain = _run(build_sarif(result, catalog, include_suppressed=False))
    assert len(plain["results"]) == len(result.findings)
    assert all("suppressions" not in r for r in plain["results"])


def test_config_suppression_is_external(catalog: RuleCatalog) -> None:
    f = fixture_findings()[0]
    res = ScanResult([], suppressed=[Suppressed(f, "config", "legacy image, tracked in SEC-42")])
    (out,) = _run(build_sarif(res, catalog))["results"]
    assert out["suppressions"][0]["kind"] == "external"
    assert out["suppressions"][0]["justification"] == "legacy image, tracked in SEC-42"


def test_notifications_for_skipped_files_and_notes(result: ScanResult, catalog: RuleCatalog) -> None:
    run = _run(build_sarif(result, catalog))
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    notes = invocation["toolExecutionNotifications"]
    skipped = [n for n in notes if n["message"]["text"].startswith("skipped: ")]
    assert len(skipped) == len(result.skipped)
    big = next(n for n in skipped if "10 MiB" in n["message"]["text"])
    assert big["level"] == "note"
    assert big["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "models/resnet50.pt"
    assert any(n["message"]["text"] == result.notes[0] for n in notes)


def test_category_and_root_uri(result: ScanResult, catalog: RuleCatalog, sarif_validator: Any) -> None:
    assert _run(build_sarif(result, catalog))["automationDetails"] == {"id": "aisec-ci/"}
    assert _run(build_sarif(result, catalog, category="aisec-ci/secrets"))["automationDetails"]["id"] == (
        "aisec-ci/secrets/"
    )
    assert _run(build_sarif(result, catalog, category="ml/"))["automationDetails"]["id"] == "ml/"
    shard = fixture_result(shard=(2, 3))
    assert _run(build_sarif(shard, catalog))["automationDetails"]["id"] == "aisec-ci/shard-2-of-3/"
    log = build_sarif(result, catalog, repo_root_uri="file:///github/workspace")
    run = _run(log)
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///github/workspace/"}}
    assert sarif_validator.is_valid(log)


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("src/app.py", "src/app.py"),
        ("data/my model.pkl", "data/my%20model.pkl"),
        ("notebooks/eval#3.ipynb", "notebooks/eval%233.ipynb"),
        ("c:weird/100%.txt", "c%3Aweird/100%25.txt"),
        ("docs/naïve?.md", "docs/na%C3%AFve%3F.md"),
        ("./k8s/deploy.yaml", "k8s/deploy.yaml"),
    ],
)
def test_artifact_uri_is_an_encoded_relative_reference(path: str, uri: str) -> None:
    assert artifact_uri(path) == uri
    assert unquote(uri) == path.removeprefix("./")


def test_hostile_paths_stay_valid(catalog: RuleCatalog, sarif_validator: Any) -> None:
    findings = many_findings(30, hostile=True)
    log = build_sarif(ScanResult(findings), catalog)
    assert sarif_validator.is_valid(log)
    for res in _run(log)["results"]:
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert " " not in uri and "<" not in uri and "|" not in uri
        assert unquote(uri).startswith("svc/f")


def test_rules_of_scanners_that_ran_are_listed(catalog: RuleCatalog) -> None:
    quiet_rule = Rule(
        id="docker/add-instead-of-copy",
        name="ADD used for local files",
        short_description="ADD can fetch URLs and unpack archives; COPY is explicit.",
        severity=Severity.LOW,
        what="Reports ADD with a local source.",
        why="ADD silently extracts archives and downloads remote content.",
    )

    class DockerScanner(Scanner):
        name = "docker"
        rules: ClassVar[tuple[Rule, ...]] = (ROOT_USER, quiet_rule)

    # The report reads the rules of the scanners that ran from the catalog it is given.
    catalog.add_scanner(DockerScanner.name, DockerScanner.rules)
    res = ScanResult([], scanners=["docker", "not-installed"])
    ids = [r["id"] for r in _run(build_sarif(res, catalog))["tool"]["driver"]["rules"]]
    # A rule that found nothing is still declared, so code scanning can close its alerts.
    assert ids == sorted([*(r.id for r in CORE_RULES), "docker/add-instead-of-copy", "docker/root-user"])


def test_unknown_rule_gets_a_descriptor(catalog: RuleCatalog, sarif_validator: Any) -> None:
    f = Finding("plugin/custom-check", Severity.HIGH, "from a plugin that is no longer installed", "app.py", 3)
    odd = Finding("NotARuleId", Severity.LOW, "legacy id from an old JSON report", "app.py", 4)
    log = build_sarif(ScanResult([f, odd]), catalog)
    assert sarif_validator.is_valid(log)
    run = _run(log)
    by_id = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "plugin/custom-check" in by_id and "NotARuleId" in by_id
    assert by_id["plugin/custom-check"]["properties"]["security-severity"] == "8.0"
    for res in run["results"]:
        assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]


def test_tags_names_and_descriptions_are_cut_to_github_limits(sarif_validator: Any) -> None:
    noisy = Rule(
        id="k8s/privileged-container",
        name="Privileged container " + "x" * 400,
        short_description="Runs privileged. " + "y" * 2000,
        severity=Severity.CRITICAL,
        what="w" * 900,
        why="z" * 900,
        tags=tuple(f"CWE-{n}" for n in range(250, 265)),
    )
    cat = RuleCatalog()
    cat.extend([*CORE_RULES, noisy])
    f = Finding(noisy.id, Severity.CRITICAL, "privileged: true", "k8s/deploy.yaml", 21)
    log = build_sarif(ScanResult([f]), cat)
    assert sarif_validator.is_valid(log)
    desc = next(r for r in _run(log)["tool"]["driver"]["rules"] if r["id"] == noisy.id)
    assert len(desc["name"]) == 255 and desc["name"].endswith("…")
    assert len(desc["shortDescription"]["text"]) == 1024
    assert len(desc["fullDescription"]["text"]) == 1024
    assert desc["properties"]["tags"] == ["security", *[f"CWE-{n}" for n in range(250, 259)]]


def test_deterministic_bytes(catalog: RuleCatalog) -> None:
    first = render_sarif(fixture_result(), catalog)
    # An equal result built again, with its inputs in another order, renders identically.
    shuffled = fixture_result(findings=[f for f in reversed(fixture_findings()) if f.rule_id != "docker/expose-port"])
    assert render_sarif(shuffled, make_catalog()) == first
    assert render_sarif(fixture_result(), catalog) == first
    assert first.endswith("\n")
    json.loads(first)


def test_result_cap_keeps_every_critical(catalog: RuleCatalog, sarif_validator: Any) -> None:
    findings = many_findings(30_000)
    criticals = sum(1 for f in findings if f.severity is Severity.CRITICAL)
    highs = sum(1 for f in findings if f.severity is Severity.HIGH)
    infos = sum(1 for f in findings if f.severity is Severity.INFO)
    assert criticals == 5_000 and infos > 5_000 - 1
    result = ScanResult(findings, scanners=["docker", "secrets"])
    log = build_sarif(result, catalog)
    assert sarif_validator.is_valid(log)
    run = _run(log)
    results = run["results"]
    assert len(results) == MAX_RESULTS
    levels = [r["properties"]["severity"] for r in results]
    assert levels.count("critical") == criticals
    assert levels.count("high") == highs
    # The 5,000 dropped are all from the bottom: info goes first.
    assert levels.count("info") == infos - 5_000
    assert run["properties"]["truncated"] == {"droppedResults": 5_000, "totalResults": 30_000}
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any(t.startswith("5000 of 30000 results were left out") for t in notes)
    # Kept results stay in report order (by path), not shuffled by severity.
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris == sorted(uris)


def test_gzip_cap_cuts_least_severe_first(catalog: RuleCatalog, sarif_validator: Any) -> None:
    result = ScanResult(many_findings(3_000), scanners=["docker"])
    full = render_sarif(result, catalog)
    # Budget a third of the results' share, whatever the (growing) rule catalog weighs.
    empty = gzip_size(render_sarif(ScanResult([], scanners=["docker"]), catalog))
    cap = empty + (gzip_size(full) - empty) // 3
    text = render_sarif(result, catalog, max_gzip_bytes=cap)
    assert gzip_size(text) <= cap
    log = json.loads(text)
    assert sarif_validator.is_valid(log)
    run = _run(log)
    kept = run["results"]
    assert 0 < len(kept) < 3_000
    dropped = run["properties"]["truncated"]["droppedResults"]
    assert dropped == 3_000 - len(kept)
    assert any("left out" in n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"])
    kept_sev = [Severity.parse(r["properties"]["severity"]) for r in kept]
    kept_ids = {r["partialFingerprints"][FINGERPRINT_KEY] for r in kept}
    lost = [f for f in result.findings if f.fingerprint not in kept_ids]
    assert max(f.severity for f in lost) <= min(kept_sev)
    assert kept_sev.count(Severity.CRITICAL) == sum(1 for f in result.findings if f.severity is Severity.CRITICAL)


def test_untruncated_run_has_no_truncation_marks(result: ScanResult, catalog: RuleCatalog) -> None:
    run = _run(build_sarif(result, catalog))
    assert "truncated" not in run["properties"]
    assert not any("left out" in n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"])
    assert run["properties"]["scanners"] == ["code", "deps", "docker", "secrets"]


def test_empty_scan_is_valid(catalog: RuleCatalog, sarif_validator: Any) -> None:
    log = build_sarif(ScanResult([]), catalog)
    assert sarif_validator.is_valid(log)
    assert _run(log)["results"] == []


def test_reports_do_not_import_the_scanners() -> None:
    # Rule metadata comes from the catalog the caller passes in, never from scanner discovery.
    code = (
        "import sys\n"
        "from aisec_ci.report import markdown, sarif, text\n"
        "from aisec_ci.result import ScanResult\n"
        "from aisec_ci.rules import RuleCatalog\n"
        "sarif.build_sarif(ScanResult([], scanners=['docker']), RuleCatalog())\n"
        "print(sorted(m for m in sys.modules if m.startswith('aisec_ci.scanners')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_new_only_results_carry_baseline_state(
    tmp_path: Path, sarif_validate: Callable[[dict[str, Any]], None]
) -> None:
    """New-only keeps every result in the log and says which ones the change brought."""
    repo = tmp_path / "app"
    base = make_repo(
        repo,
        {
            "old.py": "x = 1  # SECURITY-MARK[high]\n",
            "old_ignored.py": "x = 1  # SECURITY-MARK[high] aisec: ignore[testkit/marker] test data\n",
        },
    )
    make_repo(
        repo,
        {
            "new.py": "y = 2  # SECURITY-MARK[critical]\n",
            "new_ignored.py": "y = 2  # SECURITY-MARK[high] aisec: ignore[testkit/marker] fixture\n",
        },
        "change",
    )
    out = tmp_path / "out.sarif"
    proc = run_cli("scan", repo, "--new-only", "--base", base, "--format", "sarif", "--output", out)
    assert proc.returncode == 1, proc.stderr
    log = load_json(out)
    sarif_validate(log)
    states = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["baselineState"]
        for r in _run(log)["results"]
    }
    assert states == {"new.py": "new", "new_ignored.py": "new", "old.py": "unchanged", "old_ignored.py": "unchanged"}

    json_out = tmp_path / "out.json"
    run_cli("scan", repo, "--new-only", "--base", base, "--format", "json", "--output", json_out)
    in_base = {s["path"]: s["suppression"]["in_base"] for s in load_json(json_out)["suppressed"]}
    assert in_base == {"new_ignored.py": False, "old.py": True, "old_ignored.py": True}

    # Without a base there is no baseline to compare with: no baselineState at all.
    run_cli("scan", repo, "--format", "sarif", "--output", out)
    assert all("baselineState" not in r for r in _run(load_json(out))["results"])
