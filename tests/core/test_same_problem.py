"""One problem, one result (issue #12): findings of different rules that report the
same problem on the same line become one, whose properties name the other rules.

The table is checked against the installed rule catalog, the merge on findings
built by hand, and the whole behaviour end to end through the CLI on a small
repository with a committed Kubernetes Secret and an MLflow compose service."""

from __future__ import annotations

import itertools
import json
import string
from pathlib import Path
from typing import Any

import pytest

from aisec_ci.findings import Finding
from aisec_ci.sameproblem import (
    SAME_PROBLEMS,
    Member,
    known_in,
    member_fingerprints,
    merge_same_problem,
    merged_fingerprints,
)
from aisec_ci.scanners.registry import catalog
from aisec_ci.severity import Severity
from aisec_ci.suppress.baseline import baseline_document
from tests.conftest import git, load_json, make_repo, run_cli
from tests.scanners.secrets.secret_tokens import TokenFactory

# --- the table -------------------------------------------------------------------


def test_every_member_names_installed_rules_and_no_rule_belongs_to_two_members() -> None:
    rule_ids = sorted(rule.id for rule in catalog())
    owners: dict[str, list[str]] = {}
    for group in SAME_PROBLEMS:
        assert group.why and len(group.members) >= 2
        for member in group.members:
            matched = [r for r in rule_ids if member.matches_rule(r)]
            # A renamed or removed rule would silently stop merging: the table must follow it.
            assert matched, f"{group.name}: {member.rule} matches no installed rule"
            for r in matched:
                owners.setdefault(r, []).append(f"{group.name}: {member.rule}")
            for excluded in member.excluding:
                assert excluded in rule_ids, f"{member.rule} excludes unknown {excluded}"
    shared = {r: m for r, m in owners.items() if len(m) > 1}
    assert not shared, shared


def test_the_secret_group_covers_each_scanner_that_reports_a_credential_literal() -> None:
    (group,) = [g for g in SAME_PROBLEMS if g.name == "hard-coded secret value"]
    covered = {r for r in (rule.id for rule in catalog()) if any(m.matches_rule(r) for m in group.members)}
    assert {
        "secrets/openai-api-key",
        "secrets/generic-secret",
        "secrets/credential-url",
        "k8s/secret-committed",
        "k8s/secret-in-env",
        "docker/secret-in-env",
        "compose/secret-in-environment",
        "workflows/hardcoded-container-credentials",
        "exposure/mlflow-unsafe-store-options",
    } <= covered
    # Same place, different problem: never part of the group.
    assert not covered & {
        "secrets/unparsed-notebook",
        "exposure/mlflow-without-auth",
        "compose/ml-service-exposed",
        "docker/root-user",
        "docker/secret-build-arg",
    }


# --- the merge on findings -------------------------------------------------------


def finding(rule_id: str, severity: Severity, line: int = 7, path: str = "k8s/secret.yaml", **kw: Any) -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=severity,
        message=f"{rule_id} message",
        path=path,
        start_line=line,
        snippet=f"{rule_id} snippet",
        scanner=rule_id.split("/")[0],
        fingerprint=kw.pop("fingerprint", f"{rule_id}@{path}:{line}".replace("/", "_")),
        **kw,
    )


K8S = finding("k8s/secret-committed", Severity.HIGH, key="stringData:OPENAI_API_KEY", properties={"kind": "Secret"})
OPENAI = finding("secrets/openai-api-key", Severity.CRITICAL, properties={"secret_type": "OpenAI API key"})


def test_two_views_of_one_secret_become_the_more_severe_one() -> None:
    other = finding("docker/root-user", Severity.MEDIUM, line=1, path="Dockerfile")
    merged = merge_same_problem([other, K8S, OPENAI])
    assert len(merged) == 2
    assert merged[0] is other  # everything else is left as it was, in its order
    survivor = merged[1]
    # Only two properties are added: every other field, the fingerprint first, is the survivor's own.
    assert survivor.fingerprint == OPENAI.fingerprint
    assert survivor.evolve(properties=OPENAI.properties) == OPENAI
    assert survivor.properties == {
        "secret_type": "OpenAI API key",
        "also_reported_by": ["k8s/secret-committed"],
        "merged_fingerprints": {K8S.fingerprint: "k8s/secret-committed"},
    }
    assert OPENAI.properties == {"secret_type": "OpenAI API key"}  # the input is not modified
    assert member_fingerprints(survivor) == (OPENAI.fingerprint, K8S.fingerprint)


