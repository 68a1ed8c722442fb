"""API Gateway in front of models: stages without throttling, usage plans without limits, and
model-invoking methods that anyone can call. The readers of CloudFormation/SAM
(`apigateway_cfn`), Terraform (`apigateway_tf`) and OpenAPI (`apigateway_openapi`) describe a
template or module as an `ApiLayer`; the checks here judge it, so every source is judged alike."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aisec_ci.rules import Rule
from aisec_ci.scanners.common.context import Context
from aisec_ci.severity import Severity

APIGW_THROTTLING = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html"
APIGW_USAGE_PLANS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html"

STAGE_THROTTLING = Rule(
    id="apigateway/stage-without-throttling",
    name="API Gateway stage without throttling",
    short_description="A REST or HTTP API stage has no stage, route or method throttle and no usage plan "
    "with a throttle covers it.",
    severity=Severity.MEDIUM,
    what="Reports API Gateway stages (CloudFormation `AWS::ApiGateway::Stage`, a Deployment's `StageName`, "
    "`AWS::ApiGatewayV2::Stage`, SAM `AWS::Serverless::Api`/`HttpApi` and the implicit SAM APIs; Terraform "
    "`aws_api_gateway_stage`, `aws_apigatewayv2_stage`) with no throttling: no `MethodSettings` (or "
    "`aws_api_gateway_method_settings`) throttle, no HTTP API `DefaultRouteSettings`/`RouteSettings` throttle, "
    "and no usage plan with a `Throttle` that lists the stage. Medium when the API invokes a model (a SageMaker "
    "or Bedrock integration, or a Lambda function whose role or environment shows it calls one); low, in the "
    "strict profile, for any other API. Resources are tied together within one template or one Terraform "
    "module directory; a usage plan in another stack or module is not seen, so suppress the finding with that "
    "reason. Limits of -1 count as unset (that is how API Gateway spells 'no limit').",
    why="Without a stage or usage-plan limit, the only ceiling is the account-wide regional quota "
    "(10,000 requests per second by default), shared by every API of the account. One client, or one leaked "
    "URL in a script, can then drive the model endpoint as fast as it scales: SageMaker instances, Bedrock "
    "tokens and Lambda invocations are billed per request, and the flood starves every other API of the "
    "account (denial of wallet).",
    example="Stage:\n  Type: AWS::ApiGateway::Stage\n  Properties:\n    RestApiId: !Ref ModelApi\n"
    "    StageName: prod\n    DeploymentId: !Ref Deployment\n# no MethodSettings throttle, no UsagePlan",
    example_language="yaml",
    fix="Set a stage-wide throttle: `MethodSettings: [{HttpMethod: '*', ResourcePath: '/*', "
    "ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100}]` (Terraform: `aws_api_gateway_method_settings` "
    'with `method_path = "*/*"` and `settings { throttling_rate_limit = 50 }`; HTTP APIs: '
    "`DefaultRouteSettings`/`default_route_settings`), and give clients API keys in a usage plan with a "
    "`Throttle` and a `Quota`.",
    tags=("CWE-770", "CWE-400"),
    precision="medium",
    references=(APIGW_THROTTLING,),
)

USAGE_PLAN_LIMITS = Rule(
    id="apigateway/usage-plan-without-limits",
    name="API Gateway usage plan without a throttle or quota",
    short_description="A usage plan sets neither a throttle (rate/burst) nor a quota.",
    severity=Severity.MEDIUM,
    what="Reports API Gateway usage plans (`AWS::ApiGateway::UsagePlan`, SAM `Auth.UsagePlan`, Terraform "
    "`aws_api_gateway_usage_plan`) with neither a throttle (`Throttle`, per-stage `ApiStages[].Throttle`, "
    "`throttle_settings`) nor a quota (`Quota`, `quota_settings`): medium. A plan with only one of the two is "
    "low, in the strict profile.",
    why="A usage plan is where API-key clients get their limits. With no rate, one key can burst the model "
    "endpoint at the account's full request rate; with no quota, a key that leaks keeps working for unlimited "
    "requests every month. Both turn straight into SageMaker or Bedrock spend.",
    example="UsagePlan:\n  Type: AWS::ApiGateway::UsagePlan\n  Properties:\n    ApiStages:\n"
    "      - ApiId: !Ref ModelApi\n        Stage: prod",
    example_language="yaml",
    fix="Add `Throttle: {RateLimit: 50, BurstLimit: 100}` and `Quota: {Limit: 100000, Period: MONTH}` "
    "(Terraform: `throttle_settings` and `quota_settings` blocks).",
    tags=("CWE-770",),
    precision="high",
    references=(APIGW_USAGE_PLANS,),
)

MODEL_METHOD_KEY = Rule(
    id="apigateway/model-method-without-api-key",
    name="Model-invoking API method requires no API key and no authorizer",
    short_description="A REST method or HTTP route that invokes a model can be called without an API key "
    "or any authorization.",
    severity=Severity.HIGH,
    what="Reports API Gateway methods and routes that invoke a model (a SageMaker runtime or Bedrock runtime "
    "integration, or a Lambda function whose role or environment shows it calls one) when they require no "
    "API key and have no authorizer (`AuthorizationType: NONE`, the default): high (medium for a private "
    "API). A REST method with an authorizer but no API key is low, in the strict profile (callers are known "
    "but not metered by a usage plan). Read from `AWS::ApiGateway::Method`, `AWS::ApiGatewayV2::Route`, SAM "
    "function `Api`/`HttpApi` events with the API's `Auth` defaults, OpenAPI bodies "
    "(`security`, `x-amazon-apigateway-integration`, `x-amazon-apigateway-auth`) and Terraform "
    "`aws_api_gateway_method`/`aws_apigatewayv2_route`. In an OpenAPI file of its own the finding is low, in "
    "the strict profile: the template that imports it may add the key or authorizer.",
    why="Anyone who finds the invoke URL (in a web page, a mobile app, a public repository) can run the model "
    "as often as they like: inference costs are billed to the account, the model can be scraped or extracted "
    "through its answers, and prompt-injection or abuse traffic cannot be traced to a client. Usage-plan "
    "throttles and quotas only apply to requests that carry an API key.",
    example="PredictMethod:\n  Type: AWS::ApiGateway::Method\n  Properties:\n    HttpMethod: POST\n"
    "    AuthorizationType: NONE\n    Integration:\n      Type: AWS\n"
    "      Uri: !Sub arn:aws:apigateway:${AWS::Region}:runtime.sagemaker:path//endpoints/${Endpoint.EndpointName}"
    "/invocations",
    example_language="yaml",
    fix="Set `ApiKeyRequired: true` (Terraform `api_key_required = true`, OpenAPI `security: [{api_key: []}]`) "
    "and give each client a key in a usage plan with a throttle and quota; for user-facing calls add an "
    "authorizer (`AWS_IAM`, Cognito or a Lambda authorizer; JWT for HTTP APIs, which have no API keys).",
    tags=("CWE-306", "CWE-770"),
    precision="high",
    references=(APIGW_USAGE_PLANS,),
)

RULES: tuple[Rule, ...] = (STAGE_THROTTLING, USAGE_PLAN_LIMITS, MODEL_METHOD_KEY)


@dataclass(frozen=True)
class Where:
    """Where a resource is written: the file's context and the resource's line."""

    ctx: Context
    line: int


@dataclass
class Api:
    id: str
    """Logical id or Terraform address: what stages, methods and plans refer to."""
    label: str
    where: Where
    http: bool = False
    """An HTTP API (API Gateway v2): no API keys, no usage plans."""
    websocket: bool = False
    """A WebSocket API: authorization happens once, on the `$connect` route."""
    private: bool = False


@dataclass
class Stage:
    api: str
    name: str | None
    """The stage name when it is written literally."""
    ref: str
    """What a usage plan names it by (its logical id, Terraform address or SAM's `Api.Stage`)."""
    label: str
    where: Where
    key: str
    throttled: bool
    """A stage, route or method throttle is set (a value computed at deploy time counts)."""


@dataclass
class Method:
    api: str
    label: str
    where: Where
    key: str
    model: str
    """What model it invokes ('' when none is known): 'SageMaker endpoint', 'Lambda X (calls Bedrock)'."""
    api_key: bool | None
    """ApiKeyRequired; None when computed."""
    authorized: bool | None
    """An authorizer (IAM, Cognito, Lambda, JWT) is required; None when computed."""
    strict: bool = False
    """Reported in the strict profile only (an OpenAPI file that a template may amend)."""
    route: str = ""
    """`VERB /path` or a WebSocket route key: one method written twice (a SAM event and the
    API's inline definition) is judged once."""


@dataclass
class PlanStage:
    api: str | None
    """None: the API reference could not be resolved (the plan may cover any API here)."""
    stage: str | None
    """Stage name or stage reference; None when computed (the plan may cover any stage of the API)."""
    throttled: bool


@dataclass
class UsagePlan:
    label: str
    where: Where
    key: str
    stages: list[PlanStage]
    throttle: bool
    quota: bool


@dataclass
class ApiLayer:
    apis: dict[str, Api] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)
    methods: list[Method] = field(default_factory=list)
    plans: list[UsagePlan] = field(default_factory=list)


