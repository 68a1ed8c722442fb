"""Resource and trust policies: public principals (I6), S3 bucket policies
without a TLS-only Deny (I7), and role trust policies open to anyone or to any
GitHub repository (I8)."""

from __future__ import annotations

from aisec_ci.rules import Rule
from aisec_ci.scanners.cloud.iam_rules import is_read_only
from aisec_ci.scanners.cloud.policy_model import Statement, principal_values
from aisec_ci.scanners.common.context import Context
from aisec_ci.severity import Severity

PUBLIC_PRINCIPAL = Rule(
    id="iam/public-principal",
    name="Resource policy open to everyone",
    short_description='Allow for `"Principal": "*"` (or `{"AWS": "*"}`) without a restricting condition.',
    severity=Severity.HIGH,
    what="Reports Allow statements in bucket, queue, topic, key or other resource policies whose principal is "
    "`*` and that have no condition restricting the caller (aws:SourceIp, aws:SourceVpc(e), "
    "aws:PrincipalOrgID, aws:PrincipalAccount, aws:SourceAccount, aws:SourceArn, aws:PrincipalArn) (I6). "
    "Read-only access is medium, anything else high.",
    why="Anyone on the internet, authenticated to any AWS account or none, gets the access: public model "
    "and dataset buckets leak proprietary weights and training data, and public write lets anyone replace them.",
    example='{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/*"}',
    example_language="json",
    fix="Name the principals (account or role ARNs), or add a condition such as `aws:PrincipalOrgID` or "
    "`aws:SourceVpce`; serve public files through CloudFront with origin access control.",
    tags=("CWE-732", "CWE-284"),
    precision="high",
)

TLS_DENY = Rule(
    id="s3/missing-secure-transport-deny",
    profile="strict",
    name="Bucket policy does not deny plain HTTP",
    short_description='No Deny statement with `"aws:SecureTransport": "false"`.',
    severity=Severity.LOW,
    what="Reports S3 bucket policies that lack a Deny statement conditioned on `aws:SecureTransport` false (I7). "
    "No other scanner checks this on policy documents.",
    why="Without it, clients may fetch or upload models and datasets over plain HTTP, where they can be read "
    "or swapped in transit; AWS Config's s3-bucket-ssl-requests-only rule and CIS require it.",
    example='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": '
    '"arn:aws:iam::123456789012:role/trainer"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/*"}]}',
    example_language="json",
    fix='Add `{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::models", '
    '"arn:aws:s3:::models/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}`.',
    tags=("CWE-319",),
    precision="high",
    references=("https://repost.aws/knowledge-center/s3-bucket-policy-for-config-rule",),
)

OPEN_TRUST = Rule(
    id="iam/open-trust-policy",
    name="Role can be assumed by anyone or by any GitHub repository",
    short_description="Trust policy allows sts:AssumeRole* for `*`, or GitHub OIDC without a `sub` condition.",
    severity=Severity.CRITICAL,
    what="Reports role trust policies that allow `sts:AssumeRole*` to principal `*` without conditions "
    "(critical), and GitHub Actions OIDC (`token.actions.githubusercontent.com`) federation without a "
    "`token.actions.githubusercontent.com:sub` condition or with a wildcard one such as `repo:*` (high) (I8).",
    why="A `*` trust lets any AWS account assume the role. OIDC trust without a `sub` condition lets every "
    "GitHub repository in the world — anyone can create one — get credentials for the role from a workflow.",
    example='"Principal": {"Federated":\n'
    '  "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},\n'
    '"Action": "sts:AssumeRoleWithWebIdentity"',
    example_language="json",
    fix='Add `"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}` and '
    '`"StringLike": {"token.actions.githubusercontent.com:sub": "repo:my-org/my-repo:ref:refs/heads/main"}`.',
    tags=("CWE-284", "CWE-863"),
    precision="high",
    references=(
        "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/"
        "configuring-openid-connect-in-amazon-web-services",
    ),
)

