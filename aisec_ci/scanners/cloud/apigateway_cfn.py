"""API Gateway in a CloudFormation or SAM template, read into an `ApiLayer`.

REST APIs: `AWS::ApiGateway::RestApi` (with an inline OpenAPI `Body`), `Resource`, `Method`,
`Stage`, a `Deployment` with `StageName`, `UsagePlan`. HTTP APIs: `AWS::ApiGatewayV2::Api`
(quick create with `Target` included), `Stage`, `Route`, `Integration`,
`ApiGatewayManagedOverrides`. SAM: `AWS::Serverless::Api`/`HttpApi` (`MethodSettings`,
`DefaultRouteSettings`, `Auth` with `ApiKeyRequired`, `DefaultAuthorizer` and `UsagePlan`,
inline `DefinitionBody`), function `Api`/`HttpApi` events, the implicit `ServerlessRestApi` /
`ServerlessHttpApi`, and `Globals`. A definition in another file (`DefinitionUri`,
`BodyS3Location`, `AWS::Include`) is not read; its operations are then unknown."""

from __future__ import annotations

from typing import Any

from aisec_ci.scanners.cloud import apigateway, apigateway_openapi, cfn_values
from aisec_ci.scanners.cloud.apigateway import Api, ApiLayer, Method, PlanStage, Stage, UsagePlan, Where
from aisec_ci.scanners.cloud.cfn_values import flag, literal, mapping
from aisec_ci.scanners.cloud.model_invoke import env_service, managed_policy_service, services_called
from aisec_ci.scanners.cloud.policy_model import statements
from aisec_ci.scanners.common.context import Context
from aisec_ci.yamlfile.values import YList, YMap

_FUNCTIONS = ("AWS::Lambda::Function", "AWS::Serverless::Function")
IMPLICIT_REST = "ServerlessRestApi"
IMPLICIT_HTTP = "ServerlessHttpApi"


def check(template: YMap, ctx: Context) -> None:
    resources = template.get("Resources")
    if not isinstance(resources, YMap):
        return
    apigateway.check(_Reader(template, resources, ctx).build())


def _limit_set(value: Any) -> bool:
    if value is None:
        return False
    return literal(value) not in ("-1", "-1.0")


def _method_settings_throttled(settings: Any) -> bool:
    """`MethodSettings` with a throttle on any method (`*` / `/*` included); a computed list counts."""
    if settings is None:
        return False
    if not isinstance(settings, YList):
        return True
    return any(
        not isinstance(s, YMap) or _limit_set(s.get("ThrottlingBurstLimit")) or _limit_set(s.get("ThrottlingRateLimit"))
        for s in settings
    )


def _route_settings_throttled(default: Any, routes: Any) -> bool:
    """HTTP API `DefaultRouteSettings` / `RouteSettings` (a map of route key to settings)."""

    def throttles(s: Any) -> bool:
        if s is None:
            return False
        if not isinstance(s, YMap) or cfn_values.ref_id(s) is not None:
            return True
        return _limit_set(s.get("ThrottlingBurstLimit")) or _limit_set(s.get("ThrottlingRateLimit"))

    if throttles(default):
        return True
    if routes is None:
        return False
    if not isinstance(routes, YMap):
        return True
    return any(throttles(s) for s in routes.values())


def _limits(value: Any, keys: tuple[str, ...]) -> bool:
    if value is None:
        return False
    if not isinstance(value, YMap) or any(k.startswith("Fn::") or k == "Ref" for k in value):
        return True
    return any(_limit_set(value.get(k)) for k in keys)


def _authorizer(value: Any) -> bool | None:
    """SAM `Authorizer`/`DefaultAuthorizer` or a method's `AuthorizationType`: NONE is no authorizer."""
    name = literal(value)
    if name is None:
        return None
    return name.upper() != "NONE"