# Integration URIs of AWS service integrations that run a model:
# arn:aws:apigateway:us-east-1:runtime.sagemaker:path//endpoints/NAME/invocations
# arn:aws:apigateway:us-east-1:bedrock-runtime:path/model/MODEL/invoke
# The region is often `${AWS::Region}`, whose own colons must not end the match.
_REGION = r":apigateway:(?:\$\{[^}]*\}|[^:]*):"
_SAGEMAKER_URI_RE = re.compile(
    r"(?i)" + _REGION + r"(?:runtime\.sagemaker:|sagemaker:path/+endpoints/|sagemaker:path/.*invocations)"
)
_BEDROCK_URI_RE = re.compile(r"(?i)" + _REGION + r"(?:bedrock-runtime:|bedrock:path/+model/)")


def direct_model(uri: str) -> str:
    """The model an AWS service integration URI invokes, or ''."""
    if _SAGEMAKER_URI_RE.search(uri):
        return "a SageMaker endpoint"
    if _BEDROCK_URI_RE.search(uri):
        return "a Bedrock model"
    return ""


def _covers(plan_stage: PlanStage, stage: Stage) -> bool:
    if plan_stage.api is not None and plan_stage.api != stage.api:
        return False
    return plan_stage.stage is None or stage.name is None or plan_stage.stage in (stage.ref, stage.name)