RULES: tuple[Rule, ...] = (PUBLIC_PRINCIPAL, TLS_DENY, OPEN_TRUST)

RESTRICTING_KEYS = frozenset(
    {
        "aws:sourceip",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:principalarn",
        "aws:userid",
        "aws:calledvia",
        "kms:calleraccount",
        "kms:viaservice",
    }
)
GITHUB_OIDC = "token.actions.githubusercontent.com"


def is_public(s: Statement) -> bool:
    return any(t == "*" or v == "*" for t, v in principal_values(s.principal))


def _restricted(s: Statement) -> bool:
    return bool(s.condition_keys() & RESTRICTING_KEYS)


def check_resource_policy(sts: list[Statement], ctx: Context, *, where: str, key: str) -> None:
    for s in sts:
        if not s.allows or not s.has_principal or not is_public(s) or _restricted(s):
            continue
        if any(a.lower().startswith("sts:assumerole") for a in s.actions):
            continue  # the trust-policy rule reports these
        read_only = bool(s.actions) and all(is_read_only(a) for a in s.actions)
        sev = Severity.MEDIUM if read_only else Severity.HIGH
        what = "read" if read_only else "access"
        ctx.report(
            PUBLIC_PRINCIPAL,
            s.line_of("Principal"),
            f"{where} {s.label} grants public {what} "
            f"({', '.join(s.actions[:4]) or 'NotAction'}) with no restricting condition",
            key=f"{key}:{s.sid or s.index}:public",
            severity=sev,
        )


def is_bucket_policy(sts: list[Statement]) -> bool:
    for s in sts:
        if any(r.startswith("arn:aws:s3:::") for r in s.resources + s.not_resources):
            return True
        if s.has_principal and any(a.lower().startswith("s3:") for a in s.actions):
            return True
    return False


def check_secure_transport(sts: list[Statement], ctx: Context, *, where: str, key: str, line: int) -> None:
    for s in sts:
        if s.effect != "Deny":
            continue
        if any(v.lower() == "false" for v in s.condition_values("aws:SecureTransport")):
            return
        # `NumericLessThan s3:TlsVersion 1.2` also forces TLS.
        if s.condition_values("s3:TlsVersion"):
            return
    ctx.report(
        TLS_DENY,
        line,
        f"{where} has no Deny for requests with aws:SecureTransport false",
        key=f"{key}:secure-transport",
    )


def check_trust_policy(sts: list[Statement], ctx: Context, *, where: str, key: str) -> None:
    for s in sts:
        if not s.allows or not any(a.lower().startswith("sts:assumerole") or a == "*" for a in s.actions):
            continue
        principals = principal_values(s.principal)
        skey = f"{key}:{s.sid or s.index}"
        if any(t == "*" or v == "*" for t, v in principals) and not _restricted(s) and not s.condition_keys():
            ctx.report(
                OPEN_TRUST,
                s.line_of("Principal"),
                f"{where} {s.label} lets any AWS principal assume the role",
                key=f"{skey}:open",
            )
            continue
        for ptype, value in principals:
            if ptype != "Federated" or GITHUB_OIDC not in value:
                continue
            subs = s.condition_values(f"{GITHUB_OIDC}:sub")
            if not subs:
                ctx.report(
                    OPEN_TRUST,
                    s.line_of("Condition" if s.condition is not None else "Principal"),
                    f"{where} {s.label} trusts GitHub OIDC without a {GITHUB_OIDC}:sub condition: any "
                    "repository's workflow can assume the role",
                    key=f"{skey}:github-sub",
                    severity=Severity.HIGH,
                )
            elif any(sub.strip() in ("*", "repo:*") or sub.startswith("repo:*") for sub in subs):
                ctx.report(
                    OPEN_TRUST,
                    s.line_of("Condition"),
                    f"{where} {s.label} trusts GitHub OIDC with a wildcard sub ({', '.join(subs[:3])})",
                    key=f"{skey}:github-sub",
                    severity=Severity.HIGH,
                )