class _Reader:
    def __init__(self, template: YMap, resources: YMap, ctx: Context) -> None:
        self.resources = resources
        self.ctx = ctx
        self.layer = ApiLayer()
        globals_ = mapping(template.get("Globals")) or YMap()
        self.globals_api = mapping(globals_.get("Api")) or YMap()
        self.globals_http = mapping(globals_.get("HttpApi")) or YMap()
        self.globals_line = template.line_of("Globals")
        self._models: dict[str, str] = {}
        # SAM API defaults for function events: api id -> (ApiKeyRequired, DefaultAuthorizer set)
        self.api_auth: dict[str, tuple[bool | None, bool | None]] = {}

    def typed(self, *types: str) -> list[tuple[str, YMap]]:
        out = []
        for name, res in self.resources.items():
            if isinstance(res, YMap) and res.get("Type") in types:
                props = res.get("Properties")
                out.append((name, props if isinstance(props, YMap) else YMap(res.line, res.column)))
        return out

    def type_of(self, name: str | None) -> str:
        res = self.resources.get(name) if name else None
        rtype = res.get("Type") if isinstance(res, YMap) else None
        return rtype if isinstance(rtype, str) else ""

    def where(self, name: str) -> Where:
        return Where(self.ctx, self.resources.line_of(name))

    # -- what an integration invokes -----------------------------------------------------
    def model_of(self, uri: Any) -> str:
        direct = apigateway.direct_model(cfn_values.text_of(uri))
        if direct:
            return direct
        for ref in sorted(cfn_values.refs_in(uri) | {cfn_values.ref_id(uri) or ""}):
            if self.type_of(ref) in _FUNCTIONS:
                model = self.function_model(ref)
                if model:
                    return model
        return ""

    def function_model(self, name: str) -> str:
        if name not in self._models:
            services = self._function_services(name)
            self._models[name] = f"Lambda {name} (calls {' and '.join(sorted(services))})" if services else ""
        return self._models[name]

    def _function_services(self, name: str) -> set[str]:
        res = self.resources.get(name)
        props = mapping(res.get("Properties")) if isinstance(res, YMap) else None
        if props is None:
            return set()
        services: set[str] = set()
        role = cfn_values.ref_id(props.get("Role"))
        if role and self.type_of(role) == "AWS::IAM::Role":
            services |= self._role_services(role)
        # SAM: `Policies` is a managed policy name, a policy document, or a list of them.
        policies = props.get("Policies")
        for policy in policies if isinstance(policies, YList) else [policies]:
            if isinstance(policy, str):
                services |= {s for s in [managed_policy_service(policy)] if s}
            elif isinstance(policy, YMap) and "Statement" in policy:
                services |= services_called(statements(policy))
        env = mapping(props.get("Environment"))
        variables = mapping(env.get("Variables")) if env is not None else None
        for key, value in (variables or YMap()).items():
            service = env_service(key)
            if service:
                services.add(service)
            if any(self.type_of(ref) == "AWS::SageMaker::Endpoint" for ref in cfn_values.refs_in(value)):
                services.add("SageMaker")
        return services

    def _role_services(self, role: str) -> set[str]:
        props = mapping(self.resources[role].get("Properties")) or YMap()
        services: set[str] = set()
        for item in cfn_values.items(props.get("Policies")):
            if isinstance(item, YMap):
                services |= services_called(statements(item.get("PolicyDocument")))
        for arn in cfn_values.items(props.get("ManagedPolicyArns")):
            if isinstance(arn, str):
                services |= {s for s in [managed_policy_service(arn)] if s}
            else:
                ref = cfn_values.ref_id(arn)
                if ref is not None and self.type_of(ref) == "AWS::IAM::ManagedPolicy":
                    managed = mapping(self.resources[ref].get("Properties")) or YMap()
                    services |= services_called(statements(managed.get("PolicyDocument")))
        # Policies that name the role from their side.
        for _, pprops in self.typed("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            if any(cfn_values.ref_id(r) == role for r in cfn_values.items(pprops.get("Roles"))):
                services |= services_called(statements(pprops.get("PolicyDocument")))
        return services

    # -- the layer -----------------------------------------------------------------------
    def build(self) -> ApiLayer:
        self._rest_apis()
        self._sam_apis()
        self._methods()
        self._stages()
        self._usage_plans()
        self._http_apis()
        self._sam_events()
        return self.layer

    def _inline_definition(
        self, name: str, body: Any, *, api_key: bool | None = False, authorized: bool | None = False
    ) -> None:
        if isinstance(body, YMap) and apigateway_openapi.is_definition(body):
            self.layer.methods.extend(
                apigateway_openapi.methods(
                    body,
                    api=name,
                    ctx=self.ctx,
                    model_of=self.model_of,
                    api_key_default=api_key,
                    authorized_default=authorized,
                )
            )

    def _rest_apis(self) -> None:
        for name, props in self.typed("AWS::ApiGateway::RestApi"):
            endpoint = mapping(props.get("EndpointConfiguration"))
            types = endpoint.get("Types") if endpoint is not None else None
            private = isinstance(types, YList) and "PRIVATE" in types
            self.layer.apis[name] = Api(name, f"REST API {name}", self.where(name), private=private)
            self._inline_definition(name, props.get("Body"))

    def _sam_prop(self, props: YMap, defaults: YMap, key: str) -> Any:
        return props.get(key) if key in props else defaults.get(key)

    def _sam_auth(self, name: str, auth: Any) -> tuple[bool | None, bool | None]:
        if auth is not None and mapping(auth) is None:
            result: tuple[bool | None, bool | None] = (None, None)  # computed Auth
        elif (found := mapping(auth)) is None:
            result = (False, False)
        else:
            result = (
                flag(found.get("ApiKeyRequired")) if "ApiKeyRequired" in found else False,
                _authorizer(found.get("DefaultAuthorizer")) if "DefaultAuthorizer" in found else False,
            )
        self.api_auth[name] = result
        return result

    def _sam_usage_plan(self, name: str, auth: Any, line: int) -> None:
        auth = mapping(auth)
        plan = mapping(auth.get("UsagePlan")) if auth is not None else None
        if plan is None or literal(plan.get("CreateUsagePlan")) not in ("PER_API", "SHARED"):
            return
        self.layer.plans.append(
            UsagePlan(
                label=f"the usage plan of SAM API {name} (Auth.UsagePlan)",
                where=Where(self.ctx, auth.line_of("UsagePlan") if auth is not None and "UsagePlan" in auth else line),
                key=f"{name}.UsagePlan",
                stages=[PlanStage(api=name, stage=None, throttled=False)],
                throttle=_limits(plan.get("Throttle"), ("BurstLimit", "RateLimit")),
                quota=_limits(plan.get("Quota"), ("Limit",)),
            )
        )

    def _sam_apis(self) -> None:
        for name, props in self.typed("AWS::Serverless::Api"):
            endpoint = self._sam_prop(props, self.globals_api, "EndpointConfiguration")
            endpoint_type = endpoint.get("Type") if isinstance(endpoint, YMap) else endpoint
            self.layer.apis[name] = Api(
                name, f"SAM API {name}", self.where(name), private=literal(endpoint_type) == "PRIVATE"
            )
            stage = literal(props.get("StageName"))
            self.layer.stages.append(
                Stage(
                    api=name,
                    name=stage,
                    ref=f"{name}.Stage",
                    label=f"stage {stage or cfn_values.text_of(props.get('StageName'))} of SAM API {name}",
                    where=self.where(name),
                    key=name,
                    throttled=_method_settings_throttled(self._sam_prop(props, self.globals_api, "MethodSettings")),
                )
            )
            auth = self._sam_prop(props, self.globals_api, "Auth")
            api_key, authorized = self._sam_auth(name, auth)
            line = props.line_of("Auth") if "Auth" in props else self.globals_line
            self._sam_usage_plan(name, auth, line)
            self._inline_definition(name, props.get("DefinitionBody"), api_key=api_key, authorized=authorized)
        for name, props in self.typed("AWS::Serverless::HttpApi"):
            self.layer.apis[name] = Api(name, f"SAM HTTP API {name}", self.where(name), http=True)
            stage = literal(props.get("StageName")) or "$default"
            self.layer.stages.append(
                Stage(
                    api=name,
                    name=stage,
                    ref=f"{name}.Stage",
                    label=f"stage {stage} of SAM HTTP API {name}",
                    where=self.where(name),
                    key=name,
                    throttled=_route_settings_throttled(
                        self._sam_prop(props, self.globals_http, "DefaultRouteSettings"),
                        self._sam_prop(props, self.globals_http, "RouteSettings"),
                    ),
                )
            )
            _, authorized = self._sam_auth(name, self._sam_prop(props, self.globals_http, "Auth"))
            self._inline_definition(name, props.get("DefinitionBody"), api_key=False, authorized=authorized)

    def _path(self, resource_id: Any, depth: int = 0) -> str:
        ref = cfn_values.ref_id(resource_id)
        if ref is None or depth > 20:
            return "/?"
        if self.type_of(ref) != "AWS::ApiGateway::Resource":
            return ""  # !GetAtt Api.RootResourceId
        props = mapping(self.resources[ref].get("Properties")) or YMap()
        part = literal(props.get("PathPart")) or "?"
        return f"{self._path(props.get('ParentId'), depth + 1)}/{part}"

    def _methods(self) -> None:
        for name, props in self.typed("AWS::ApiGateway::Method"):
            verb = literal(props.get("HttpMethod")) or "?"
            path = self._path(props.get("ResourceId")) or "/"
            integration = mapping(props.get("Integration"))
            self.layer.methods.append(
                Method(
                    api=cfn_values.ref_id(props.get("RestApiId")) or f"?{name}",
                    label=f"method {name} ({verb} {path})",
                    where=self.where(name),
                    key=name,
                    model=self.model_of(integration.get("Uri")) if integration is not None else "",
                    api_key=flag(props.get("ApiKeyRequired", False)),
                    authorized=_authorizer(props.get("AuthorizationType", "NONE")),
                    route=f"{verb.upper()} {path}",
                )
            )

    def _stages(self) -> None:
        for name, props in self.typed("AWS::ApiGateway::Stage"):
            self._stage(name, props.get("RestApiId"), props.get("StageName"), props.get("MethodSettings"))
        for name, props in self.typed("AWS::ApiGateway::Deployment"):
            if props.get("StageName") is None:
                continue
            # A deployment with StageName creates the stage; StageDescription holds its settings.
            desc = mapping(props.get("StageDescription"))
            throttled = desc is not None and (
                _limit_set(desc.get("ThrottlingBurstLimit"))
                or _limit_set(desc.get("ThrottlingRateLimit"))
                or _method_settings_throttled(desc.get("MethodSettings"))
            )
            self._stage(name, props.get("RestApiId"), props.get("StageName"), None, throttled=throttled)

    def _stage(self, name: str, api_ref: Any, stage_name: Any, settings: Any, *, throttled: bool = False) -> None:
        api = cfn_values.ref_id(api_ref) or f"?{name}"
        stage = literal(stage_name)
        known = self.layer.apis.get(api)
        shown = stage or cfn_values.text_of(stage_name)
        self.layer.stages.append(
            Stage(
                api=api,
                name=stage,
                ref=name,
                label=f"stage {shown} ({name}) of {known.label if known else 'an API defined elsewhere'}",
                where=self.where(name),
                key=name,
                throttled=throttled or _method_settings_throttled(settings),
            )
        )

    def _usage_plans(self) -> None:
        stage_refs = {s.ref for s in self.layer.stages}
        for name, props in self.typed("AWS::ApiGateway::UsagePlan"):
            plan_stages = []
            for item in cfn_values.items(props.get("ApiStages")):
                if not isinstance(item, YMap):
                    plan_stages.append(PlanStage(api=None, stage=None, throttled=False))
                    continue
                api = cfn_values.ref_id(item.get("ApiId"))
                ref = cfn_values.ref_name(item.get("Stage"))
                # `!Ref ProdStage` names a stage resource; `!Ref StageParam` a parameter: unknown.
                stage = ref if ref in stage_refs else literal(item.get("Stage"))
                plan_stages.append(
                    PlanStage(
                        api=api if api in self.layer.apis else None,
                        stage=stage,
                        # Per-method throttles: {"/predict/POST": {RateLimit: ..}}; a computed map counts.
                        throttled=item.get("Throttle") is not None
                        and (not isinstance(item.get("Throttle"), YMap) or bool(item.get("Throttle"))),
                    )
                )
            self.layer.plans.append(
                UsagePlan(
                    label=f"usage plan {name}",
                    where=self.where(name),
                    key=name,
                    stages=plan_stages,
                    throttle=_limits(props.get("Throttle"), ("BurstLimit", "RateLimit")),
                    quota=_limits(props.get("Quota"), ("Limit",)),
                )
            )

    def _http_apis(self) -> None:
        overrides: set[str] = set()
        for _, props in self.typed("AWS::ApiGatewayV2::ApiGatewayManagedOverrides"):
            stage = mapping(props.get("Stage"))
            if stage is not None and _route_settings_throttled(
                stage.get("DefaultRouteSettings"), stage.get("RouteSettings")
            ):
                overrides.add(cfn_values.ref_id(props.get("ApiId")) or "")
        for name, props in self.typed("AWS::ApiGatewayV2::Api"):
            protocol = literal(props.get("ProtocolType"))
            http = protocol is None or protocol.upper() == "HTTP"
            self.layer.apis[name] = Api(
                name,
                f"{'HTTP' if http else 'WebSocket'} API {name}",
                self.where(name),
                http=http,
                websocket=protocol is not None and protocol.upper() == "WEBSOCKET",
            )
            self._inline_definition(name, props.get("Body"))
            if props.get("Target") is not None:
                # Quick create: API Gateway adds a `$default` stage and route, with no throttle or auth.
                self.layer.stages.append(
                    Stage(
                        api=name,
                        name="$default",
                        ref=name,
                        label=f"the $default stage that Target creates for HTTP API {name}",
                        where=self.where(name),
                        key=f"{name}.$default",
                        throttled=name in overrides,
                    )
                )
                self.layer.methods.append(
                    Method(
                        api=name,
                        label=f"the $default route of HTTP API {name}",
                        where=self.where(name),
                        key=f"{name}.$default",
                        model=self.model_of(props.get("Target")),
                        api_key=False,
                        authorized=False,
                    )
                )
        for name, props in self.typed("AWS::ApiGatewayV2::Stage"):
            api = cfn_values.ref_id(props.get("ApiId")) or f"?{name}"
            stage_name = literal(props.get("StageName"))
            known = self.layer.apis.get(api)
            self.layer.stages.append(
                Stage(
                    api=api,
                    name=stage_name,
                    ref=name,
                    label=f"stage {stage_name or cfn_values.text_of(props.get('StageName'))} ({name}) of "
                    f"{known.label if known else 'an API defined elsewhere'}",
                    where=self.where(name),
                    key=name,
                    throttled=_route_settings_throttled(props.get("DefaultRouteSettings"), props.get("RouteSettings")),
                )
            )
        for name, props in self.typed("AWS::ApiGatewayV2::Route"):
            model = ""
            for ref in sorted(cfn_values.refs_in(props.get("Target"))):
                if self.type_of(ref) == "AWS::ApiGatewayV2::Integration":
                    integ = mapping(self.resources[ref].get("Properties")) or YMap()
                    model = model or self.model_of(integ.get("IntegrationUri"))
            route_key = literal(props.get("RouteKey")) or "?"
            self.layer.methods.append(
                Method(
                    api=cfn_values.ref_id(props.get("ApiId")) or f"?{name}",
                    label=f"route {name} ({route_key})",
                    where=self.where(name),
                    key=name,
                    model=model,
                    api_key=flag(props.get("ApiKeyRequired", False)),
                    authorized=_authorizer(props.get("AuthorizationType", "NONE")),
                    route=route_key,
                )
            )

    def _implicit_api(self, name: str, http: bool, line: int) -> None:
        """SAM's implicit API for events without RestApiId/ApiId, configured by Globals only."""
        if name in self.layer.apis:
            return
        where = Where(self.ctx, line)
        defaults = self.globals_http if http else self.globals_api
        self.layer.apis[name] = Api(name, f"the implicit SAM {'HTTP ' if http else ''}API {name}", where, http=http)
        if http:
            throttled = _route_settings_throttled(defaults.get("DefaultRouteSettings"), defaults.get("RouteSettings"))
        else:
            throttled = _method_settings_throttled(defaults.get("MethodSettings"))
        stage = "$default" if http else "Prod"
        self.layer.stages.append(
            Stage(
                api=name,
                name=stage,
                ref=f"{name}.Stage",
                label=f"stage {stage} of the implicit SAM {'HTTP ' if http else ''}API {name}",
                where=where,
                key=name,
                throttled=throttled,
            )
        )
        self._sam_auth(name, defaults.get("Auth"))
        if not http:
            self._sam_usage_plan(name, defaults.get("Auth"), self.globals_line)

    def _sam_events(self) -> None:
        for name, props in self.typed("AWS::Serverless::Function"):
            events = mapping(props.get("Events"))
            for event_name, event in (events or YMap()).items():
                if not isinstance(event, YMap) or event.get("Type") not in ("Api", "HttpApi"):
                    continue
                http = event.get("Type") == "HttpApi"
                p = mapping(event.get("Properties")) or YMap()
                api_field = "ApiId" if http else "RestApiId"
                line = events.line_of(event_name) if events is not None else self.resources.line_of(name)
                if api_field in p:
                    api = cfn_values.ref_id(p.get(api_field)) or f"?{name}.{event_name}"
                else:
                    api = IMPLICIT_HTTP if http else IMPLICIT_REST
                    self._implicit_api(api, http, line)
                # An API of another template (or an unresolved reference) may add auth: unknown.
                api_key, authorized = self.api_auth.get(api, (None, None))
                event_auth = mapping(p.get("Auth"))
                if event_auth is not None and "ApiKeyRequired" in event_auth:
                    api_key = flag(event_auth.get("ApiKeyRequired"))
                if event_auth is not None and "Authorizer" in event_auth:
                    authorized = _authorizer(event_auth.get("Authorizer"))
                verb = (literal(p.get("Method")) or ("ANY" if http else "?")).upper()
                path = literal(p.get("Path")) or ("$default" if http else "?")
                self.layer.methods.append(
                    Method(
                        api=api,
                        label=f"{verb} {path} (function {name}, event {event_name})",
                        where=Where(self.ctx, line),
                        key=f"{name}.{event_name}",
                        model=self.function_model(name),
                        api_key=api_key,
                        authorized=authorized,
                        route=f"{verb} {path}",
                    )
                )
