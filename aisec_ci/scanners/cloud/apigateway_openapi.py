"""OpenAPI (Swagger 2 and OpenAPI 3) definitions with API Gateway extensions: each operation's
`x-amazon-apigateway-integration` and whether its `security` requires an API key or an
authorizer. Read from a template's `Body`/`DefinitionBody` or from a file of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aisec_ci.scanners.cloud import apigateway, cfn_values
from aisec_ci.scanners.cloud.policy_model import is_intrinsic
from aisec_ci.scanners.common.context import Context
from aisec_ci.yamlfile.values import YList, YMap

INTEGRATION = "x-amazon-apigateway-integration"
_VERBS = ("get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method")


@dataclass(frozen=True)
class Operation:
    path: str
    verb: str
    line: int
    uri: Any
    """The integration URI as written (a string, or a CloudFormation function inside a template)."""
    api_key: bool | None
    authorized: bool | None

    @property
    def label(self) -> str:
        verb = "ANY" if self.verb == "x-amazon-apigateway-any-method" else self.verb.upper()
        return f"{verb} {self.path}"


def is_definition(value: Any) -> bool:
    """An OpenAPI document that API Gateway would import (it has paths with integrations)."""
    if not isinstance(value, YMap) or not isinstance(value.get("paths"), YMap):
        return False
    if not ("openapi" in value or "swagger" in value):
        return False
    return any(
        isinstance(item, YMap) and any(isinstance(op, YMap) and INTEGRATION in op for op in item.values())
        for item in value["paths"].values()
    )


def _schemes(doc: YMap) -> dict[str, str] | None:
    """Security scheme name -> 'api_key' or 'authorizer'; None when computed."""
    components = doc.get("components")
    raw = components.get("securitySchemes") if isinstance(components, YMap) else doc.get("securityDefinitions")
    if raw is None:
        return {}
    if not isinstance(raw, YMap):
        return None
    out: dict[str, str] = {}
    for name, scheme in raw.items():
        if not isinstance(scheme, YMap):
            out[name] = "authorizer"  # unknown shape: do not call it open
            continue
        custom = "x-amazon-apigateway-authtype" in scheme or "x-amazon-apigateway-authorizer" in scheme
        out[name] = "api_key" if scheme.get("type") == "apiKey" and not custom else "authorizer"
    return out


def _requirements(security: Any, schemes: dict[str, str]) -> tuple[bool | None, bool | None]:
    """(API key required, authorizer required) for a `security` list of alternatives."""
    if security is None:
        return False, False
    if not isinstance(security, YList) or is_intrinsic(security):
        return None, None
    if not security:
        return False, False
    key = True
    auth = True
    for alternative in security:
        if not isinstance(alternative, YMap):
            return None, None
        kinds = {schemes.get(name, "authorizer") for name in alternative}
        # Alternatives are OR-ed: one without a key (or an empty `{}`) lets callers skip it.
        key = key and "api_key" in kinds
        auth = auth and "authorizer" in kinds
    return key, auth


def operations(doc: YMap) -> list[Operation]:
    schemes = _schemes(doc)
    paths = doc.get("paths")
    if schemes is None or not isinstance(paths, YMap):
        return []
    default_security = doc.get("security")
    out: list[Operation] = []
    for path, item in paths.items():
        if not isinstance(item, YMap):
            continue
        for verb, op in item.items():
            if verb.lower() not in _VERBS or not isinstance(op, YMap):
                continue
            integration = op.get(INTEGRATION)
            if not isinstance(integration, YMap):
                continue
            api_key, authorized = _requirements(op.get("security", default_security), schemes)
            auth = op.get("x-amazon-apigateway-auth")
            if isinstance(auth, YMap):
                kind = auth.get("type")
                if isinstance(kind, str) and kind.upper() != "NONE":
                    authorized = True
                elif kind is not None and not isinstance(kind, str):
                    authorized = None
            out.append(
                Operation(
                    path=str(path),
                    verb=verb.lower(),
                    line=item.line_of(verb),
                    uri=integration.get("uri"),
                    api_key=api_key,
                    authorized=authorized,
                )
            )
    return out


def methods(
    doc: YMap,
    *,
    api: str,
    ctx: Context,
    model_of: Callable[[Any], str],
    api_key_default: bool | None = False,
    authorized_default: bool | None = False,
    strict: bool = False,
) -> list[apigateway.Method]:
    """The operations as methods of `api`; `model_of(uri)` names what an integration invokes.

    `*_default`: what SAM's `Auth` adds to every operation of an inline definition."""
    out = []
    for op in operations(doc):
        api_key = True if api_key_default is True else op.api_key
        authorized = True if authorized_default is True else op.authorized
        out.append(
            apigateway.Method(
                api=api,
                label=f"{api} {op.label}" if api else op.label,
                where=apigateway.Where(ctx, op.line),
                key=f"{api}:{op.label}" if api else op.label,
                model=model_of(op.uri),
                api_key=api_key,
                authorized=authorized,
                strict=strict,
                route=op.label,
            )
        )
    return out


def check_file(doc: YMap, ctx: Context) -> None:
    """An OpenAPI file of its own: only its operations can be judged (stages and usage plans live
    in the template that imports it), and in the strict profile, as that template may add auth."""
    layer = apigateway.ApiLayer()
    layer.methods = methods(
        doc,
        api="",
        ctx=ctx,
        model_of=lambda uri: apigateway.direct_model(cfn_values.text_of(uri)),
        strict=True,
    )
    apigateway.check(layer)
