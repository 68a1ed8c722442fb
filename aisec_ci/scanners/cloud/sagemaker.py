"""SageMaker notebook instances in CloudFormation and Terraform (I10): an interactive
notebook is a shell in the account, so its role and its root/internet
settings matter more than a batch job's."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.cloud import hcl
from aisec_ci.scanners.cloud.policy_model import statements
from aisec_ci.scanners.common.context import Context
from aisec_ci.severity import Severity
from aisec_ci.yamlfile.values import YList, YMap

NOTEBOOK_ROLE = Rule(
    id="iam/sagemaker-notebook-overprivileged",
    name="SageMaker notebook with an over-privileged role or root access",
    short_description="A NotebookInstance uses a role with admin/full-access policies, or enables root access.",
    severity=Severity.HIGH,
    what="Reports `AWS::SageMaker::NotebookInstance` (CloudFormation) and `aws_sagemaker_notebook_instance` "
    "(Terraform) resources whose role (in the same template or .tf file) has "
    "AdministratorAccess, PowerUserAccess, AmazonSageMakerFullAccess or AmazonS3FullAccess attached, or an "
    "inline or attached policy allowing `*`, `sagemaker:*`, `s3:*` or `iam:*` on `*`; and (medium) notebooks "
    "with root access or direct internet access enabled, which is the default when the field is omitted (I10).",
    why="Everyone who can open the notebook runs code with its role. With full access, one leaked presigned "
    "notebook URL or one malicious package installed in a cell reads every dataset and model in the account.",
    example="Notebook:\n  Type: AWS::SageMaker::NotebookInstance\n  Properties:\n    RoleArn: !GetAtt "
    "NotebookRole.Arn\nNotebookRole:\n  Type: AWS::IAM::Role\n  Properties:\n    ManagedPolicyArns:\n"
    "      - arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
    example_language="yaml",
    fix="Give the notebook a role scoped to its own buckets and experiments, set `RootAccess: Disabled` and "
    "`DirectInternetAccess: Disabled` with a VPC subnet.",
    tags=("CWE-269", "CWE-250"),
    precision="high",
)

RULES: tuple[Rule, ...] = (NOTEBOOK_ROLE,)

_BROAD_MANAGED = (
    "AdministratorAccess",
    "PowerUserAccess",
    "AmazonSageMakerFullAccess",
    "AmazonS3FullAccess",
    "IAMFullAccess",
)
_BROAD_ACTIONS = frozenset({"*", "*:*", "sagemaker:*", "s3:*", "iam:*"})


def _role_name(ref: Any) -> str | None:
    """The logical id a RoleArn points at: !GetAtt X.Arn, !Ref X, or !Sub '${X.Arn}'."""
    if isinstance(ref, dict) and len(ref) == 1:
        ((fn, arg),) = ref.items()
        if fn == "Fn::GetAtt":
            if isinstance(arg, list) and arg:
                return str(arg[0])
            if isinstance(arg, str):
                return arg.split(".", 1)[0]
        if fn == "Ref" and isinstance(arg, str):
            return arg
        if fn == "Fn::Sub" and isinstance(arg, str) and arg.startswith("${") and arg.endswith("}"):
            return arg[2:-1].split(".", 1)[0]
    return None


def _broad_reasons(role: YMap) -> list[str]:
    props = role.get("Properties")
    if not isinstance(props, YMap):
        return []
    reasons = []
    managed = props.get("ManagedPolicyArns")
    if isinstance(managed, YList):
        for arn in managed:
            if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in _BROAD_MANAGED:
                reasons.append(arn.rsplit("/", 1)[-1])
    inline = props.get("Policies")
    if isinstance(inline, YList):
        for pol in inline:
            doc = pol.get("PolicyDocument") if isinstance(pol, YMap) else None
            for s in statements(doc):
                broad = sorted(a for a in s.actions if a.lower() in _BROAD_ACTIONS)
                if s.allows and broad and s.resource_star:
                    reasons.append(f"inline {', '.join(broad)} on *")
    return reasons


def check(resources: YMap, ctx: Context) -> None:
    for name, res in resources.items():
        if not isinstance(res, YMap) or res.get("Type") != "AWS::SageMaker::NotebookInstance":
            continue
        props = res.get("Properties")
        if not isinstance(props, YMap):
            continue
        role_id = _role_name(props.get("RoleArn"))
        role = resources.get(role_id) if role_id else None
        if isinstance(role, YMap) and role.get("Type") == "AWS::IAM::Role":
            reasons = _broad_reasons(role)
            if reasons:
                ctx.report(
                    NOTEBOOK_ROLE,
                    props.line_of("RoleArn"),
                    f"notebook {name} runs with role {role_id}, which has {'; '.join(reasons)}",
                    key=f"{name}:role",
                )
        for field in ("RootAccess", "DirectInternetAccess"):
            # Both default to Enabled when omitted.
            if str(props.get(field, "Enabled")) == "Enabled":
                line = props.line_of(field) if field in props else res.line_of("Type")
                ctx.report(
                    NOTEBOOK_ROLE,
                    line,
                    f"notebook {name} has {field} enabled" + ("" if field in props else " (the default)"),
                    key=f"{name}:{field}",
                    severity=Severity.MEDIUM,
                )


# Terraform references: `aws_iam_role.notebook.arn`, `aws_iam_role.notebook.name`.
_TF_REF_RE = re.compile(r"^\$\{(aws_iam_role|aws_iam_policy)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.(arn|name|id)\}$")


def _tf_ref(value: Any, rtype: str) -> str | None:
    if not isinstance(value, str):
        return None
    m = _TF_REF_RE.match(value.strip())
    return m.group(2) if m and m.group(1) == rtype else None


def _broad_in_policy(policy: Any, label: str) -> list[str]:
    out = []
    for s in statements(policy):
        broad = sorted(a for a in s.actions if a.lower() in _BROAD_ACTIONS)
        if s.allows and broad and s.resource_star:
            out.append(f"{label} {', '.join(broad)} on *")
    return out


def _managed_reason(arn: Any, policies: dict[str, Any]) -> list[str]:
    if isinstance(arn, str) and arn.startswith("arn:") and arn.rsplit("/", 1)[-1] in _BROAD_MANAGED:
        return [arn.rsplit("/", 1)[-1]]
    name = _tf_ref(arn, "aws_iam_policy")
    if name is not None and policies.get(name) is not None:
        return _broad_in_policy(policies[name], f"aws_iam_policy.{name}:")
    return []


def check_terraform(root: hcl.Block, ctx: Context, policy_of: Callable[[Any, int], Any]) -> None:
    """Terraform notebooks; `policy_of(value, line)` turns an attribute into a policy document."""
    resources = [b for b in root.blocks_of("resource") if len(b.labels) == 2]
    notebooks = [b for b in resources if b.labels[0] == "aws_sagemaker_notebook_instance"]
    if not notebooks:
        return
    policies = {
        b.labels[1]: policy_of(b.attrs.get("policy"), b.attrs.line_of("policy"))
        for b in resources
        if b.labels[0] == "aws_iam_policy"
    }
    reasons: dict[str, list[str]] = {}
    for b in resources:
        rtype, rname = b.labels
        if rtype == "aws_iam_role":
            managed = b.attrs.get("managed_policy_arns")
            for arn in managed if isinstance(managed, list) else ():
                reasons.setdefault(rname, []).extend(_managed_reason(arn, policies))
            for inline in b.blocks_of("inline_policy"):
                doc = policy_of(inline.attrs.get("policy"), inline.attrs.line_of("policy"))
                reasons.setdefault(rname, []).extend(_broad_in_policy(doc, "inline"))
        elif rtype in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment"):
            roles = b.attrs.get("roles") if rtype == "aws_iam_policy_attachment" else [b.attrs.get("role")]
            for ref in roles if isinstance(roles, list) else ():
                role = _tf_ref(ref, "aws_iam_role")
                if role is not None:
                    reasons.setdefault(role, []).extend(_managed_reason(b.attrs.get("policy_arn"), policies))
        elif rtype == "aws_iam_role_policy":
            role = _tf_ref(b.attrs.get("role"), "aws_iam_role")
            if role is not None:
                doc = policy_of(b.attrs.get("policy"), b.attrs.line_of("policy"))
                reasons.setdefault(role, []).extend(_broad_in_policy(doc, f"aws_iam_role_policy.{rname}:"))
    for nb in notebooks:
        name = nb.labels[1]
        attrs = nb.attrs
        role = _tf_ref(attrs.get("role_arn"), "aws_iam_role")
        found = sorted(set(reasons.get(role, []))) if role else []
        if found:
            ctx.report(
                NOTEBOOK_ROLE,
                attrs.line_of("role_arn"),
                f"notebook {name} runs with role aws_iam_role.{role}, which has {'; '.join(found)}",
                key=f"{name}:role",
            )
        for field, label in (("root_access", "RootAccess"), ("direct_internet_access", "DirectInternetAccess")):
            value = attrs.get(field, "Enabled")
            if isinstance(value, str) and value == "Enabled":
                ctx.report(
                    NOTEBOOK_ROLE,
                    attrs.line_of(field) if field in attrs else nb.line,
                    f"notebook {name} has {field} enabled" + ("" if field in attrs else " (the default)"),
                    key=f"{name}:{label}",
                    severity=Severity.MEDIUM,
                )
