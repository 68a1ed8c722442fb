"""Credentials written as literal values in a Compose file."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.compose_model import ComposeContext, Service
from aisec_ci.scanners.docker.compose_yaml import scalar
from aisec_ci.scanners.docker.secretnames import is_secret_name
from aisec_ci.severity import Severity

SECRET_IN_ENVIRONMENT = Rule(
    id="compose/secret-in-environment",
    name="Credential as a literal Compose environment value",
    short_description="A credential-like `environment` or build `args` entry has a literal value.",
    severity=Severity.HIGH,
    what="Reports `environment:` entries (map or list form) and `build.args` of credential-like variables "
    "(`HF_TOKEN`, `WANDB_API_KEY`, `OPENAI_API_KEY`, `POSTGRES_PASSWORD`, `*_TOKEN`, `*_SECRET`, "
    "`*_API_KEY`) whose value is written in the file instead of interpolated (`${HF_TOKEN}`). "
    "The value is never shown in the report.",
    why="The credential is committed to the repository and visible to every reader and fork, and it ends up "
    "in `docker inspect` output of the running container. Default passwords such as `postgres`/`changeme` "
    "left in Compose files are how exposed MLflow and feature-store databases get taken over.",
    example="services:\n  mlflow-db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: mlflow123",
    example_language="yaml",
    fix="Interpolate from the shell or an untracked `.env` file (`POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}`), "
    "or use Compose `secrets:` with `*_FILE` variables. Rotate the value that was committed.",
    tags=("CWE-798", "secrets"),
    precision="high",
)

RULES = (SECRET_IN_ENVIRONMENT,)


def check(ctx: ComposeContext) -> Iterator[Finding]:
    for service in ctx.services:
        got = ctx.value(service, "environment")
        if got:
            yield from _entries(ctx, service, got[1], "environment")
        build = ctx.value(service, "build")
        if build:
            args = ctx.budget.get(build[1], "args")
            if args:
                yield from _entries(ctx, service, args[1], "build.args")


def _entries(ctx: ComposeContext, service: Service, node: yaml.Node, where: str) -> Iterator[Finding]:
    pairs: list[tuple[str, str | None, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        for name, knode, vnode in ctx.budget.items(node):
            pairs.append((name, scalar(vnode), knode))
    else:
        for item in ctx.budget.sequence(node):
            text = scalar(item)
            if text is None:
                continue
            key, eq, literal = text.partition("=")
            pairs.append((key.strip(), literal if eq else None, item))
    for name, value, at in pairs:
        if not is_secret_name(name) or not _is_literal(value):
            continue
        yield ctx.finding(
            SECRET_IN_ENVIRONMENT,
            at,
            f"Service `{service.name}` sets credential `{name}` to a literal value in `{where}`.",
            key=f"{service.name}:{where}:{name}",
            snippet=f"{name}: <redacted>",
            properties={"service": service.name, "variable": name},
        )


def _is_literal(value: str | None) -> bool:
    """A value written in the file: not empty, not only `${VAR}` interpolation."""
    if value is None:
        return False
    v = value.strip()
    if not v or v.lower() in ("null", "~"):
        return False
    stripped = v.replace("$$", "")
    # Any interpolation means the real value comes from outside (possibly with a default).
    return "$" not in stripped
