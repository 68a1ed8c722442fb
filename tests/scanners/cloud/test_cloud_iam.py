"""IAM identity-policy rules I1-I5 and the grammar rule I9 on policy JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.cloud import SCANNER
from aisec_ci.severity import Severity
from tests.call_budget import assert_linear
from tests.scanners.cloud.cloud_support import by_rule, line_of, rules, scan


def test_invoke_one_endpoint_is_clean() -> None:
    assert scan("policy-invoke-endpoint-safe.json") == []


def test_full_admin() -> None:
    (f,) = scan("policy-admin.json")
    assert f.rule_id == "iam/full-admin" and f.severity is Severity.CRITICAL
    assert f.start_line == line_of("policy-admin.json", '"Action": "*"')


def test_service_wildcards_and_resource_star() -> None:
    path = "policy-sagemaker-wildcard.json"
    fs = scan(path)
    wild = by_rule(fs, "iam/wildcard-action")
    assert sorted(f.message.split("(")[-1] for f in wild) == ["s3:*)", "sagemaker:*)"]
    assert all(f.start_line == line_of(path, '"Action": [') for f in wild)
    (star,) = by_rule(fs, "iam/resource-star-write")
    assert star.start_line == line_of(path, '"Resource": "*"')


def test_privilege_escalation_only_on_wildcard_resources() -> None:
    path = "policy-privesc.json"
    fs = scan(path)
    (esc,) = by_rule(fs, "iam/privilege-escalation")
    assert "iam:PassRole" in esc.message and "compute-creating" in esc.message
    assert esc.start_line == line_of(path, '"Action": [')
    # The scoped PassRole statement and the read-only statement are not reported.
    assert {f.key.split(":")[1] for f in fs} == {"TrainingJobs"}


def test_not_action_with_allow_only() -> None:
    path = "policy-notaction.json"
    fs = scan(path)
    assert [f.start_line for f in by_rule(fs, "iam/not-action-with-allow")] == [line_of(path, '"NotAction": "iam:*"')]


def test_malformed_policy_findings() -> None:
    path = "policy-malformed.json"
    fs = scan(path)
    assert rules(fs) == {"iam/malformed-policy"}
    got = sorted(f.start_line for f in fs)
    assert got == sorted(
        [
            line_of(path, '"Version"'),
            line_of(path, '"Effect": "allow"'),
            line_of(path, '"Action": "s3:"'),
            line_of(path, '"Sid": "Dup"', nth=2),
            line_of(path, '"Action": 42'),
            line_of(path, '"Resource"', nth=3),
            line_of(path, '"Principal": {}') - 2,
            line_of(path, '"Principal": {}'),
        ]
    )
    messages = " ".join(f.message for f in fs)
    assert "twice" in messages and "empty Principal" in messages and "'s3:'" in messages


def test_statement_as_string() -> None:
    (f,) = scan("policy-statement-string.json")
    assert f.rule_id == "iam/malformed-policy" and "Statement is a str" in f.message


@pytest.mark.parametrize(
    "text",
    [
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": 5, "Resource": 7}]}',
        '{"Version": "2012-10-17", "Statement": [1, "x", null, {"Effect": ["Allow"]}]}',
        '{"Version": 2012, "Statement": {"Effect": "Allow", "Action": ["s3:GetObject", {"a": 1}], "Resource": []}}',
        "[1, 2, 3]",
        '"just a string"',
        '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": 5}, "Action": "s3:*", "Resource": "*"}]}',
    ],
)
def test_wrong_types_are_findings_not_crashes(tmp_path: Path, text: str) -> None:
    p = tmp_path / "policy.json"
    p.write_text(text)
    fs = scan(p)
    assert fs and all(f.path == "policy.json" for f in fs)


def test_duplicate_keys_at_top_level(tmp_path: Path) -> None:
    p = tmp_path / "dup.json"
    p.write_text(
        '{\n  "Version": "2012-10-17",\n  "Statement": [],\n  "Statement": [{"Effect": "Allow", '
        '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]\n}\n'
    )
    (f,) = by_rule(scan(p), "iam/malformed-policy")
    assert f.start_line == 4 and "'Statement' appears twice" in f.message


def test_invalid_json_is_skipped_with_reason(tmp_path: Path) -> None:
    p = tmp_path / "broken.json"
    p.write_text('{"Version": "2012-10-17", "Statement": [\n')
    with pytest.raises(SkipFile) as exc:
        scan(p)
    assert "line" in exc.value.reason


def test_json_with_slash_escape_and_tabs(tmp_path: Path) -> None:
    p = tmp_path / "esc.json"
    p.write_text(
        '{\t"Version": "2012-10-17",\n\t"Statement": [{"Effect": "Allow", "Action": "*", '
        '"Resource": "arn:aws:s3:::a\\/b"}]}'
    )
    assert rules(scan(p)) == {"iam/wildcard-action"}


def test_generic_json_without_policy_is_ignored(tmp_path: Path) -> None:
    from aisec_ci.workspace.kinds import FileKind

    p = tmp_path / "package.json"
    p.write_text('{"name": "x", "version": "1.0.0"}')
    assert scan(p, FileKind.JSON) == []


def test_every_rule_has_ruff_style_help() -> None:
    for rule in SCANNER.rules:
        assert rule.what and rule.why and rule.fix and rule.example, rule.id
        assert rule.help_text().startswith(rule.id)


@pytest.mark.parametrize(
    ("hostile", "size"),
    [
        (lambda n: 'x = "' + "${" * n, 20000),
        (lambda n: 'x = "' + '${"a"' * n, 20000),
        (lambda n: 'resource "aws_iam_policy" "p" {\n  policy = <<EOT\n' + "{" * n + "\n", 5000),
        (lambda n: "{" * n, 20000),
    ],
    ids=["open-interpolations", "nested-strings", "heredoc-braces", "open-braces"],
)
def test_hostile_terraform_is_bounded(tmp_path: Path, hostile: Callable[[int], str], size: int) -> None:
    from aisec_ci.workspace.kinds import FileKind

    p = tmp_path / "hostile.tf"

    def scan_hostile(n: int) -> None:
        p.write_text(hostile(n))
        scan(p, FileKind.TERRAFORM)

    # Work counted, not timed: 4x the unclosed openers must cost about 4x the parser's steps.
    # The tokenizer's regex work is one C call per token, which no count sees: its wall
    # time is measured by bench/pathological.py (terraform-*).
    assert_linear(scan_hostile, size // 40)
    scan_hostile(size)


def test_unparseable_generic_yaml_is_left_to_other_scanners(tmp_path: Path) -> None:
    from aisec_ci.workspace.kinds import FileKind

    p = tmp_path / "notes.yaml"
    p.write_text("Statement: [unclosed\n")
    assert scan(p, FileKind.YAML) == []
    with pytest.raises(SkipFile):
        scan(p, FileKind.IAM_POLICY)


def test_model_invocation_on_any_resource() -> None:
    path = "policy-invoke-endpoint-star.json"
    fs = scan(path)
    invoke = by_rule(fs, "iam/model-invoke-on-any-resource")
    assert [(f.start_line, f.severity.label) for f in invoke] == [
        (line_of(path, '"Resource": "*"'), "medium"),
        (line_of(path, '"Resource": "*"', nth=2), "medium"),
    ]
    assert "sagemaker:InvokeEndpoint, sagemaker:InvokeEndpointWithResponseStream" in invoke[0].message
    # The invocation on * is not reported twice; the other write action still is.
    star = {f.start_line: f.message for f in by_rule(fs, "iam/resource-star-write")}
    assert star[invoke[1].start_line].endswith("on Resource *: s3:PutObject")
    assert invoke[0].start_line not in star
    # A resource-tag condition scopes `*` (ABAC); `sagemaker:*` is the wildcard rule's.
    assert not [f for f in invoke if f.start_line >= line_of(path, "InvokeTaggedEndpoints")]
    assert any("sagemaker:*" in f.message for f in by_rule(fs, "iam/wildcard-action"))
    assert scan("policy-invoke-endpoint-safe.json") == []