def _throttled_by_plan(layer: ApiLayer, stage: Stage) -> bool:
    return any((plan.throttle or ps.throttled) and _covers(ps, stage) for plan in layer.plans for ps in plan.stages)


def _listed(methods: list[Method]) -> str:
    shown = sorted({f"{m.label} -> {m.model}" for m in methods})
    return "; ".join(shown[:3]) + (f" (+{len(shown) - 3} more)" if len(shown) > 3 else "")


def _either(a: bool | None, b: bool | None) -> bool | None:
    """Required when either source requires it; unknown when not and one is unknown."""
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _merge_duplicates(methods: list[Method]) -> list[Method]:
    seen: dict[tuple[str, str], Method] = {}
    out = []
    for m in methods:
        known = bool(m.route) and "?" not in m.route  # a computed verb or path matches nothing
        first = seen.get((m.api, m.route)) if known else None
        if first is None:
            if known:
                seen[(m.api, m.route)] = m
            out.append(m)
            continue
        # SAM adds the event's Auth to the inline definition: the method has both.
        first.api_key = _either(first.api_key, m.api_key)
        first.authorized = _either(first.authorized, m.authorized)
        first.model = first.model or m.model
    return out


def check(layer: ApiLayer) -> None:
    layer.methods = _merge_duplicates(layer.methods)
    for stage in layer.stages:
        if stage.throttled or _throttled_by_plan(layer, stage):
            continue
        api = layer.apis.get(stage.api)
        if api is not None and (api.http or api.websocket):
            missing = "no DefaultRouteSettings or RouteSettings throttle"
        else:
            missing = "no stage or method throttle and no usage plan with a throttle covers it"
        models = [m for m in layer.methods if m.api == stage.api and m.model]
        if models:
            stage.where.ctx.report(
                STAGE_THROTTLING,
                stage.where.line,
                f"{stage.label} invokes a model ({_listed(models)}) and has no throttling: {missing}",
                key=f"{stage.key}:throttling",
            )
        else:
            stage.where.ctx.report(
                STAGE_THROTTLING,
                stage.where.line,
                f"{stage.label} has no throttling: {missing}",
                key=f"{stage.key}:throttling",
                severity=Severity.LOW,
                profile="strict",
            )
    for plan in layer.plans:
        throttle = plan.throttle or any(ps.throttled for ps in plan.stages)
        if throttle and plan.quota:
            continue
        if not throttle and not plan.quota:
            plan.where.ctx.report(
                USAGE_PLAN_LIMITS,
                plan.where.line,
                f"{plan.label} sets neither a throttle nor a quota: its API keys are unlimited",
                key=f"{plan.key}:limits",
            )
        else:
            missing = "quota (requests per day/week/month)" if throttle else "throttle (rate and burst)"
            plan.where.ctx.report(
                USAGE_PLAN_LIMITS,
                plan.where.line,
                f"{plan.label} has no {missing}",
                key=f"{plan.key}:limits",
                severity=Severity.LOW,
                profile="strict",
            )
    for api in layer.apis.values():
        if api.websocket:
            _check_websocket(layer, api)
    for m in layer.methods:
        _check_method(layer, m)


