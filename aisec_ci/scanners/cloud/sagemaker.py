"""SageMaker notebook instances in CloudFormation (I10): an interactive
notebook is a shell in the account, so its role and its root/internet
settings matter more than a batch job's."""

from __future__ import annotations

from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.cloud.policy_model import statements
from aisec_ci.scanners.kubernetes.manifests import Context
from aisec_ci.scanners.kubernetes.yamlnodes import YList, YMap
from aisec_ci.severity import Severity

NOTEBOOK_ROLE = Rule(
    id="iam/sagemaker-notebook-overprivileged",
    name="SageMaker notebook with an over-privileged role or root access",
    short_description="A NotebookInstance uses a role with admin/full-access policies, or enables root access.",
    severity=Severity.HIGH,
    what="Reports `AWS::SageMaker::NotebookInstance` resources whose role (in the same template) has "
    "AdministratorAccess, PowerUserAccess, AmazonSageMakerFullAccess or AmazonS3FullAccess attached, or an "
    "inline policy allowing `*`, `sagemaker:*`, `s3:*` or `iam:*` on `*`; and (medium) notebooks with "
    "`RootAccess: Enabled` or `DirectInternetAccess: Enabled` (I10).",
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