def test_the_gate_sees_the_highest_severity_whichever_scanner_had_it() -> None:
    # The secrets scanner knows the value is a published demo credential (info); the
    # kubernetes scanner still reports a committed Secret (medium): the medium one stays.
    demo = finding("secrets/generic-secret", Severity.INFO)
    k8s = finding("k8s/secret-committed", Severity.MEDIUM)
    (survivor,) = merge_same_problem([demo, k8s])
    assert survivor.rule_id == "k8s/secret-committed" and survivor.severity is Severity.MEDIUM
    assert survivor.properties["also_reported_by"] == ["secrets/generic-secret"]


def test_on_a_tie_the_secrets_finding_survives_in_any_input_order() -> None:
    views = [
        finding("secrets/huggingface-token", Severity.HIGH),
        finding("k8s/secret-in-env", Severity.HIGH),
    ]
    results = [merge_same_problem(list(order)) for order in itertools.permutations(views)]
    assert all(r == results[0] for r in results)
    (survivor,) = results[0]
    assert survivor.rule_id == "secrets/huggingface-token"


def test_three_views_name_every_other_rule_sorted() -> None:
    views = [
        finding("compose/secret-in-environment", Severity.HIGH, path="docker-compose.yml"),
        finding("secrets/aws-secret-access-key", Severity.CRITICAL, path="docker-compose.yml"),
        # Hypothetical third view, to show the order of also_reported_by does not follow the input.
        finding("docker/secret-in-env", Severity.HIGH, path="docker-compose.yml"),
    ]
    (survivor,) = merge_same_problem(views)
    assert survivor.rule_id == "secrets/aws-secret-access-key"
    assert survivor.properties["also_reported_by"] == ["compose/secret-in-environment", "docker/secret-in-env"]
    assert sorted(merged_fingerprints(survivor)) == sorted([views[0].fingerprint, views[2].fingerprint])


@pytest.mark.parametrize(
    "findings",
    [
        pytest.param([K8S, finding("secrets/openai-api-key", Severity.CRITICAL, line=8)], id="next-line"),
        pytest.param(
            [K8S, finding("secrets/openai-api-key", Severity.CRITICAL, path="k8s/other.yaml")], id="other-file"
        ),
        pytest.param(
            [
                finding("docker/root-user", Severity.MEDIUM, line=1, path="Dockerfile"),
                finding("docker/unpinned-base-image", Severity.MEDIUM, line=1, path="Dockerfile"),
            ],
            id="one-FROM-line-two-problems",
        ),
        pytest.param(
            [K8S, OPENAI, finding("secrets/github-token", Severity.CRITICAL)],
            id="two-tokens-in-one-Secret-value",
        ),
        pytest.param(
            [finding("secrets/generic-secret", Severity.MEDIUM), finding("secrets/jwt", Severity.HIGH)],
            id="two-secrets-rules",
        ),
        pytest.param(
            [
                finding("k8s/secret-committed", Severity.HIGH),
                finding("secrets/openai-api-key", Severity.CRITICAL, properties={"commit": "0" * 40}),
            ],
            id="history-finding",
        ),
        pytest.param(
            [
                finding("secrets/unparsed-notebook", Severity.INFO, line=1, path="nb.ipynb"),
                finding("k8s/secret-committed", Severity.HIGH, line=1, path="nb.ipynb"),
            ],
            id="excluded-rule",
        ),
    ],
)
def test_what_is_not_one_problem_is_left_alone(findings: list[Finding]) -> None:
    assert merge_same_problem(findings) == findings


def test_only_the_store_password_variant_of_the_mlflow_rule_is_a_secret() -> None:
    line = {"path": "docker-compose.yml", "line": 4}
    url = finding("secrets/credential-url", Severity.HIGH, **line)
    password = finding(
        "exposure/mlflow-unsafe-store-options", Severity.HIGH, key="mlflow-store-password:service:mlflow", **line
    )
    artifacts = finding(
        "exposure/mlflow-unsafe-store-options",
        Severity.MEDIUM,
        key="mlflow-plain-artifacts:service:mlflow",
        fingerprint="plain-artifacts",
        **line,
    )
    no_auth = finding("exposure/mlflow-without-auth", Severity.HIGH, key="mlflow:service:mlflow", **line)
    assert Member("exposure/*", key_part="mlflow-store-password").matches(password)
    assert not Member("exposure/*", key_part="mlflow-store-password").matches(artifacts)

    merged = merge_same_problem([url, password, artifacts, no_auth])
    assert [f.rule_id for f in merged] == [
        "secrets/credential-url",
        "exposure/mlflow-unsafe-store-options",
        "exposure/mlflow-without-auth",
    ]
    assert merged[0].properties["merged_fingerprints"] == {password.fingerprint: password.rule_id}
    assert merged[1] is artifacts and merged[2] is no_auth


def test_merging_twice_changes_nothing() -> None:
    once = merge_same_problem([K8S, OPENAI])
    assert merge_same_problem(once) == once


