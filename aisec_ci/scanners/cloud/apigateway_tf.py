"""API Gateway in a Terraform module, read into an `ApiLayer`: REST APIs (`aws_api_gateway_*`:
rest_api with an optional OpenAPI `body`, resource, method, integration, stage, deployment,
method_settings, usage_plan) and HTTP APIs (`aws_apigatewayv2_*`: api, stage, route,
integration). Stages, settings, plans and methods are tied together by references within the
module directory (`aws_api_gateway_stage.prod.stage_name`) or by a literal stage name."""

from __future__ import annotations

from typing import Any

from aisec_ci.scanners.cloud import apigateway, apigateway_openapi
from aisec_ci.scanners.cloud.apigateway import Api, ApiLayer, Method, PlanStage, Stage, UsagePlan, Where
from aisec_ci.scanners.cloud.tf_module import Module, TfResource, flag, limit_set, literal
from aisec_ci.yamlfile.values import YMap

REST_API = "aws_api_gateway_rest_api"
HTTP_API = "aws_apigatewayv2_api"
_THROTTLE_ATTRS = ("throttling_burst_limit", "throttling_rate_limit")


def check(module: Module) -> None:
    apigateway.check(build(module))


def _api_id(module: Module, value: Any, rtype: str) -> str | None:
    """The address of the API a `rest_api_id`/`api_id` names; None when it is not in the module."""
    api = module.resolve(value, rtype)
    return api.address if api is not None else None


