"""Terraform beyond policies: SageMaker notebooks (I10) and the JSON syntax (`.tf.json`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.scanners.base import SkipFile
from aisec_ci.severity import Severity
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.cloud.cloud_support import by_rule, line_of, rules, scan

NOTEBOOK = "iam/sagemaker-notebook-overprivileged"


def test_terraform_notebook_role_through_attachment_and_role_policy() -> None:
    path = "sagemaker-notebook-unsafe.tf"
    fs = by_rule(scan(path, FileKind.TERRAFORM), NOTEBOOK)
    role = [f for f in fs if f.severity is Severity.HIGH]
    assert [f.start_line for f in role] == [line_of(path, "role_arn")]
    assert "AmazonSageMakerFullAccess" in role[0].message
    assert "aws_iam_role_policy.notebook_data: s3:* on *" in role[0].message
    defaults = sorted(f.message.split(" has ")[1] for f in fs if f.severity is Severity.MEDIUM)
    assert defaults == ["direct_internet_access enabled (the default)", "root_access enabled (the default)"]


def test_terraform_notebook_safe() -> None:
    assert scan("sagemaker-notebook-safe.tf", FileKind.TERRAFORM) == []


def test_terraform_notebook_managed_policy_arns_and_customer_policy(tmp_path: Path) -> None:
    p = tmp_path / "nb.tf"
    p.write_text(
        'resource "aws_iam_policy" "wide" {\n'
        '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow", Action = "*", '
        'Resource = "*"}]})\n}\n'
        'resource "aws_iam_role" "nb" {\n'
        "  managed_policy_arns = [aws_iam_policy.wide.arn]\n}\n"
        'resource "aws_sagemaker_notebook_instance" "nb" {\n'
        "  role_arn = aws_iam_role.nb.arn\n"
        '  root_access = "Disabled"\n'
        '  direct_internet_access = "Disabled"\n}\n'
    )
    (f,) = by_rule(scan(p, FileKind.TERRAFORM), NOTEBOOK)
    assert f.start_line == 8
    assert "aws_iam_policy.wide: * on *" in f.message


def test_terraform_notebook_with_variables_is_not_guessed(tmp_path: Path) -> None:
    p = tmp_path / "nb.tf"
    p.write_text(
        'resource "aws_sagemaker_notebook_instance" "nb" {\n'
        "  role_arn = var.role_arn\n"
        "  root_access = var.root_access\n"
        "  direct_internet_access = var.internet\n}\n"
    )
    assert scan(p, FileKind.TERRAFORM) == []


def test_tf_json_policies_trust_and_notebook() -> None:
    path = "iam-unsafe.tf.json"
    fs = scan(path, FileKind.TERRAFORM)
    got = {(f.rule_id, f.start_line) for f in fs}
    assert got == {
        ("iam/wildcard-action", line_of(path, '"policy"')),
        ("iam/resource-star-write", line_of(path, '"policy"')),
        (NOTEBOOK, line_of(path, '"root_access"')),
        ("iam/open-trust-policy", line_of(path, ':aud"')),
    }


def test_tf_json_safe() -> None:
    assert scan("iam-safe.tf.json", FileKind.TERRAFORM) == []


def test_tf_json_same_findings_as_hcl(tmp_path: Path) -> None:
    hcl = tmp_path / "p.tf"
    hcl.write_text(
        'resource "aws_s3_bucket_policy" "b" {\n  bucket = "models"\n'
        '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow", Principal = "*", '
        'Action = "s3:GetObject", Resource = "arn:aws:s3:::models/*"}]})\n}\n'
    )
    js = tmp_path / "p.tf.json"
    js.write_text(
        '{"resource": {"aws_s3_bucket_policy": {"b": {"bucket": "models", "policy": '
        '"{\\"Version\\": \\"2012-10-17\\", \\"Statement\\": [{\\"Effect\\": \\"Allow\\", \\"Principal\\": \\"*\\", '
        '\\"Action\\": \\"s3:GetObject\\", \\"Resource\\": \\"arn:aws:s3:::models/*\\"}]}"}}}}\n'
    )
    from_hcl = rules(scan(hcl, FileKind.TERRAFORM))
    assert from_hcl and rules(scan(js, FileKind.TERRAFORM)) == from_hcl


def test_tf_json_bad_input(tmp_path: Path) -> None:
    p = tmp_path / "bad.tf.json"
    p.write_text('{"resource": {"aws_iam_policy": ')
    with pytest.raises(SkipFile, match="invalid JSON"):
        scan(p, FileKind.TERRAFORM)
    p.write_text('{"resource": "aws_iam_policy", "data": [1, 2], "locals": {"a": 1}}')
    assert scan(p, FileKind.TERRAFORM) == []
