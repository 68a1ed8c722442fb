"""A Terraform module as the checks that cross resources see it: every `resource` and `data`
block of the `.tf` and `.tf.json` files of one directory, each remembering its file, and the
references between them (`aws_iam_role.x.arn`). Values from variables, locals, other
modules or functions are unknown: checks never guess them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aisec_ci.scanners.cloud import hcl
from aisec_ci.scanners.cloud.model_invoke import env_service, managed_policy_service, services_called
from aisec_ci.scanners.cloud.policy_model import statements
from aisec_ci.scanners.common.context import Context
from aisec_ci.yamlfile.values import YMap

_WHOLE_REF_RE = re.compile(r"^\$\{(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?(?:\.[A-Za-z0-9_.]+)?\}$")
_ANY_REF_RE = re.compile(r"\b(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)")


@dataclass
class TfResource:
    type: str
    name: str
    block: hcl.Block
    ctx: Context

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    @property
    def attrs(self) -> YMap:
        return self.block.attrs

    @property
    def line(self) -> int:
        return self.block.line


@dataclass
class Module:
    directory: str
    resources: list[TfResource] = field(default_factory=list)
    data: list[TfResource] = field(default_factory=list)
    document_of: Callable[[Any, int], Any] = lambda value, line: None
    """Turns an attribute holding JSON (jsonencode, a heredoc, a JSON string, a reference to a
    `data "aws_iam_policy_document"`) into a document with lines; None when computed."""

    def of(self, *types: str) -> list[TfResource]:
        return [r for r in self.resources if r.type in types]

    def get(self, rtype: str, name: str) -> TfResource | None:
        for r in self.resources:
            if r.type == rtype and r.name == name:
                return r
        return None

    def resolve(self, value: Any, *types: str) -> TfResource | None:
        """The resource a whole-value reference (`aws_x.y.attr`) names, if it is in this module."""
        m = _WHOLE_REF_RE.match(value.strip()) if isinstance(value, str) else None
        if m is None or (types and m.group(1) not in types):
            return None
        return self.get(m.group(1), m.group(2))

    def mentioned(self, value: Any, *types: str) -> list[TfResource]:
        """Resources of this module named anywhere in a string (interpolations included)."""
        if not isinstance(value, str):
            return []
        out = []
        for rtype, name in _ANY_REF_RE.findall(value):
            if not types or rtype in types:
                r = self.get(rtype, name)
                if r is not None and r not in out:
                    out.append(r)
        return out

    # -- what a Lambda function calls ---------------------------------------------------
    def role_services(self, role: TfResource) -> set[str]:
        """Model services the role's policies (inline, attached, role policies) let it invoke."""
        found: set[str] = set()

        def add_policy(value: Any, line: int) -> None:
            found.update(services_called(statements(self.document_of(value, line))))

        def add_arn(arn: Any) -> None:
            if isinstance(arn, str) and arn.startswith("arn:"):
                service = managed_policy_service(arn)
                if service:
                    found.add(service)
                return
            policy = self.resolve(arn, "aws_iam_policy")
            if policy is not None and "policy" in policy.attrs:
                add_policy(policy.attrs["policy"], policy.attrs.line_of("policy"))

        managed = role.attrs.get("managed_policy_arns")
        for arn in managed if isinstance(managed, list) else ():
            add_arn(arn)
        for inline in role.block.blocks_of("inline_policy"):
            if "policy" in inline.attrs:
                add_policy(inline.attrs["policy"], inline.attrs.line_of("policy"))
        for r in self.of("aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_policy_attachment"):
            roles = r.attrs.get("roles") if r.type == "aws_iam_policy_attachment" else [r.attrs.get("role")]
            if not any(self.resolve(v, "aws_iam_role") is role for v in (roles if isinstance(roles, list) else ())):
                continue
            if r.type == "aws_iam_role_policy" and "policy" in r.attrs:
                add_policy(r.attrs["policy"], r.attrs.line_of("policy"))
            else:
                add_arn(r.attrs.get("policy_arn"))
        return found

    def function_model(self, fn: TfResource) -> str:
        """'Lambda NAME (calls SageMaker)' when the function's role or environment shows it calls a model."""
        services: set[str] = set()
        role = self.resolve(fn.attrs.get("role"), "aws_iam_role")
        if role is not None:
            services |= self.role_services(role)
        for env in fn.block.blocks_of("environment"):
            variables = env.attrs.get("variables")
            if isinstance(variables, dict):
                for name, value in variables.items():
                    service = env_service(str(name))
                    if service:
                        services.add(service)
                    if self.mentioned(value, "aws_sagemaker_endpoint"):
                        services.add("SageMaker")
        if not services:
            return ""
        return f"Lambda {fn.address} (calls {' and '.join(sorted(services))})"


def known(value: Any) -> bool:
    """A literal: not a reference, interpolation or expression the reader could not evaluate."""
    return not (isinstance(value, str) and ("${" in value or value == hcl.OPAQUE))


def literal(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or not known(value):
        return None
    return str(value) if isinstance(value, (str, int, float)) else None


def flag(value: Any, default: bool) -> bool | None:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def limit_set(value: Any) -> bool:
    """A throttle or quota value that limits: present and not -1 (API Gateway's 'unlimited')."""
    if value is None:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != -1
    return not (isinstance(value, str) and value.strip() == "-1")


def blocks(resources: Iterable[TfResource], name: str) -> list[hcl.Block]:
    return [b for r in resources for b in r.block.blocks_of(name)]
