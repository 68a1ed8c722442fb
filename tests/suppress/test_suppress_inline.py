"""Inline `aisec: ignore[...]` directives in the file types aisec-ci scans."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.core_rules import INVALID_SUPPRESSION
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.severity import Severity
from aisec_ci.suppress.inline import Directive, inline_reason, invalid_directives, parse_directives

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "suppress"

KNOWN_RULES = frozenset(
    {
        "code/pickle-import",
        "code/pickle-load",
        "deps/vulnerable-package",
        "docker/root-user",
        "docker/unpinned-base-image",
        "k8s/privileged-container",
        "k8s/run-as-root",
        "secrets/generic-password",
        "secrets/keyword",
        "secrets/openai-api-key",
        INVALID_SUPPRESSION.id,
    }
)


def directives_of(name: str) -> dict[int, Directive]:
    return parse_directives((FIXTURES / name).read_text(encoding="utf-8").splitlines())


def finding(rule_id: str, path: str, line: int) -> Finding:
    return Finding(rule_id=rule_id, severity=Severity.HIGH, message="m", path=path, start_line=line)


def reason(name: str, rule_id: str, line: int) -> str | None:
    return inline_reason(finding(rule_id, name, line), directives_of(name))


# --- Python -------------------------------------------------------------------------------


def test_python_same_line() -> None:
    assert reason("app.py", "secrets/openai-api-key", 6) == "revoked demo key"
    assert reason("app.py", "code/pickle-import", 4) == "only used for the local cache below"
    # A trailing directive covers its own line only, not the next one.
    assert reason("app.py", "secrets/openai-api-key", 7) is None


def test_python_line_above_with_several_ids() -> None:
    assert reason("app.py", "secrets/keyword", 9) == "fixture credentials for the local stack"
    assert reason("app.py", "secrets/generic-password", 9) == "fixture credentials for the local stack"
    assert reason("app.py", "secrets/openai-api-key", 9) is None  # not one of the listed ids
    assert reason("app.py", "secrets/keyword", 10) is None  # two lines below: not covered


def test_python_glob_without_reason_suppresses_nothing() -> None:
    # Like a config ignore without `reason:`, a directive without a reason is refused (and reported).
    assert directives_of("app.py")[14].reason == ""
    assert reason("app.py", "code/open-call", 15) is None
    assert reason("app.py", "code/pickle-load", 16) == "see #231"  # reason stops at the next comment
    assert reason("app.py", "code/exec", 16) is None


def test_directive_inside_a_string_is_not_a_comment() -> None:
    assert 19 not in directives_of("app.py")
    assert reason("app.py", "secrets/keyword", 19) is None


def test_python_directive_fields() -> None:
    d = directives_of("app.py")
    assert d[8] == Directive(
        line=8,
        column=3,
        rules=("secrets/keyword", "secrets/generic-password"),
        reason="fixture credentials for the local stack",
        own_line=True,
    )
    assert d[6].own_line is False and d[6].column == 48
    assert d[21].rules == () and d[21].reason == "forgot the id"


# --- YAML, Dockerfile, requirements -------------------------------------------------------------


def test_yaml_line_above_and_trailing_glob() -> None:
    assert reason("deploy.yaml", "k8s/privileged-container", 13) == "GPU device plugin needs it"
    assert reason("deploy.yaml", "k8s/run-as-root", 14) == "the image drops privileges itself"
    assert reason("deploy.yaml", "k8s/privileged-container", 14) == "the image drops privileges itself"
    assert reason("deploy.yaml", "secrets/keyword", 14) is None


def test_dockerfile_line_above_must_be_directly_above() -> None:
    assert reason("Dockerfile", "docker/unpinned-base-image", 2) == "base is pinned by digest in CI"
    # Line 3 holds the directive, line 4 is blank, USER root is on line 5.
    assert reason("Dockerfile", "docker/root-user", 5) is None
    assert reason("Dockerfile", "docker/root-user", 4) is None  # directly above, but gives no reason


def test_requirements() -> None:
    assert reason("requirements.txt", "deps/vulnerable-package", 1) == "pinned for CUDA 11.6 drivers until Q3"
    assert reason("requirements.txt", "deps/vulnerable-package", 3) == "vendored fork with the fix backported"
    assert reason("requirements.txt", "deps/vulnerable-package", 4) is None


# --- notebooks, scanned as raw JSON -------------------------------------------------------------


def test_notebook_json_lines_are_decoded() -> None:
    d = directives_of("notebook.ipynb")
    assert sorted(d) == [10, 12]  # the markdown cell's prose line has no comment
    # The reason loses the JSON quoting and the escaped newline, and keeps its own quotes.
    assert d[10].reason == 'key revoked on 2026-10-01, "demo" only'
    assert d[10].own_line and d[10].column == 8
    assert not d[12].own_line and d[12].reason == "sandboxed notebook"
    assert reason("notebook.ipynb", "secrets/openai-api-key", 11) == 'key revoked on 2026-10-01, "demo" only'
    assert reason("notebook.ipynb", "code/openai-client", 12) == "sandboxed notebook"
    assert reason("notebook.ipynb", "code/openai-client", 13) is None


def test_compact_notebook_line_falls_back_to_raw_text() -> None:
    lines = ['{"cells": [{"source": ["x = 1  # aisec: ignore[code/*] sandbox"]}]}']
    d = parse_directives(lines)
    assert d[1].rules == ("code/*",) and d[1].reason.startswith("sandbox")


# --- syntax variants --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "rules", "why"),
    [
        ("x = 1  # aisec: ignore[secrets/keyword] test data", ("secrets/keyword",), "test data"),
        ("x = 1  #aisec:ignore[secrets/keyword]", ("secrets/keyword",), ""),
        (
            "x = 1  # aisec: ignore [ secrets/keyword ,docker/* ]  spaced out  ",
            ("secrets/keyword", "docker/*"),
            "spaced out",
        ),
        ("x = 1  # noqa: E501 aisec: ignore[*] everything here", ("*",), "everything here"),
        ("x: 1  # aisec: ignore[k8s/x] see issue #12", ("k8s/x",), "see issue #12"),
        ("x: 1  # aisec: ignore[k8s/x] why  # yamllint disable-line", ("k8s/x",), "why"),
        ("\tRUN x  # aisec: ignore[docker/y]\r", ("docker/y",), ""),
    ],
)
def test_syntax_variants(line: str, rules: tuple[str, ...], why: str) -> None:
    d = parse_directives([line])
    assert d[1].rules == rules and d[1].reason == why


@pytest.mark.parametrize(
    ("lines", "rule_id", "line", "why"),
    [
        # shell script
        (
            ["#!/bin/sh", "# aisec: ignore[secrets/keyword] CI-only throwaway", 'export DB_PASSWORD="x"'],
            "secrets/keyword",
            3,
            "CI-only throwaway",
        ),
        # pyproject.toml
        (
            ["[project]", 'dependencies = ["torch==1.13.1"]  # aisec: ignore[deps/*] CUDA 11.6'],
            "deps/vulnerable-package",
            2,
            "CUDA 11.6",
        ),
        # nginx.conf
        (
            ["server {", "    # aisec: ignore[cloud/nginx-no-auth] behind the VPN", "    location /mlflow/ {"],
            "cloud/nginx-no-auth",
            3,
            "behind the VPN",
        ),
        # GitHub workflow
        (
            ["on:", "  pull_request_target:  # aisec: ignore[workflows/*] labels only, no checkout"],
            "workflows/pwn-request",
            2,
            "labels only, no checkout",
        ),
    ],
)
def test_other_hash_comment_formats(lines: list[str], rule_id: str, line: int, why: str) -> None:
    assert inline_reason(finding(rule_id, "f", line), parse_directives(lines)) == why


@pytest.mark.parametrize(
    "line",
    [
        "x = 1  # ignore[secrets/keyword]",
        "x = 1  // aisec: ignore[secrets/keyword] not a # comment before it",
        "aisec: ignore[secrets/keyword] no comment marker",
        "x = 1  # AISEC: IGNORE[secrets/keyword]",
        "x = 1  # aisec: ignore secrets/keyword",
        "",
    ],
)
def test_not_directives(line: str) -> None:
    assert parse_directives([line]) == {}


def test_star_covers_every_rule_but_not_its_own_warning() -> None:
    d = parse_directives(["# aisec: ignore[*] generated file", "anything"])
    assert inline_reason(finding("docker/root-user", "x", 2), d) == "generated file"
    assert inline_reason(finding(INVALID_SUPPRESSION.id, "x", 2), d) is None


def test_same_line_wins_over_line_above() -> None:
    d = parse_directives(["# aisec: ignore[secrets/*] above", "k = 'v'  # aisec: ignore[secrets/keyword] same line"])
    assert inline_reason(finding("secrets/keyword", "x", 2), d) == "same line"
    assert inline_reason(finding("secrets/openai-api-key", "x", 2), d) == "above"


def test_finding_uses_its_start_line() -> None:
    d = parse_directives(["# aisec: ignore[k8s/privileged-container] GPU", "securityContext:", "  privileged: true"])
    spanning = Finding(
        rule_id="k8s/privileged-container",
        severity=Severity.CRITICAL,
        message="m",
        path="x.yaml",
        start_line=2,
        end_line=3,
    )
    assert inline_reason(spanning, d) == "GPU"


# --- invalid directives ---------------------------------------------------------------------


def test_invalid_directives_report_unknown_ids_with_suggestion() -> None:
    found = invalid_directives("app.py", directives_of("app.py"), KNOWN_RULES)
    assert [(f.rule_id, f.start_line, f.start_column, f.message) for f in found] == [
        (
            "core/invalid-suppression",
            14,
            7,
            "Inline suppression gives no reason; write aisec: ignore[RULE-ID] why it is safe, "
            "so it suppresses nothing.",
        ),
        (
            "core/invalid-suppression",
            20,
            36,
            "Inline suppression names unknown rule 'secret/keyword' (did you mean 'secrets/keyword'?), "
            "so it suppresses nothing.",
        ),
        (
            "core/invalid-suppression",
            21,
            14,
            "Inline suppression names no rule id; write aisec: ignore[RULE-ID] reason, so it suppresses nothing.",
        ),
    ]
    assert all(f.severity is INVALID_SUPPRESSION.severity and f.path == "app.py" for f in found)
    assert found[1].snippet == "aisec: ignore[secret/keyword]"


def test_globs_are_valid_when_they_match_some_rule() -> None:
    # code/* matches code/pickle-import; k8s/* matches k8s rules; deps/* matches deps rules.
    for name in ("deploy.yaml", "requirements.txt", "notebook.ipynb"):
        assert invalid_directives(name, directives_of(name), KNOWN_RULES) == []
    # The Dockerfile's globs are valid; its only problem is the directive without a reason.
    assert [f.key for f in invalid_directives("Dockerfile", directives_of("Dockerfile"), KNOWN_RULES)] == [
        "invalid-suppression:no-reason"
    ]
    assert [f.message for f in invalid_directives("x", parse_directives(["# aisec: ignore[models/*] x"]), KNOWN_RULES)]


def test_invalid_directive_fingerprints_are_stable_across_line_shifts() -> None:
    lines = ["x = 1  # aisec: ignore[secret/keyword] typo"]
    first = assign_fingerprints(invalid_directives("a.py", parse_directives(lines), KNOWN_RULES), lines)
    shifted = ["", "", *lines]
    second = assign_fingerprints(invalid_directives("a.py", parse_directives(shifted), KNOWN_RULES), shifted)
    assert first[0].start_line == 1 and second[0].start_line == 3
    assert first[0].fingerprint == second[0].fingerprint != ""


def test_large_file_without_directives_is_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lines without the marker never reach the directive parser (a substring test, not a regex, per line).
    from aisec_ci.suppress import inline
    from tests.call_budget import count_calls

    lines = [f"value_{i} = compute({i})  # plain comment" for i in range(200_000)]
    lines[123_456] = "x = 1  # aisec: ignore[testkit/marker] the one directive"
    parsed = count_calls(monkeypatch, inline, "_parse_line", limit=1)
    assert list(parse_directives(lines)) == [123_457]
    assert parsed.calls == 1