def _check_websocket(layer: ApiLayer, api: Api) -> None:
    """A WebSocket client is authorized once, when it connects: judge `$connect` for every route."""
    routes = [m for m in layer.methods if m.api == api.id]
    models = [m for m in routes if m.model]
    if not models:
        return
    connect = next((m for m in routes if m.route == "$connect"), None)
    if connect is None:
        first = models[0]
        first.where.ctx.report(
            MODEL_METHOD_KEY,
            first.where.line,
            f"{api.label} has no $connect route, so anyone can connect and call {_listed(models)}",
            key=f"{api.id}:$connect:api-key",
        )
    elif connect.api_key is False and connect.authorized is False:
        connect.where.ctx.report(
            MODEL_METHOD_KEY,
            connect.where.line,
            f"{connect.label} requires neither an API key nor an authorizer, so anyone can connect to "
            f"{api.label} and call {_listed(models)}",
            key=f"{connect.key}:api-key",
        )


def _check_method(layer: ApiLayer, m: Method) -> None:
    if not m.model or m.api_key is True or m.api_key is None or m.authorized is None:
        return
    api = layer.apis.get(m.api)
    if api is not None and api.websocket:
        return  # judged on its $connect route
    http = api is not None and api.http
    profile = "strict" if m.strict else ""
    if m.authorized:
        if http:
            return  # HTTP APIs have no API keys: the authorizer is all there is
        m.where.ctx.report(
            MODEL_METHOD_KEY,
            m.where.line,
            f"{m.label} invokes {m.model} with an authorizer but no API key: callers are not metered by a usage plan",
            key=f"{m.key}:api-key",
            severity=Severity.LOW,
            profile="strict",
        )
        return
    private = api is not None and api.private
    where = " of a private API (reachable from the VPC endpoints)" if private else ""
    # Unsure findings are hygiene-level: strict-profile findings stay low, as every strict rule's.
    severity = Severity.LOW if m.strict else Severity.MEDIUM if private else None
    unless = " (unless the template that imports this definition adds one)" if m.strict else ""
    m.where.ctx.report(
        MODEL_METHOD_KEY,
        m.where.line,
        f"{m.label}{where} invokes {m.model} and requires "
        + ("no authorization (HTTP APIs have no API keys)" if http else "neither an API key nor an authorizer")
        + unless,
        key=f"{m.key}:api-key",
        severity=severity,
        profile=profile,
    )
