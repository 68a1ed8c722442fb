"""Where policies are written: standalone policy JSON, CloudFormation (JSON or
YAML with short-form tags), and the dispatch of each policy to its rules."""

from __future__ import annotations

import json
from typing import Any

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.cloud import (
    apigateway_cfn,
    bucket_encryption,
    endpoint_encryption,
    iam_rules,
    resource_policies,
    sagemaker,
)
from aisec_ci.scanners.cloud.policy_model import Statement, looks_like_policy, statements
from aisec_ci.scanners.common.context import Context
from aisec_ci.yamlfile.values import YamlError, YList, YMap, load_documents

POLICY_TRUST = "trust"
POLICY_IDENTITY = "identity"
POLICY_RESOURCE = "resource"
POLICY_AUTO = "auto"


def _classify(sts: list[Statement]) -> str:
    if sts and all(s.has_principal or s.has_not_principal for s in sts):
        if all(any(a.lower().startswith("sts:assumerole") for a in s.actions) for s in sts if s.allows):
            return POLICY_TRUST
        return POLICY_RESOURCE
    return POLICY_IDENTITY


def analyse_policy(
    policy: Any, ctx: Context, *, where: str, key: str, line: int, kind: str = POLICY_AUTO, bucket: bool | None = None
) -> None:
    """Every rule that applies to one policy document."""
    if kind == POLICY_AUTO:
        kind = _classify(statements(policy))
    sts = iam_rules.check_policy(
        policy,
        ctx,
        where=where,
        key=key,
        line=line,
        trust=kind == POLICY_TRUST,
        resource_policy=kind == POLICY_RESOURCE,
    )
    if kind == POLICY_IDENTITY and any(s.has_principal for s in sts):
        # A policy mixing principal-less and principal statements is read as an identity
        # policy, but its public grants are still grants: judge those statements too.
        resource_policies.check_resource_policy([s for s in sts if s.has_principal], ctx, where=where, key=key)
    if kind == POLICY_TRUST:
        resource_policies.check_trust_policy(sts, ctx, where=where, key=key)
    elif kind == POLICY_RESOURCE:
        resource_policies.check_resource_policy(sts, ctx, where=where, key=key)
        is_bucket = resource_policies.is_bucket_policy(sts) if bucket is None else bucket
        if is_bucket:
            st_line = policy.line_of("Statement") if isinstance(policy, YMap) else line
            resource_policies.check_secure_transport(sts, ctx, where=where, key=key, line=st_line)


def _json_fallback(text: str) -> Any:
    """Plain JSON that the YAML reader refuses (rare escapes); no lines, duplicates still caught."""

    def pairs(items: list[tuple[str, Any]]) -> YMap:
        out = YMap()
        for k, v in items:
            if k in out:
                out.duplicates.append((k, 1))
            out[k] = v
        return out

    def lists(value: Any) -> Any:
        if isinstance(value, list):
            seq = YList()
            for v in value:
                seq.append(lists(v))
                seq.item_lines.append(1)
            return seq
        if isinstance(value, YMap):
            for k in list(value):
                value[k] = lists(value[k])
        return value

    return lists(json.loads(text, object_pairs_hook=pairs))


def load_document(text: str, *, is_json: bool) -> Any:
    try:
        docs = load_documents(text, max_documents=50)
    except YamlError as exc:
        if is_json:
            try:
                return _json_fallback(text)
            except (ValueError, RecursionError) as jexc:
                raise SkipFile(f"invalid JSON: {jexc}") from None
        raise SkipFile(exc.reason) from None
    if not docs:
        return None
    return docs[0].value


def scan_policy_file(value: Any, ctx: Context) -> bool:
    """A JSON file holding one policy (or an AWS CLI wrapper of one). False if it holds none."""
    if isinstance(value, YMap):
        for wrapper in ("PolicyDocument", "AssumeRolePolicyDocument", "Policy"):
            inner = value.get(wrapper)
            if looks_like_policy(inner) and "Statement" not in value:
                kind = POLICY_TRUST if wrapper == "AssumeRolePolicyDocument" else POLICY_AUTO
                analyse_policy(inner, ctx, where="policy", key=wrapper, line=value.line_of(wrapper), kind=kind)
                return True
    if isinstance(value, YMap) and ("Statement" in value or ("Version" in value and "Resources" not in value)):
        analyse_policy(value, ctx, where="policy", key="policy", line=value.line)
        return True
    return False