def test_baseline_and_base_scan_must_know_every_view() -> None:
    (survivor,) = merge_same_problem([K8S, OPENAI])
    assert known_in(survivor, frozenset({OPENAI.fingerprint, K8S.fingerprint, "other"}))
    # A baselined Secret key does not hide a new token pasted into it.
    assert not known_in(survivor, frozenset({OPENAI.fingerprint}))
    assert not known_in(survivor, frozenset({K8S.fingerprint}))

    document = baseline_document([survivor])
    entries = {e["fingerprint"]: e for e in document["findings"]}
    assert set(entries) == {OPENAI.fingerprint, K8S.fingerprint}
    assert entries[K8S.fingerprint]["rule_id"] == "k8s/secret-committed"
    assert entries[K8S.fingerprint]["path"] == survivor.path


@pytest.mark.parametrize("value", [None, ["a", "b"], "abc", {"fp": 3, 4: "x", "": "y"}])
def test_malformed_merged_fingerprints_from_a_json_report_are_ignored(value: object) -> None:
    f = finding("secrets/jwt", Severity.HIGH, properties={"merged_fingerprints": value})
    assert merged_fingerprints(f) == {}
    assert member_fingerprints(f) == (f.fingerprint,)


# --- end to end through the CLI --------------------------------------------------

SCANNERS = "kubernetes,secrets,docker,cloud"


def _tokens() -> dict[str, str]:
    t = TokenFactory(1207)
    return {
        "openai": t.openai(),
        "huggingface": t.huggingface(),
        "hf_replacement": t.huggingface(),
        "store_password": "Tr41n" + t.chars(string.ascii_letters + string.digits, 10),
    }


def _secret_yaml(openai: str, huggingface: str) -> str:
    return (
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata:\n"
        "  name: model-registry\n"
        "  namespace: ml\n"
        "type: Opaque\n"
        "stringData:\n"
        f"  OPENAI_API_KEY: {openai}\n"  # line 8
        f"  HF_TOKEN: {huggingface}\n"  # line 9
    )


def _compose_yaml(password: str) -> str:
    return (
        "services:\n"
        "  mlflow:\n"
        "    image: ghcr.io/mlflow/mlflow:v2.14.1\n"
        f"    command: mlflow server --backend-store-uri postgresql://mlflow:{password}@db/mlflow --host 0.0.0.0\n"
        "    ports:\n"
        '      - "5000:5000"\n'
    )


def _repo(tmp_path: Path, tokens: dict[str, str], config: str = "") -> Path:
    repo = tmp_path / "app"
    files = {
        "k8s/secret.yaml": _secret_yaml(tokens["openai"], tokens["huggingface"]),
        "docker-compose.yml": _compose_yaml(tokens["store_password"]),
    }
    if config:
        files[".aisec.yml"] = config
    make_repo(repo, files)
    return repo


def _scan(repo: Path, *extra: str | Path) -> dict[str, Any]:
    out = repo.parent / "out.json"
    proc = run_cli(
        "scan", repo, "--scanners", SCANNERS, "--format", "json", "--output", out, "--fail-on", "none", *extra
    )
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = load_json(out)
    return report


def _at(report: dict[str, Any], path: str, line: int) -> list[tuple[str, list[str]]]:
    return sorted(
        (f["rule_id"], f["properties"].get("also_reported_by", []))
        for f in report["findings"]
        if f["path"] == path and f["start_line"] == line
    )


def _leaks(text: str, tokens: dict[str, str]) -> list[str]:
    # The whole value, and its tail: a redaction may show the head, never more.
    return [name for name, value in tokens.items() if value in text or value[5:] in text]


