"""ML and data services published on every network interface."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.compose_model import ComposeContext, Service
from aisec_ci.scanners.docker.compose_yaml import scalar
from aisec_ci.scanners.docker.images import parse_image
from aisec_ci.severity import Severity

ML_SERVICE_EXPOSED = Rule(
    id="compose/ml-service-exposed",
    name="ML service published on all interfaces",
    short_description="MLflow, Jupyter, Ray, TensorBoard, Redis or Postgres is published without a host IP.",
    severity=Severity.MEDIUM,
    what="Reports `ports:` entries of services recognised as MLflow, Jupyter, Ray, TensorBoard, Redis or "
    "Postgres (by image, command or service name) that publish on all host interfaces: no host IP, "
    "`0.0.0.0` or `::` (short and long syntax).",
    why="None of these services authenticate strongly by default: an MLflow or Ray dashboard reachable from "
    "the network lets anyone register models or submit jobs (Ray's ShadowRay campaign, CVE-2023-48022), "
    "Jupyter is a remote shell, and Redis/Postgres with default credentials give the feature store and "
    "experiment metadata away. Docker's published ports also bypass host firewalls such as ufw.",
    example='services:\n  mlflow:\n    image: ghcr.io/mlflow/mlflow:v2.14.1\n    ports:\n      - "5000:5000"',
    example_language="yaml",
    fix='Bind to loopback (`"127.0.0.1:5000:5000"`) and reach it through an SSH tunnel or an authenticating '
    "reverse proxy; for service-to-service traffic use the Compose network and `expose:` instead of `ports:`.",
    tags=("CWE-668", "CWE-306"),
    precision="high",
    references=("https://docs.docker.com/engine/network/packet-filtering-firewalls/",),
)

RULES = (ML_SERVICE_EXPOSED,)

# kind -> (image repository fragments, command fragments, service names for locally built images)
_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "MLflow": (("mlflow",), ("mlflow server", "mlflow ui"), ("mlflow",)),
    "Jupyter": (("jupyter",), ("jupyter ", "start-notebook", "jupyterhub"), ("jupyter", "notebook", "jupyterlab")),
    "Ray": (("rayproject/ray", "anyscale/ray"), ("ray start",), ("ray", "ray-head")),
    "TensorBoard": (("tensorboard",), ("tensorboard ",), ("tensorboard",)),
    "Redis": (("redis", "valkey"), ("redis-server",), ("redis",)),
    "Postgres": (("postgres", "postgis", "pgvector", "timescaledb"), ("postgres ",), ("postgres", "postgresql")),
}
_ANY = frozenset({"", "0.0.0.0", "::", "[::]"})


def service_kind(ctx: ComposeContext, service: Service) -> str | None:
    """Which ML/data service this is, from its image, its command or (for built images) its name."""
    image_text = (ctx.text(service, "image") or "").lower()
    image = parse_image(image_text) if image_text else None
    repo = image.repository if image else ""
    command = (ctx.command_text(service, "command") + " " + ctx.command_text(service, "entrypoint")).lower()
    command = command.strip() + " "
    for kind, (image_parts, command_parts, _) in _KINDS.items():
        if repo and any(part in repo for part in image_parts):
            return kind
        if command.strip() and any(part in command for part in command_parts):
            return kind
    if not repo:
        name = service.name.lower()
        for kind, (_, _, names) in _KINDS.items():
            if any(name == n or name.startswith((n + "-", n + "_")) for n in names):
                return kind
    return None


def published_on_all_interfaces(ctx: ComposeContext, item: yaml.Node) -> str | None:
    """The published port spec when `item` binds every interface, else None."""
    text = scalar(item)
    if text is not None:
        spec = text.strip().split("/", 1)[0]
        host_ip = ""
        if spec.startswith("["):
            end = spec.find("]")
            host_ip, spec = spec[: end + 1], spec[end + 2 :]
        else:
            parts = spec.split(":")
            if len(parts) == 3:
                host_ip = parts[0]
            elif len(parts) > 3:
                # An unbracketed IPv6 address: the last two parts are the ports.
                host_ip = ":".join(parts[:-2])
        # A loopback, a specific address or an interpolated one (`${BIND:-127.0.0.1}`) is a choice.
        return text.strip() if host_ip.strip() in _ANY else None
    if isinstance(item, yaml.MappingNode):
        got = ctx.budget.get(item, "host_ip")
        host_ip = (scalar(got[1]) or "").strip() if got else ""
        if host_ip not in _ANY:
            return None
        target = ctx.budget.get(item, "target")
        published = ctx.budget.get(item, "published")
        t = scalar(target[1]) if target else "?"
        p = scalar(published[1]) if published else "random"
        return f"{p}:{t}"
    return None


def check(ctx: ComposeContext) -> Iterator[Finding]:
    for service in ctx.services:
        got = ctx.value(service, "ports")
        if not got:
            continue
        kind = service_kind(ctx, service)
        if kind is None:
            continue
        for item in ctx.budget.sequence(got[1]):
            spec = published_on_all_interfaces(ctx, item)
            if spec is None:
                continue
            yield ctx.finding(
                ML_SERVICE_EXPOSED,
                item,
                f"{kind} service `{service.name}` is published on all interfaces (`{spec}`); bind it to 127.0.0.1 "
                "or put an authenticating proxy in front.",
                key=f"{service.name}:port:{spec}",
                properties={"service": service.name, "service_type": kind, "port": spec},
            )