# CloudFormation resource type -> (property path to a policy, policy kind, is bucket policy)
_CFN_POLICIES: dict[str, tuple[tuple[tuple[str, ...], str, bool | None], ...]] = {
    "AWS::IAM::Policy": ((("PolicyDocument",), POLICY_IDENTITY, None),),
    "AWS::IAM::ManagedPolicy": ((("PolicyDocument",), POLICY_IDENTITY, None),),
    "AWS::IAM::Role": ((("AssumeRolePolicyDocument",), POLICY_TRUST, None),),
    "AWS::S3::BucketPolicy": ((("PolicyDocument",), POLICY_RESOURCE, True),),
    "AWS::SQS::QueuePolicy": ((("PolicyDocument",), POLICY_RESOURCE, False),),
    "AWS::SNS::TopicPolicy": ((("PolicyDocument",), POLICY_RESOURCE, False),),
    "AWS::KMS::Key": ((("KeyPolicy",), POLICY_RESOURCE, False),),
    "AWS::ECR::Repository": ((("RepositoryPolicyText",), POLICY_RESOURCE, False),),
}
_INLINE_POLICIES = frozenset({"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"})
# SAM resources whose `Policies` may hold policy documents (besides managed policy names and
# SAM policy templates, which are not documents).
_SAM_POLICIES = frozenset({"AWS::Serverless::Function", "AWS::Serverless::StateMachine"})


def scan_cloudformation(template: Any, ctx: Context) -> None:
    resources = template.get("Resources") if isinstance(template, YMap) else None
    if not isinstance(resources, YMap):
        return
    sagemaker.check(resources, ctx)
    apigateway_cfn.check(template, ctx)
    bucket_encryption.check_cloudformation(resources, ctx)
    endpoint_encryption.check_cloudformation(resources, ctx)
    for name, res in resources.items():
        if not isinstance(res, YMap):
            continue
        rtype = res.get("Type")
        props = res.get("Properties")
        if not isinstance(rtype, str) or not isinstance(props, YMap):
            continue
        for path, kind, bucket in _CFN_POLICIES.get(rtype, ()):
            doc: Any = props
            for step in path:
                doc = doc.get(step) if isinstance(doc, YMap) else None
            if doc is not None:
                analyse_policy(
                    doc,
                    ctx,
                    where=f"{rtype} {name}",
                    key=f"{name}.{'.'.join(path)}",
                    line=props.line_of(path[0]),
                    kind=kind,
                    bucket=bucket,
                )
        inline = props.get("Policies")
        if rtype in _INLINE_POLICIES and isinstance(inline, YList):
            for i, pol in enumerate(inline):
                if isinstance(pol, YMap) and pol.get("PolicyDocument") is not None:
                    pname = pol.get("PolicyName")
                    label = pname if isinstance(pname, str) else str(i)
                    analyse_policy(
                        pol["PolicyDocument"],
                        ctx,
                        where=f"{rtype} {name} policy {label}",
                        key=f"{name}.Policies.{label}",
                        line=pol.line_of("PolicyDocument"),
                        kind=POLICY_IDENTITY,
                    )
        if rtype in _SAM_POLICIES:
            _sam_policies(name, rtype, props, ctx)


def _sam_policies(name: str, rtype: str, props: YMap, ctx: Context) -> None:
    raw = props.get("Policies")
    docs = list(enumerate(raw)) if isinstance(raw, YList) else [(0, raw)]
    for i, doc in docs:
        if looks_like_policy(doc):
            line = raw.line_of(i) if isinstance(raw, YList) else props.line_of("Policies")
            analyse_policy(
                doc,
                ctx,
                where=f"{rtype} {name} policy {i}",
                key=f"{name}.Policies.{i}",
                line=line,
                kind=POLICY_IDENTITY,
            )


def is_cloudformation(value: Any) -> bool:
    if not isinstance(value, YMap):
        return False
    if "AWSTemplateFormatVersion" in value:
        return True
    resources = value.get("Resources")
    return isinstance(resources, YMap) and any(
        isinstance(r, YMap) and isinstance(r.get("Type"), str) and r["Type"].startswith(("AWS::", "Custom::"))
        for r in resources.values()
    )