def test_a_committed_secret_and_an_mlflow_store_password_are_one_result_each(tmp_path: Path, sarif_validate) -> None:
    tokens = _tokens()
    repo = _repo(tmp_path, tokens)
    out = tmp_path / "reports"
    out.mkdir()
    proc = run_cli(
        "scan", repo, "--scanners", SCANNERS, "--fail-on", "high",
        "--format", "json", "--output", out / "r.json",
        "--format", "sarif", "--output", out / "r.sarif",
        "--format", "markdown", "--output", out / "r.md",
        "--format", "text", "--output", out / "r.txt",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    report = load_json(out / "r.json")

    # The Secret: each value is one result, the secrets finding naming the kubernetes rule.
    assert _at(report, "k8s/secret.yaml", 8) == [("secrets/openai-api-key", ["k8s/secret-committed"])]
    assert _at(report, "k8s/secret.yaml", 9) == [("secrets/huggingface-token", ["k8s/secret-committed"])]
    # The compose service: the store password is one result; the open server on the same
    # line and the published port on its own line are other problems and stay.
    assert _at(report, "docker-compose.yml", 4) == [
        ("exposure/mlflow-without-auth", []),
        ("secrets/credential-url", ["exposure/mlflow-unsafe-store-options"]),
    ]
    assert _at(report, "docker-compose.yml", 6) == [("compose/ml-service-exposed", [])]
    assert not [f for f in report["findings"] if f["rule_id"] == "k8s/secret-committed"]

    sarif = load_json(out / "r.sarif")
    sarif_validate(sarif)
    results = [r for run in sarif["runs"] for r in run["results"] if r["ruleId"] == "secrets/openai-api-key"]
    assert [r["properties"]["also_reported_by"] for r in results] == [["k8s/secret-committed"]]

    texts = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    texts.update(stdout=proc.stdout, stderr=proc.stderr)
    for name, text in texts.items():
        assert not _leaks(text, tokens), name


def test_a_suppression_of_either_finding_applies_before_the_merge(tmp_path: Path) -> None:
    tokens = _tokens()
    config = (
        "ignores:\n  - rule: secrets/huggingface-token\n    path: k8s/secret.yaml\n    reason: the token is revoked\n"
    )
    repo = _repo(tmp_path, tokens, config)
    secret = repo / "k8s" / "secret.yaml"
    lines = secret.read_text().splitlines(keepends=True)
    lines.insert(7, "  # aisec: ignore[k8s/secret-committed] placeholder values replaced at deploy time\n")
    secret.write_text("".join(lines))
    git(repo, "commit", "-qam", "ignore")

    report = _scan(repo)
    # Inline ignore of the kubernetes rule: the secrets finding is reported alone.
    assert _at(report, "k8s/secret.yaml", 9) == [("secrets/openai-api-key", [])]
    # Config ignore of the secrets rule: the kubernetes finding is reported alone.
    assert _at(report, "k8s/secret.yaml", 10) == [("k8s/secret-committed", [])]
    hidden = sorted((s["rule_id"], s["start_line"], s["suppression"]["kind"]) for s in report["suppressed"])
    assert hidden == [
        ("k8s/secret-committed", 9, "inline"),
        ("secrets/huggingface-token", 10, "config"),
    ]


def test_a_baseline_hides_the_merged_result_but_not_a_new_token_in_the_same_secret(tmp_path: Path) -> None:
    tokens = _tokens()
    repo = _repo(tmp_path, tokens)
    baseline = tmp_path / "baseline.json"
    proc = run_cli("baseline", "create", repo, "--scanners", SCANNERS, "--output", baseline)
    assert proc.returncode == 0, proc.stderr
    text = baseline.read_text(encoding="utf-8")
    assert not _leaks(text, tokens)
    recorded = {(e["rule_id"], e["start_line"]) for e in json.loads(text)["findings"] if e["path"] == "k8s/secret.yaml"}
    assert {("k8s/secret-committed", 9), ("secrets/huggingface-token", 9)} <= recorded

    report = _scan(repo, "--baseline", baseline)
    assert _at(report, "k8s/secret.yaml", 8) == _at(report, "k8s/secret.yaml", 9) == []
    assert _at(report, "docker-compose.yml", 4) == []

    # A new token in the old key: the Secret's finding keeps its fingerprint (the key name),
    # the token's is new, so the token is reported.
    secret = repo / "k8s" / "secret.yaml"
    secret.write_text(_secret_yaml(tokens["openai"], tokens["hf_replacement"]))
    report = _scan(repo, "--baseline", baseline)
    assert _at(report, "k8s/secret.yaml", 9) == [("secrets/huggingface-token", [])]
    assert _at(report, "k8s/secret.yaml", 8) == []


def test_new_only_reports_a_merged_result_when_any_of_its_findings_is_new(tmp_path: Path) -> None:
    tokens = _tokens()
    # Raised so the kubernetes finding survives the merge: its fingerprint (the key name)
    # stays the same when the value changes, and only the absorbed token's is new.
    config = "rules:\n  k8s/secret-committed: {severity: critical}\n"
    repo = _repo(tmp_path, tokens, config)
    base = git(repo, "rev-parse", "HEAD")
    (repo / "README.md").write_text("unrelated change\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs")

    report = _scan(repo, "--new-only", "--base", base)
    assert report["findings"] == []
    old = {(s["rule_id"], s["start_line"]) for s in report["suppressed"] if s["suppression"]["kind"] == "new-only"}
    assert ("k8s/secret-committed", 9) in old

    (repo / "k8s" / "secret.yaml").write_text(_secret_yaml(tokens["openai"], tokens["hf_replacement"]))
    git(repo, "commit", "-qam", "rotate the token in git (wrongly)")
    report = _scan(repo, "--new-only", "--base", base)
    assert _at(report, "k8s/secret.yaml", 9) == [("k8s/secret-committed", ["secrets/huggingface-token"])]
    assert [f["start_line"] for f in report["findings"]] == [9]