class _Reader:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.layer = ApiLayer()

    def model_of(self, uri: Any) -> str:
        if not isinstance(uri, str):
            return ""
        direct = apigateway.direct_model(uri)
        if direct:
            return direct
        for fn in self.module.mentioned(uri, "aws_lambda_function"):
            model = self.module.function_model(fn)
            if model:
                return model
        return ""

    def build(self) -> ApiLayer:
        self._rest_apis()
        self._rest_methods()
        self._rest_stages()
        self._usage_plans()
        self._http_apis()
        return self.layer

    # -- REST APIs ---------------------------------------------------------------------
    def _rest_apis(self) -> None:
        for r in self.module.of(REST_API):
            private = any(
                isinstance(b.attrs.get("types"), list) and "PRIVATE" in b.attrs["types"]
                for b in r.block.blocks_of("endpoint_configuration")
            )
            self.layer.apis[r.address] = Api(r.address, f"REST API {r.address}", Where(r.ctx, r.line), private=private)
            self._body(r)

    def _body(self, r: TfResource) -> None:
        if "body" not in r.attrs:
            return
        doc = self.module.document_of(r.attrs["body"], r.attrs.line_of("body"))
        if isinstance(doc, YMap) and apigateway_openapi.is_definition(doc):
            self.layer.methods.extend(apigateway_openapi.methods(doc, api=r.address, ctx=r.ctx, model_of=self.model_of))

    def _path(self, resource_id: Any, depth: int = 0) -> str:
        res = self.module.resolve(resource_id, "aws_api_gateway_resource")
        if res is None or depth > 20:
            root = isinstance(resource_id, str) and resource_id.endswith(".root_resource_id}")
            return "" if root else "/?"
        part = literal(res.attrs.get("path_part")) or "?"
        return f"{self._path(res.attrs.get('parent_id'), depth + 1)}/{part}"

    def _rest_methods(self) -> None:
        integrations = self.module.of("aws_api_gateway_integration")
        for m in self.module.of("aws_api_gateway_method"):
            verb = literal(m.attrs.get("http_method")) or "?"
            path = self._path(m.attrs.get("resource_id")) or "/"
            model = ""
            for integ in integrations:
                if self._integrates(integ, m):
                    model = model or self.model_of(integ.attrs.get("uri"))
            auth = m.attrs.get("authorization")
            auth_literal = literal(auth)
            self.layer.methods.append(
                Method(
                    api=_api_id(self.module, m.attrs.get("rest_api_id"), REST_API) or f"?{m.address}",
                    label=f"method {m.address} ({verb} {path})",
                    where=Where(m.ctx, m.line),
                    key=m.address,
                    model=model,
                    api_key=flag(m.attrs.get("api_key_required"), False),
                    authorized=None if auth_literal is None else auth_literal.upper() != "NONE",
                    route=f"{verb.upper()} {path}",
                )
            )

    def _integrates(self, integ: TfResource, method: TfResource) -> bool:
        target = self.module.resolve(integ.attrs.get("http_method"), "aws_api_gateway_method")
        if target is not None:
            return target is method
        return all(
            integ.attrs.get(attr) is not None and integ.attrs.get(attr) == method.attrs.get(attr)
            for attr in ("rest_api_id", "resource_id", "http_method")
        )

    def _rest_stages(self) -> None:
        settings = self.module.of("aws_api_gateway_method_settings")
        stages: list[tuple[TfResource, str | None, Any]] = []
        for r in self.module.of("aws_api_gateway_stage"):
            stages.append((r, literal(r.attrs.get("stage_name")), r.attrs.get("rest_api_id")))
        for r in self.module.of("aws_api_gateway_deployment"):
            # The deprecated `stage_name` of a deployment creates a stage with no settings.
            if r.attrs.get("stage_name") is not None:
                stages.append((r, literal(r.attrs.get("stage_name")), r.attrs.get("rest_api_id")))
        for r, name, api_ref in stages:
            api = _api_id(self.module, api_ref, REST_API) or f"?{r.address}"
            throttled = any(self._settings_cover(s, r, name, api) for s in settings)
            self.layer.stages.append(
                Stage(
                    api=api,
                    name=name,
                    ref=r.address,
                    label=f"stage {name or r.attrs.get('stage_name')} ({r.address}) of {self._api_label(api)}",
                    where=Where(r.ctx, r.line),
                    key=r.address,
                    throttled=throttled,
                )
            )

    def _api_label(self, api: str) -> str:
        found = self.layer.apis.get(api)
        return found.label if found is not None else "an API defined elsewhere"

    def _settings_cover(self, s: TfResource, stage: TfResource, name: str | None, api: str) -> bool:
        if not any(limit_set(b.attrs.get(a)) for b in s.block.blocks_of("settings") for a in _THROTTLE_ATTRS):
            return False
        s_api = _api_id(self.module, s.attrs.get("rest_api_id"), REST_API)
        if s_api is not None and s_api != api:
            return False
        target = self.module.resolve(s.attrs.get("stage_name"), "aws_api_gateway_stage", "aws_api_gateway_deployment")
        if target is not None:
            return target is stage
        s_name = literal(s.attrs.get("stage_name"))
        # A stage name from a variable or local may be this stage's: do not call the stage unthrottled.
        return s_name is None or name is None or s_name == name

    def _usage_plans(self) -> None:
        for r in self.module.of("aws_api_gateway_usage_plan"):
            plan_stages = []
            for b in r.block.blocks_of("api_stages"):
                stage_ref = self.module.resolve(
                    b.attrs.get("stage"), "aws_api_gateway_stage", "aws_api_gateway_deployment"
                )
                stage = stage_ref.address if stage_ref is not None else literal(b.attrs.get("stage"))
                plan_stages.append(
                    PlanStage(
                        api=_api_id(self.module, b.attrs.get("api_id"), REST_API),
                        stage=stage,
                        throttled=any(
                            limit_set(t.attrs.get("burst_limit")) or limit_set(t.attrs.get("rate_limit"))
                            for t in b.blocks_of("throttle")
                        ),
                    )
                )
            throttle = any(
                limit_set(t.attrs.get("burst_limit")) or limit_set(t.attrs.get("rate_limit"))
                for t in r.block.blocks_of("throttle_settings")
            )
            quota = any(limit_set(q.attrs.get("limit")) for q in r.block.blocks_of("quota_settings"))
            self.layer.plans.append(
                UsagePlan(
                    label=f"usage plan {r.address}",
                    where=Where(r.ctx, r.line),
                    key=r.address,
                    stages=plan_stages,
                    throttle=throttle,
                    quota=quota,
                )
            )

    # -- HTTP APIs ---------------------------------------------------------------------
    def _http_apis(self) -> None:
        for r in self.module.of(HTTP_API):
            protocol = literal(r.attrs.get("protocol_type"))
            http = protocol is None or protocol.upper() == "HTTP"
            self.layer.apis[r.address] = Api(
                r.address,
                f"{'HTTP' if http else 'WebSocket'} API {r.address}",
                Where(r.ctx, r.line),
                http=http,
                websocket=protocol is not None and protocol.upper() == "WEBSOCKET",
            )
            self._body(r)
            if r.attrs.get("target") is not None:
                # Quick create: API Gateway makes a `$default` stage and route with no throttle or auth.
                self.layer.stages.append(
                    Stage(
                        api=r.address,
                        name="$default",
                        ref=r.address,
                        label=f"the $default stage that `target` creates for HTTP API {r.address}",
                        where=Where(r.ctx, r.line),
                        key=f"{r.address}.$default",
                        throttled=False,
                    )
                )
                self.layer.methods.append(
                    Method(
                        api=r.address,
                        label=f"the $default route of HTTP API {r.address}",
                        where=Where(r.ctx, r.line),
                        key=f"{r.address}.$default",
                        model=self.model_of(r.attrs.get("target")),
                        api_key=False,
                        authorized=False,
                    )
                )
        for r in self.module.of("aws_apigatewayv2_stage"):
            api = _api_id(self.module, r.attrs.get("api_id"), HTTP_API) or f"?{r.address}"
            name = literal(r.attrs.get("name"))
            throttled = any(
                limit_set(b.attrs.get(a))
                for kind in ("default_route_settings", "route_settings")
                for b in r.block.blocks_of(kind)
                for a in _THROTTLE_ATTRS
            )
            self.layer.stages.append(
                Stage(
                    api=api,
                    name=name,
                    ref=r.address,
                    label=f"stage {name or r.attrs.get('name')} ({r.address}) of {self._api_label(api)}",
                    where=Where(r.ctx, r.line),
                    key=r.address,
                    throttled=throttled,
                )
            )
        for r in self.module.of("aws_apigatewayv2_route"):
            model = ""
            for integ in self.module.mentioned(r.attrs.get("target"), "aws_apigatewayv2_integration"):
                model = model or self.model_of(integ.attrs.get("integration_uri"))
            auth = literal(r.attrs.get("authorization_type", "NONE"))
            route_key = literal(r.attrs.get("route_key")) or "?"
            self.layer.methods.append(
                Method(
                    api=_api_id(self.module, r.attrs.get("api_id"), HTTP_API) or f"?{r.address}",
                    label=f"route {r.address} ({route_key})",
                    where=Where(r.ctx, r.line),
                    key=r.address,
                    model=model,
                    api_key=flag(r.attrs.get("api_key_required"), False),
                    authorized=None if auth is None else auth.upper() != "NONE",
                    route=route_key,
                )
            )


def build(module: Module) -> ApiLayer:
    return _Reader(module).build()
