"""The deps scanner end to end through the CLI, with the OSV API served on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from packaging.version import Version

from tests.scanners.deps.deps_support import DEAD_URL, FIXTURES, OSV_DATA, REPO, FakeOsv, advisories, advisory_ids

EXAMPLE = REPO / "examples" / "vulnerable-ai-app"


def run_scan(root: Path, out: Path, env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any], str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AISEC_", "SAFETY_"))}
    full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "aisec_ci", "scan", str(root), "--scanners", "deps", "--profile", "audit",
         "--format", "json", "--output", str(out), "--fail-on", "none", *extra],
        env=full_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    data = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    return proc.returncode, data, proc.stderr


def rows(data: dict[str, Any]) -> set[tuple[str, int, str]]:
    return {(f["path"], f["start_line"], f["rule_id"]) for f in data["findings"]}


def test_every_format_end_to_end(osv: FakeOsv, tmp_path: Path) -> None:
    code, data, err = run_scan(FIXTURES / "repo", tmp_path / "out.json", {"AISEC_OSV_URL": osv.url})
    assert code == 0, err
    vulnerable_paths = {f["path"] for f in data["findings"] if f["rule_id"] == "deps/vulnerable-package"}
    # pins a lock file restates (agent/, training/, pipenv-app/) are reported at the lock line only
    assert vulnerable_paths == {
        "agent/uv.lock",
        "common/constraints.txt",
        "common/requirements-base.txt",
        "conda/environment.yml",
        "legacy/setup.cfg",
        "library/pyproject.toml",
        "notebooks/finetune.ipynb",
        "pdm-app/pdm.lock",
        "pipenv-app/Pipfile.lock",
        "pylock-app/pylock.toml",
        "rye-app/requirements.lock",
        "serving/requirements.txt",
        "training/poetry.lock",
    }
    assert data["skipped"] == []
    assert osv.hits["/v1/querybatch"] == 1  # every manifest's pins in one batch
    fingerprints = [f["fingerprint"] for f in data["findings"]]
    assert len(set(fingerprints)) == len(fingerprints)
    # the gate fails on the high findings
    code, _, _ = run_scan(FIXTURES / "repo", tmp_path / "gate.json", {"AISEC_OSV_URL": osv.url}, "--fail-on", "high")
    assert code == 1


def test_example_app_offline_snapshot(tmp_path: Path) -> None:
    code, data, err = run_scan(EXAMPLE, tmp_path / "out.json", {"AISEC_OSV_URL": DEAD_URL})
    assert code == 0, err
    vulns = [f for f in data["findings"] if f["rule_id"] == "deps/vulnerable-package"]
    by_pkg: dict[str, set[str]] = {}
    for f in vulns:
        if f["path"] == "requirements.txt":
            assert f["properties"]["package"] not in by_pkg  # one finding per pinned version
            by_pkg[f["properties"]["package"]] = set(advisory_ids(f))
    assert by_pkg["torch"] == {"PYSEC-2022-43015"}
    assert by_pkg["pyyaml"] == {"PYSEC-2020-96", "PYSEC-2021-142"}
    assert by_pkg["mlflow"] == {"PYSEC-2023-252", "PYSEC-2023-253", "PYSEC-2024-51"}
    assert {"PYSEC-2023-16", "PYSEC-2023-90"} <= by_pkg["gradio"]
    assert len(by_pkg["langchain"]) == 11
    assert "transformers" not in by_pkg  # the snapshot holds PYSEC records only (no GHSA-only ones)
    stale = [
        f for f in data["findings"] if f["rule_id"] == "deps/stale-advisory-data" and f["path"] == "requirements.txt"
    ]
    assert (
        stale and "2024-10-10" in stale[0]["message"] and "transformers==4.30.0" in stale[0]["properties"]["packages"]
    )
    unpinned = {f["properties"]["package"] for f in data["findings"] if f["rule_id"] == "deps/unpinned-requirement"}
    assert {"fastapi", "uvicorn"} <= unpinned
    # requirements-dev.txt pulls requirements.txt in (its pins stay reported there, once) and adds its own
    dev = {(f["start_line"], f["rule_id"]) for f in data["findings"] if f["path"] == "requirements-dev.txt"}
    assert dev == {(3, "deps/vulnerable-package"), (5, "deps/unverifiable-source"), (3, "deps/stale-advisory-data")}
    conda = sorted(
        (f["start_line"], f["rule_id"], tuple(advisory_ids(f)) if "advisories" in f["properties"] else ())
        for f in data["findings"]
        if f["path"] == "environment.yml"
    )
    assert conda[0] == (9, "deps/audit-incomplete", ())  # the conda packages, not auditable against PyPI data
    [pillow] = [ids for line, rule, ids in conda if (line, rule) == (15, "deps/vulnerable-package")]
    assert "PYSEC-2022-168" in pillow  # pillow 9.0.0 in the pip: list


def test_offline_flag_with_a_configured_database(osv: FakeOsv, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("jinja2==2.10\nrequests==2.32.3\n")
    (repo / ".aisec.yml").write_text(f"deps:\n  database: {OSV_DATA}\n")
    code, data, err = run_scan(repo, tmp_path / "out.json", {"AISEC_OSV_URL": osv.url}, "--offline")
    assert code == 0, err
    assert sum(osv.hits.values()) == 0
    assert rows(data) == {("requirements.txt", 1, "deps/vulnerable-package")}
    assert all(f["properties"]["sources"] == ["offline-db"] for f in data["findings"])


def test_bad_config_value_is_a_usage_error(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".aisec.yml").write_text("deps:\n  sources: [osv, carrier-pigeon]\n")
    code, _, err = run_scan(repo, tmp_path / "out.json", {"AISEC_OSV_URL": DEAD_URL})
    assert code == 2
    assert "deps" in err and "sources" in err


def test_broken_manifests_are_skipped_with_reasons_and_the_rest_is_scanned(osv: FakeOsv, tmp_path: Path) -> None:
    code, data, err = run_scan(FIXTURES / "broken", tmp_path / "out.json", {"AISEC_OSV_URL": osv.url})
    assert code == 0, err
    skipped = {s["path"]: s["reason"] for s in data["skipped"]}
    assert "invalid TOML" in skipped["pyproject.toml"]
    assert "invalid JSON" in skipped["Pipfile.lock"]
    assert "invalid YAML" in skipped["environment.yml"]
    assert "requirements.txt" in skipped  # binary junk: the classifier or the parser refuses it
    assert ("ok/requirements.txt", 1, "deps/vulnerable-package") in rows(data)
    assert ("ok/requirements.txt", 2, "deps/audit-incomplete") in rows(data)
    assert "Traceback" not in err


def test_sbom_is_valid_cyclonedx_and_lists_every_dependency(osv: FakeOsv, tmp_path: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    sbom = tmp_path / "sbom.cdx.json"
    code, _, err = run_scan(
        FIXTURES / "repo", tmp_path / "out.json", {"AISEC_OSV_URL": osv.url, "AISEC_DEPS_SBOM": str(sbom)}
    )
    assert code == 0, err
    text = sbom.read_text(encoding="utf-8")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    by_purl = {c["purl"]: c for c in doc["components"]}
    origins = {p["value"] for p in by_purl["pkg:pypi/urllib3@1.26.4"]["properties"] if p["name"] == "aisec-ci:origin"}
    assert origins == {"common/requirements-base.txt:3"}
    mlflow = {p["value"] for p in by_purl["pkg:pypi/mlflow@2.9.1"]["properties"] if p["name"] == "aisec-ci:origin"}
    assert mlflow == {"training/poetry.lock:26"}
    assert "pkg:conda/pytorch@2.1.0" in by_purl and "pkg:pypi/gunicorn" in by_purl  # conda pins keep the version
    assert "pkg:pypi/-" not in by_purl  # `-e .` is the project itself
    assert len(doc["components"]) > 50
    # same input, same document (serial number included); only the timestamp moves
    again = tmp_path / "again.json"
    run_scan(FIXTURES / "repo", tmp_path / "out2.json", {"AISEC_OSV_URL": osv.url, "AISEC_DEPS_SBOM": str(again)})
    second = json.loads(again.read_text(encoding="utf-8"))
    assert second["serialNumber"] == doc["serialNumber"] and second["components"] == doc["components"]


def test_all_four_sources_chosen_in_config(osv: FakeOsv, tmp_path: Path) -> None:
    from tests.scanners.deps.deps_support import SAFETY_DB

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("jinja2==2.10\nrequests==2.32.3\n")
    (repo / ".aisec.yml").write_text(
        f"deps:\n  sources: [osv, offline, pip-audit, safety]\n  database: {OSV_DATA}\n  safety_db: {SAFETY_DB}\n"
    )
    env = {"AISEC_OSV_URL": osv.url, "SAFETY_AUTH_SERVER_URL": osv.url}
    code, data, err = run_scan(repo, tmp_path / "out.json", env)
    assert code == 0, err
    [jinja2] = data["findings"]
    vulns = [(a["id"], tuple(a["sources"])) for a in advisories(jinja2)]
    both = ("offline-db", "osv-api", "pip-audit", "safety")
    assert vulns == [("PYSEC-2019-217", both), ("PYSEC-2021-66", both)]


def test_an_advisory_is_ignored_by_id_or_alias_with_a_reason_until_it_expires(osv: FakeOsv, tmp_path: Path) -> None:
    # As pip-audit's --ignore-vuln and osv-scanner's IgnoredVulns: one advisory, wherever it is
    # pinned, named by any of its ids; the other advisories of the same pins stay reported, in
    # the same findings, which now name only them.
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    (repo / "requirements.txt").write_text("pyyaml==5.3\njinja2==2.10\n")
    (repo / "svc" / "requirements.txt").write_text("PyYAML==5.3\n")
    (repo / ".aisec.yml").write_text(
        "ignores:\n"
        "  - advisory: cve-2020-1747  # PYSEC-2020-96, by its CVE alias (any case)\n"
        "    reason: full_load is never called on untrusted input\n"
        "    until: 2099-01-01\n"
        "  - advisory: PYSEC-2019-217\n"
        "    reason: sandbox not used\n"
        "    until: 2020-01-01\n"
    )
    code, data, err = run_scan(repo, tmp_path / "out.json", {"AISEC_OSV_URL": osv.url})
    assert code == 0, err
    reported = {
        (f["path"], f["properties"]["package"]): advisory_ids(f)
        for f in data["findings"]
        if f["rule_id"] == "deps/vulnerable-package"
    }
    assert reported == {
        ("requirements.txt", "pyyaml"): ["PYSEC-2021-142"],
        ("svc/requirements.txt", "pyyaml"): ["PYSEC-2021-142"],
        ("requirements.txt", "jinja2"): ["PYSEC-2019-217", "PYSEC-2021-66"],  # its ignore expired in 2020
    }
    why = "full_load is never called on untrusted input"
    for f in data["findings"]:
        if f["properties"].get("package") == "pyyaml":
            dropped = f["properties"]["suppressed_advisories"]
            assert [(d["id"], d["suppression"]["kind"], d["suppression"]["reason"]) for d in dropped] == [
                ("PYSEC-2020-96", "config", why)
            ]
            assert f["properties"]["advisory_id"] == "PYSEC-2021-142"
            assert "PYSEC-2020-96" not in f["message"] and "is affected by PYSEC-2021-142" in f["message"]
    # Nothing is suppressed whole: every pin keeps an advisory that is not ignored.
    assert data["suppressed"] == []
    [expired] = [f for f in data["findings"] if f["rule_id"] == "core/expired-ignore"]
    assert "advisory PYSEC-2019-217" in expired["message"]


def _fixes(found: dict[str, Any]) -> list[Version]:
    return [Version(a["fix_version"]) for a in advisories(found) if a["fix_version"]]


def test_one_pin_with_several_advisories_is_one_finding(osv: FakeOsv, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("langchain==0.0.171\npaddlepaddle==2.4.0\n")
    code, data, err = run_scan(repo, tmp_path / "out.json", {"AISEC_OSV_URL": osv.url}, "--fail-on", "critical")
    assert code == 1, err  # langchain's critical advisories fail the gate
    vulns = {f["properties"]["package"]: f for f in data["findings"] if f["rule_id"] == "deps/vulnerable-package"}
    assert rows(data) == {
        ("requirements.txt", 1, "deps/vulnerable-package"),
        ("requirements.txt", 2, "deps/vulnerable-package"),
    }
    langchain = vulns["langchain"]
    listed = advisories(langchain)
    assert len(listed) == langchain["properties"]["advisory_count"] == 12
    assert len({a["id"] for a in listed}) == 12
    # The finding is as severe as its worst advisory, and names it first.
    assert langchain["severity"] == "critical"
    assert [a["severity"] for a in listed] == ["critical"] * 5 + ["high"] * 7
    assert langchain["properties"]["advisory_id"] == listed[0]["id"] == "PYSEC-2023-138"
    # The version to upgrade to fixes all of them: the highest of each advisory's own fix.
    assert langchain["properties"]["fix_version"] == str(max(_fixes(langchain))) == "0.1.11"
    assert "is affected by 12 advisories (" in langchain["message"]
    assert "Upgrading to 0.1.11 fixes all of them." in langchain["message"]
    # Every id and alias of every advisory is on the finding, for ignores and for searches.
    assert {"PYSEC-2024-43", "CVE-2024-28088", "CVE-2023-34540"} <= set(langchain["properties"]["aliases"])
    # One of paddlepaddle's six advisories has no fix: the message says so, and which.
    paddle = vulns["paddlepaddle"]
    assert paddle["properties"]["unfixed_advisories"] == ["PYSEC-2022-43063"]
    assert paddle["properties"]["fix_version"] == "2.5.0"
    assert "Upgrading to 2.5.0 fixes 5 of them; 1 (PYSEC-2022-43063) has no fixed version." in paddle["message"]


def test_ignoring_some_advisories_recomputes_the_finding(osv: FakeOsv, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("langchain==0.0.171\n")
    critical = ["PYSEC-2023-138", "PYSEC-2023-145", "PYSEC-2023-146", "PYSEC-2023-147", "PYSEC-2023-162"]
    entries = "".join(f"  - advisory: {a}\n    reason: PALChain is not used\n" for a in critical)
    # CVE-2024-28088 is PYSEC-2024-43, the advisory that needs 0.1.11.
    entries += "  - advisory: CVE-2024-28088\n    reason: no load_chain from the hub\n"
    _, plain, _ = run_scan(repo, tmp_path / "plain.json", {"AISEC_OSV_URL": osv.url})
    [before] = plain["findings"]
    assert len(advisories(before)) == 12
    (repo / ".aisec.yml").write_text("ignores:\n" + entries)
    code, data, err = run_scan(repo, tmp_path / "out.json", {"AISEC_OSV_URL": osv.url}, "--fail-on", "critical")
    assert code == 0, err  # what is left is high: the gate passes
    [f] = data["findings"]
    assert f["rule_id"] == "deps/vulnerable-package" and f["start_line"] == 1
    assert f["severity"] == "high"
    assert len(advisories(f)) == f["properties"]["advisory_count"] == 6
    assert not set(advisory_ids(f)) & {*critical, "PYSEC-2024-43"}
    assert f["properties"]["fix_version"] == str(max(_fixes(f))) == "0.0.317"
    assert "is affected by 6 advisories" in f["message"] and "Upgrading to 0.0.317 fixes all of them." in f["message"]
    dropped = {d["id"]: d["suppression"]["reason"] for d in f["properties"]["suppressed_advisories"]}
    assert dropped == {**{a: "PALChain is not used" for a in critical}, "PYSEC-2024-43": "no load_chain from the hub"}
    assert data["suppressed"] == []
    # The same finding as without the ignores: a baseline entry for it still matches.
    assert before["fingerprint"] == f["fingerprint"]
    # A severity set for the rule in the config still wins over the recomputed one.
    (repo / ".aisec.yml").write_text("rules:\n  deps/vulnerable-package: {severity: low}\nignores:\n" + entries)
    _, overridden, _ = run_scan(repo, tmp_path / "low.json", {"AISEC_OSV_URL": osv.url})
    assert [x["severity"] for x in overridden["findings"]] == ["low"]


def test_ignoring_every_advisory_of_a_pin_suppresses_its_finding(osv: FakeOsv, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("pyyaml==5.3\njinja2==2.10\n")
    (repo / ".aisec.yml").write_text(
        "ignores:\n"
        "  - advisory: PYSEC-2020-96\n    reason: full_load is never called\n"
        "  - advisory: CVE-2020-14343  # PYSEC-2021-142\n    reason: only trusted YAML\n"
        "  - advisory: PYSEC-2019-217\n    reason: sandbox not used\n"
    )
    code, data, err = run_scan(repo, tmp_path / "out.json", {"AISEC_OSV_URL": osv.url})
    assert code == 0, err
    # jinja2 keeps its other advisory; pyyaml has none left and is suppressed whole.
    assert [(f["properties"]["package"], advisory_ids(f)) for f in data["findings"]] == [("jinja2", ["PYSEC-2021-66"])]
    [sup] = data["suppressed"]
    assert (sup["properties"]["package"], sup["suppression"]["kind"]) == ("pyyaml", "config")
    assert sup["suppression"]["reason"] == "full_load is never called; only trusted YAML"
    assert advisory_ids(sup) == ["PYSEC-2020-96", "PYSEC-2021-142"]  # as found, with both advisories
