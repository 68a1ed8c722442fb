"""IAM policy rules I1-I5 and I9: admin, wildcards, Resource `*` with write
access, privilege-escalation actions, Not* with Allow, and policy grammar."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.cloud import model_invoke
from aisec_ci.scanners.cloud.policy_model import Statement, is_intrinsic, statements
from aisec_ci.scanners.common.context import Context
from aisec_ci.severity import Severity
from aisec_ci.yamlfile.values import YList, YMap

IAM_REF = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html"

FULL_ADMIN = Rule(
    id="iam/full-admin",
    name="Policy grants full administrator access",
    short_description='`"Effect": "Allow"` with `"Action": "*"` on `"Resource": "*"`.',
    severity=Severity.CRITICAL,
    what="Reports Allow statements whose Action is `*` and whose Resource is `*` (I1), in policy JSON, "
    "CloudFormation (including ManagedPolicy, which some scanners skip) and Terraform.",
    why="Whoever holds the role (a training job, a notebook, a CI workflow) owns the AWS account: they can "
    "read every bucket, create users and keys, and delete the audit trail.",
    example='{"Effect": "Allow", "Action": "*", "Resource": "*"}',
    example_language="json",
    fix="Grant the actions the workload uses on the resources it uses, e.g. "
    '`"Action": "sagemaker:InvokeEndpoint", "Resource": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/my-model"`.',
    tags=("CWE-269", "CWE-732"),
    precision="very-high",
    references=(IAM_REF,),
)

WILDCARD_ACTION = Rule(
    id="iam/wildcard-action",
    name="Wildcard action",
    short_description='`"Action": "*"` or a whole service (`"s3:*"`, `"sagemaker:*"`, `"iam:*"`).',
    severity=Severity.MEDIUM,
    what="Reports Allow statements granting `*` (high) or every action of a service such as `s3:*`, "
    "`sagemaker:*` (medium; `iam:*`, `sts:*`, `kms:*` and `organizations:*` high) (I2).",
    why="A service wildcard grants destructive and administrative actions along with the few the workload "
    "needs: `sagemaker:*` includes creating notebooks and training jobs with any passed role, `s3:*` includes "
    "`PutBucketPolicy` (make the model bucket public) and `DeleteBucket`.",
    example='{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}',
    example_language="json",
    fix="List the actions, e.g. `sagemaker:InvokeEndpoint`, `s3:GetObject`, `s3:PutObject`.",
    tags=("CWE-269",),
    precision="very-high",
    references=(IAM_REF,),
)

RESOURCE_STAR = Rule(
    id="iam/resource-star-write",
    name="Write or permissions actions on Resource *",
    short_description="Allow statement with write/permissions-management actions on `*`.",
    severity=Severity.MEDIUM,
    what='Reports Allow statements on `Resource: "*"` (or NotResource) whose actions are not all '
    "read-only (Get/List/Describe/...) (I3).",
    why="Write access to every resource of a service crosses every boundary the account has: one "
    "compromised pipeline can overwrite any model artifact or endpoint, not just its own.",
    example='{"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "*"}',
    example_language="json",
    fix="Scope Resource to the ARNs used: `arn:aws:s3:::my-models/*`.",
    tags=("CWE-732",),
    precision="high",
    references=(IAM_REF,),
)

PRIV_ESC = Rule(
    id="iam/privilege-escalation",
    name="Privilege-escalation actions",
    short_description="Actions that let the holder grant itself more permissions (iam:PassRole on *, "
    "CreatePolicyVersion, Attach*Policy, ...).",
    severity=Severity.HIGH,
    what="Reports Allow statements that grant, on `*` or a wildcard ARN, actions known to escalate "
    "privileges: iam:PassRole, iam:CreatePolicyVersion, iam:SetDefaultPolicyVersion, iam:Attach/Put "
    "User/Role/GroupPolicy, iam:CreateAccessKey, iam:CreateLoginProfile, iam:UpdateLoginProfile, "
    "iam:UpdateAssumeRolePolicy, iam:AddUserToGroup, lambda:UpdateFunctionCode (I4).",
    why="Each of these turns limited access into admin: PassRole on `*` plus sagemaker:CreateTrainingJob "
    "(or CreateNotebookInstance) runs code with any role in the account; CreatePolicyVersion rewrites "
    "one's own policy.",
    example='{"Effect": "Allow", "Action": ["iam:PassRole", "sagemaker:CreateTrainingJob"], "Resource": "*"}',
    example_language="json",
    fix="Scope iam:PassRole to the execution role ARN and add `iam:PassedToService`; remove IAM write actions "
    "from workload roles.",
    tags=("CWE-269",),
    precision="high",
    references=("https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",),
)

NOT_ELEMENTS = Rule(
    id="iam/not-action-with-allow",
    name="NotAction / NotResource / NotPrincipal with Allow",
    short_description="An Allow statement uses NotAction, NotResource or NotPrincipal.",
    severity=Severity.MEDIUM,
    what="Reports Allow statements with NotAction or NotResource (medium) or NotPrincipal (high) (I5).",
    why="`Allow` + `Not*` grants everything except a list: every new AWS service and action is granted the "
    "day it launches, and a typo in the list silently widens it.",
    example='{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}',
    example_language="json",
    fix="Use Action/Resource allow-lists; keep Not* for Deny statements.",
    tags=("CWE-732",),
    precision="very-high",
    references=(IAM_REF,),
)

MALFORMED = Rule(
    id="iam/malformed-policy",
    name="Malformed policy document",
    short_description="Bad Version, wrong types, empty Principal, incomplete actions, duplicate keys or Sids.",
    severity=Severity.MEDIUM,
    what="Reports policy grammar errors (I9): missing or unknown Version (2008-10-17 is low), Statement or "
    "Action of the wrong type, Effect other than Allow/Deny, actions like `s3:` or without a service prefix, "
    "empty Principal, missing Action/Resource, duplicate Sids and duplicate JSON keys.",
    why="AWS rejects some of these at deploy time, but others are accepted with a meaning nobody intended: "
    "with a duplicate key only the last value counts, and the 2008 version disables policy variables, so "
    "`${aws:username}` becomes a literal. A reviewer reads a different policy from the one AWS enforces.",
    example='{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:", "Resource": "*"}}',
    example_language="json",
    fix='Use `"Version": "2012-10-17"`, a list of statements with Effect, Action and Resource, and '
    "`service:Action` names.",
    tags=("CWE-1286",),
    precision="very-high",
    references=(IAM_REF,),
)

RULES: tuple[Rule, ...] = (FULL_ADMIN, WILDCARD_ACTION, RESOURCE_STAR, PRIV_ESC, NOT_ELEMENTS, MALFORMED)

_HIGH_SERVICES = frozenset({"iam", "sts", "kms", "organizations", "sso", "secretsmanager"})
_READ_PREFIXES = (
    "get",
    "list",
    "describe",
    "head",
    "view",
    "lookup",
    "batchget",
    "check",
    "validate",
    "preview",
    "estimate",
    "search",
    "select",
)
# Write actions that AWS only supports on Resource "*": scoping them is impossible.
_STAR_ONLY = frozenset(
    {
        "cloudwatch:putmetricdata",
        "xray:puttracesegments",
        "xray:puttelemetryrecords",
        "ecr:getauthorizationtoken",
        "logs:createloggroup",
        "sts:getcalleridentity",
        "s3:listallmybuckets",
    }
)
PRIVESC_ACTIONS = (
    "iam:PassRole",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AttachUserPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachGroupPolicy",
    "iam:PutUserPolicy",
    "iam:PutRolePolicy",
    "iam:PutGroupPolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:UpdateAssumeRolePolicy",
    "iam:AddUserToGroup",
    "lambda:UpdateFunctionCode",
)
_ACTION_RE = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$")
VALID_VERSIONS = ("2012-10-17", "2008-10-17")
_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"}
)


def is_read_only(action: str) -> bool:
    if ":" not in action:
        return False
    verb = action.split(":", 1)[1].lower()
    return bool(verb) and verb != "*" and verb.startswith(_READ_PREFIXES)


def _effectively_star(resource: str) -> bool:
    return resource == "*" or resource.endswith((":*", ":*/*")) or resource in ("arn:aws:iam::*:role/*",)


def check_policy(
    policy: Any, ctx: Context, *, where: str, key: str, line: int, trust: bool = False, resource_policy: bool = False
) -> list[Statement]:
    """Run the identity-policy rules and the grammar rule; returns the statements for the other modules."""
    _grammar(policy, ctx, where=where, key=key, line=line, trust=trust, resource_policy=resource_policy)
    sts = statements(policy)
    for s in sts:
        if not s.allows:
            continue
        skey = f"{key}:{s.sid or s.index}"
        label = f"{where} {s.label}"
        full_action = any(a == "*" or a == "*:*" for a in s.actions)
        if full_action and s.resource_star and not trust:
            ctx.report(
                FULL_ADMIN, s.line_of("Action"), f"{label} allows every action on every resource", key=f"{skey}:admin"
            )
        elif full_action and not trust:
            ctx.report(
                WILDCARD_ACTION,
                s.line_of("Action"),
                f'{label} allows every action ("*")',
                key=f"{skey}:wildcard:*",
                severity=Severity.HIGH,
            )
        if not full_action:
            for action in s.actions:
                service, _, verb = action.partition(":")
                if verb == "*" and service:
                    sev = Severity.HIGH if service.lower() in _HIGH_SERVICES else WILDCARD_ACTION.severity
                    ctx.report(
                        WILDCARD_ACTION,
                        s.line_of("Action"),
                        f"{label} allows every {service} action ({action})",
                        key=f"{skey}:wildcard:{action.lower()}",
                        severity=sev,
                    )
        if s.has_not_action or s.has_not_resource:
            which = "NotAction" if s.has_not_action else "NotResource"
            ctx.report(NOT_ELEMENTS, s.line_of(which), f"{label} uses {which} with Allow", key=f"{skey}:{which}")
        if s.has_not_principal:
            ctx.report(
                NOT_ELEMENTS,
                s.line_of("NotPrincipal"),
                f"{label} uses NotPrincipal with Allow",
                key=f"{skey}:NotPrincipal",
                severity=Severity.HIGH,
            )
        if trust or resource_policy:
            continue
        if s.resource_star and not full_action:
            # Model invocation on `*` has its own rule, with its own fix.
            invoke = model_invoke.check_statement(s, ctx, label, skey)
            writes = sorted(
                {
                    a
                    for a in s.actions
                    if not is_read_only(a)
                    and a.lower() not in _STAR_ONLY
                    and not (invoke and model_invoke.is_invoke_action(a))
                }
            )
            if writes:
                shown = ", ".join(writes[:5]) + (f" (+{len(writes) - 5} more)" if len(writes) > 5 else "")
                ctx.report(
                    RESOURCE_STAR,
                    s.line_of("Resource" if s.has_resource else "NotResource"),
                    f"{label} allows write/permissions actions on Resource *: {shown}",
                    key=f"{skey}:resource-star",
                )
        if not full_action:
            _privesc(s, ctx, label, skey)
    return sts


def _privesc(s: Statement, ctx: Context, label: str, skey: str) -> None:
    if not (s.has_not_resource or any(_effectively_star(r) for r in s.resources)):
        return
    granted = [a for a in PRIVESC_ACTIONS if s.matches_action(a)]
    if not granted:
        return
    extra = ""
    if "iam:PassRole" in granted and any(
        s.matches_action(a)
        for a in (
            "sagemaker:CreateTrainingJob",
            "sagemaker:CreateNotebookInstance",
            "ec2:RunInstances",
            "lambda:CreateFunction",
            "glue:CreateJob",
        )
    ):
        extra = " (with a compute-creating action: run code as any role)"
    shown = ", ".join(granted[:6]) + (f" (+{len(granted) - 6} more)" if len(granted) > 6 else "")
    ctx.report(
        PRIV_ESC,
        s.line_of("Action" if s.has_action else "NotAction"),
        f"{label} grants privilege-escalation actions on a wildcard resource: {shown}{extra}",
        key=f"{skey}:privesc",
    )


def _grammar(policy: Any, ctx: Context, *, where: str, key: str, line: int, trust: bool, resource_policy: bool) -> None:
    def bad(at: int, message: str, slug: str, severity: Severity | None = None) -> None:
        ctx.report(MALFORMED, at, f"{where}: {message}", key=f"{key}:malformed:{slug}", severity=severity)

    if is_intrinsic(policy):
        return
    if not isinstance(policy, YMap):
        bad(line, f"policy document is a {type(policy).__name__}, not an object", "type")
        return
    for dup, dline in policy.duplicates:
        bad(dline, f"key {dup!r} appears twice; only the last value counts", f"dup:{dup}")
    version = policy.get("Version")
    if version is None:
        bad(policy.line, "no Version (policy variables are not evaluated); use 2012-10-17", "version", Severity.LOW)
    elif version == "2008-10-17":
        bad(
            policy.line_of("Version"),
            "Version 2008-10-17 disables policy variables; use 2012-10-17",
            "version",
            Severity.LOW,
        )
    elif version not in VALID_VERSIONS and not is_intrinsic(version):
        bad(policy.line_of("Version"), f"unknown Version {version!r}", "version")
    raw = policy.get("Statement")
    if raw is None:
        bad(policy.line, "no Statement", "statement")
        return
    if not isinstance(raw, (YList, YMap)) and not is_intrinsic(raw):
        bad(
            policy.line_of("Statement"), f"Statement is a {type(raw).__name__}, not a list of objects", "statement-type"
        )
        return
    items = list(enumerate(raw)) if isinstance(raw, YList) else [(0, raw)]
    sids: Counter[str] = Counter()
    for index, st in items:
        st_line = raw.line_of(index) if isinstance(raw, YList) else policy.line_of("Statement")
        if is_intrinsic(st):
            continue
        if not isinstance(st, YMap):
            bad(st_line, f"statement {index} is a {type(st).__name__}, not an object", f"{index}:type")
            continue
        _statement_grammar(st, index, bad, trust=trust, resource_policy=resource_policy)
        sid = st.get("Sid")
        if isinstance(sid, str):
            sids[sid] += 1
            if sids[sid] == 2:
                bad(st.line_of("Sid"), f"Sid {sid!r} is used by more than one statement", f"dup-sid:{sid}")


def _statement_grammar(st: YMap, index: int, bad: Any, *, trust: bool, resource_policy: bool) -> None:
    for dup, dline in st.duplicates:
        bad(dline, f"statement {index} has key {dup!r} twice; only the last value counts", f"{index}:dup:{dup}")
    for k in st:
        if k not in _STATEMENT_KEYS:
            bad(st.line_of(k), f"statement {index} has unknown element {k!r}", f"{index}:unknown:{k}")
    effect = st.get("Effect")
    if effect not in ("Allow", "Deny") and not is_intrinsic(effect):
        bad(st.line_of("Effect"), f"statement {index} Effect must be Allow or Deny, not {effect!r}", f"{index}:effect")
    if "Action" not in st and "NotAction" not in st:
        bad(st.line, f"statement {index} has neither Action nor NotAction", f"{index}:no-action")
    if "Action" in st and "NotAction" in st:
        bad(st.line_of("NotAction"), f"statement {index} has both Action and NotAction", f"{index}:both-action")
    needs_resource = not trust
    if needs_resource and "Resource" not in st and "NotResource" not in st:
        bad(st.line, f"statement {index} has neither Resource nor NotResource", f"{index}:no-resource")
    for field in ("Action", "NotAction"):
        if field in st:
            _action_grammar(st, field, index, bad)
    for field in ("Resource", "NotResource"):
        value = st.get(field)
        if field in st and not (
            isinstance(value, str)
            or is_intrinsic(value)
            or (isinstance(value, list) and all(isinstance(v, str) or is_intrinsic(v) for v in value) and value)
        ):
            bad(
                st.line_of(field),
                f"statement {index} {field} must be a string or a non-empty list of strings",
                f"{index}:{field}-type",
            )
    for field in ("Principal", "NotPrincipal"):
        if field in st:
            value = st[field]
            if value in ("", None) or (isinstance(value, (dict, list)) and not value):
                bad(st.line_of(field), f"statement {index} has an empty {field}", f"{index}:{field}-empty")
            elif isinstance(value, str) and value != "*":
                bad(
                    st.line_of(field),
                    f'statement {index} {field} must be "*" or an object such as {{"AWS": ...}}',
                    f"{index}:{field}-type",
                )
    if "Condition" in st and not isinstance(st["Condition"], dict):
        bad(st.line_of("Condition"), f"statement {index} Condition must be an object", f"{index}:condition-type")


def _action_grammar(st: YMap, field: str, index: int, bad: Any) -> None:
    value = st[field]
    if is_intrinsic(value):
        return
    values = value if isinstance(value, list) else [value]
    if not values:
        bad(st.line_of(field), f"statement {index} {field} is an empty list", f"{index}:{field}-empty")
    for v in values:
        if is_intrinsic(v):
            continue
        if not isinstance(v, str):
            bad(
                st.line_of(field),
                f"statement {index} {field} holds {v!r} ({type(v).__name__}), not a string",
                f"{index}:{field}-type:{v!r}",
            )
        elif v not in ("*",) and not _ACTION_RE.match(v):
            bad(
                st.line_of(field),
                f"statement {index} {field} {v!r} is not of the form service:Action",
                f"{index}:{field}-form:{v}",
            )
