"""Public principals (I6), TLS-only bucket policies (I7), trust policies (I8),
in policy JSON, CloudFormation and Terraform."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.severity import Severity
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.cloud.cloud_support import by_rule, line_of, rules, scan


def test_public_bucket_policy() -> None:
    path = "bucket-policy-public.json"
    fs = scan(path)
    (pub,) = by_rule(fs, "iam/public-principal")
    assert pub.severity is Severity.HIGH and pub.start_line == line_of(path, '"Principal"')
    (tls,) = by_rule(fs, "s3/missing-secure-transport-deny")
    assert tls.start_line == line_of(path, '"Statement"')


def test_safe_bucket_policy() -> None:
    assert scan("bucket-policy-safe.json") == []


def test_trust_policies() -> None:
    (open_,) = scan("trust-open.json")
    assert open_.rule_id == "iam/open-trust-policy" and open_.severity is Severity.CRITICAL
    (gh,) = scan("trust-github-no-sub.json")
    assert gh.rule_id == "iam/open-trust-policy" and gh.severity is Severity.HIGH and ":sub" in gh.message
    assert scan("trust-github-safe.json") == []


def test_cloudformation_yaml_with_short_tags() -> None:
    path = "cloudformation-unsafe.yaml"
    fs = scan(path, FileKind.CLOUDFORMATION)
    got = {(f.rule_id, f.start_line) for f in fs}
    assert got == {
        ("s3/missing-secure-transport-deny", line_of(path, "Statement:")),
        ("iam/public-principal", line_of(path, 'Principal: "*"')),
        ("iam/open-trust-policy", line_of(path, "Principal:", nth=2)),
        ("iam/full-admin", line_of(path, 'Action: "*"')),
        ("iam/wildcard-action", line_of(path, "Action:", nth=4)),
    }


def test_cloudformation_json_safe() -> None:
    assert scan("cloudformation-safe.json", FileKind.CLOUDFORMATION) == []


def test_terraform_jsonencode_heredoc_and_policy_document() -> None:
    path = "iam-unsafe.tf"
    fs = scan(path, FileKind.TERRAFORM)
    assert {(f.rule_id, f.start_line) for f in fs} == {
        ("iam/privilege-escalation", line_of(path, 'Action   = ["sagemaker:*"')),
        ("iam/wildcard-action", line_of(path, 'Action   = ["sagemaker:*"')),
        ("iam/resource-star-write", line_of(path, 'Resource = "*"')),
        ("s3/missing-secure-transport-deny", line_of(path, '"Statement": [')),
        ("iam/public-principal", line_of(path, '"Principal": "*"')),
        ("iam/wildcard-action", line_of(path, '"Action": "s3:*"')),
        ("iam/open-trust-policy", line_of(path, "condition {")),
    }


def test_terraform_safe() -> None:
    assert scan("iam-safe.tf", FileKind.TERRAFORM) == []


def test_terraform_tolerates_unusual_hcl(tmp_path: Path) -> None:
    p = tmp_path / "odd.tf"
    p.write_text(
        'variable "x" { default = { a = [for s in var.l : upper(s)] } }\n'
        'resource "aws_iam_policy" "p" {\n  policy = var.enabled ? jsonencode({}) : null\n}\n'
        'resource "aws_iam_policy" "q" {\n  policy = jsonencode({\n    Version = "2012-10-17"\n'
        '    Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]\n  })\n}\n'
        "/* unterminated { block\n"
    )
    fs = scan(p, FileKind.TERRAFORM)
    assert rules(fs) == {"iam/full-admin"} and fs[0].start_line == 8


def test_terraform_public_principal_spelling(tmp_path: Path) -> None:
    p = tmp_path / "pub.tf"
    p.write_text(
        'data "aws_iam_policy_document" "pub" {\n  statement {\n    actions = ["s3:GetObject"]\n'
        '    resources = ["arn:aws:s3:::b/*"]\n    principals {\n      type = "*"\n      identifiers = ["*"]\n'
        "    }\n  }\n}\n"
    )
    (f,) = by_rule(scan(p, FileKind.TERRAFORM), "iam/public-principal")
    assert f.severity is Severity.MEDIUM and f.start_line == 5


def test_sagemaker_notebook_role_and_settings() -> None:
    path = "sagemaker-notebook-unsafe.yaml"
    fs = scan(path, FileKind.CLOUDFORMATION)
    got = {(f.start_line, f.severity) for f in by_rule(fs, "iam/sagemaker-notebook-overprivileged")}
    assert got == {
        (line_of(path, "RoleArn:"), Severity.HIGH),
        (line_of(path, "RootAccess: Enabled"), Severity.MEDIUM),
        (line_of(path, "Type: AWS::SageMaker::NotebookInstance"), Severity.MEDIUM),  # DirectInternetAccess default
    }
    assert "AmazonSageMakerFullAccess" in next(f.message for f in fs if f.severity is Severity.HIGH)
    assert scan("sagemaker-notebook-safe.yaml", FileKind.CLOUDFORMATION) == []


def test_public_statement_inside_a_mixed_policy_is_reported(tmp_path: Path) -> None:
    p = tmp_path / "mixed.json"
    p.write_text(
        '{"Version": "2012-10-17", "Statement": [\n'
        '  {"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": "*"},\n'
        '  {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],\n'
        '   "Resource": "arn:aws:s3:::models/*"}\n]}\n'
    )
    public = [f for f in scan(p) if f.rule_id == "iam/public-principal"]
    assert [(f.start_line, f.severity) for f in public] == [(3, Severity.HIGH)]
