"""Model invocation in IAM: `sagemaker:InvokeEndpoint` or `bedrock:InvokeModel` granted on
`"*"` (rule `iam/model-invoke-on-any-resource`), and the evidence that a role or a Lambda
function calls a model, which the API Gateway rules use to tell a model API from any API."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from aisec_ci.rules import Rule
from aisec_ci.scanners.cloud.policy_model import Statement
from aisec_ci.scanners.common.context import Context
from aisec_ci.severity import Severity

INVOKE_ON_STAR = Rule(
    id="iam/model-invoke-on-any-resource",
    name="Model invocation allowed on every endpoint or model",
    short_description='`sagemaker:InvokeEndpoint` or `bedrock:InvokeModel` granted on `"Resource": "*"`.',
    severity=Severity.MEDIUM,
    what="Reports Allow statements of identity policies (policy JSON, CloudFormation including SAM function "
    "`Policies`, Terraform) that grant SageMaker endpoint invocation (`sagemaker:InvokeEndpoint`, "
    "`InvokeEndpointAsync`, `InvokeEndpointWithResponseStream`) or Bedrock model invocation "
    '(`bedrock:InvokeModel`, `InvokeModelWithResponseStream`) on `Resource: "*"` without a resource-tag '
    "condition. A statement that grants only these actions on `*` is reported here and not as "
    "`iam/resource-star-write`; whole-service wildcards (`sagemaker:*`) stay with `iam/wildcard-action`.",
    why="The role behind an API or a Lambda function can then call every endpoint and foundation model in "
    "the account and region: a bug or an injected request reaches the unreleased model, the one trained "
    "on restricted data, or the most expensive foundation model, and the bill and the data exposure follow. "
    "One ARN per endpoint or model keeps a compromise to the model the workload serves.",
    example='{"Effect": "Allow", "Action": ["sagemaker:InvokeEndpoint"], "Resource": "*"}',
    example_language="json",
    fix="Name the endpoint or model: "
    '`"Resource": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/sentiment-prod"` or '
    '`"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"` '
    "(`!GetAtt`/`!Sub` or `aws_sagemaker_endpoint.x.arn` in templates).",
    tags=("CWE-732", "CWE-269"),
    precision="high",
    references=(
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html",
        "https://docs.aws.amazon.com/bedrock/latest/userguide/security_iam_id-based-policy-examples.html",
    ),
)

RULES: tuple[Rule, ...] = (INVOKE_ON_STAR,)

INVOKE_ACTIONS: dict[str, str] = {
    "sagemaker:invokeendpoint": "SageMaker",
    "sagemaker:invokeendpointasync": "SageMaker",
    "sagemaker:invokeendpointwithresponsestream": "SageMaker",
    "bedrock:invokemodel": "Bedrock",
    "bedrock:invokemodelwithresponsestream": "Bedrock",
}
# AWS managed policies that include endpoint or model invocation.
MANAGED_MODEL_POLICIES: dict[str, str] = {
    "AmazonSageMakerFullAccess": "SageMaker",
    "AmazonBedrockFullAccess": "Bedrock",
    "AmazonBedrockLimitedAccess": "Bedrock",
}


def _is_service_wildcard(pattern: str) -> bool:
    return pattern in ("*", "*:*") or pattern.endswith(":*")


def invoke_actions(s: Statement) -> list[str]:
    """The statement's own Action patterns that grant model invocation, as written.

    `*` and `service:*` are left out: iam/full-admin and iam/wildcard-action report those."""
    out = []
    for pattern in s.actions:
        low = pattern.lower()
        if _is_service_wildcard(low):
            continue
        if any(fnmatch.fnmatchcase(action, low) for action in INVOKE_ACTIONS):
            out.append(pattern)
    return out


def is_invoke_action(pattern: str) -> bool:
    low = pattern.lower()
    return not _is_service_wildcard(low) and any(fnmatch.fnmatchcase(a, low) for a in INVOKE_ACTIONS)


def services_called(sts: Iterable[Statement]) -> set[str]:
    """Model services ("SageMaker", "Bedrock") an Allow statement lets the holder invoke.

    `sagemaker:*` counts (a function holding it very likely calls endpoints); a bare `*` does not:
    an admin role says nothing about what the function does."""
    found: set[str] = set()
    for s in sts:
        if not s.allows:
            continue
        for pattern in s.actions:
            low = pattern.lower()
            if low in ("*", "*:*"):
                continue
            for action, service in INVOKE_ACTIONS.items():
                if fnmatch.fnmatchcase(action, low):
                    found.add(service)
    return found


def managed_policy_service(arn: str) -> str | None:
    return MANAGED_MODEL_POLICIES.get(arn.rsplit("/", 1)[-1])


# Environment variables that name the endpoint or model a function calls.
_MODEL_ENV_RE = re.compile(r"(?i)(sagemaker|endpoint_name|bedrock|model_id|inference_profile)")


def env_service(name: str) -> str | None:
    m = _MODEL_ENV_RE.search(name)
    if m is None:
        return None
    return "Bedrock" if m.group(1).lower() in ("bedrock", "model_id", "inference_profile") else "SageMaker"


def _tag_scoped(s: Statement) -> bool:
    """ABAC: a resource-tag condition limits `*` to the tagged endpoints."""
    return any(k.startswith(("aws:resourcetag/", "sagemaker:resourcetag/")) for k in s.condition_keys())


def check_statement(s: Statement, ctx: Context, label: str, skey: str) -> bool:
    """Report model invocation on `*`; True when it did (the caller then leaves these actions out
    of iam/resource-star-write)."""
    if not s.allows or not s.resource_star or s.has_not_resource or _tag_scoped(s):
        return False
    granted = invoke_actions(s)
    if not granted:
        return False
    ctx.report(
        INVOKE_ON_STAR,
        s.line_of("Resource"),
        f"{label} allows {', '.join(sorted(set(granted)))} on Resource *: every endpoint or model in the account",
        key=f"{skey}:model-invoke",
    )
    return True
