"""ML services reachable from outside the cluster (K25/E3/E6/E7), Ingress
hygiene (K26), and ML servers started without auth in container args
(E1/E3/E4)."""

from __future__ import annotations

from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.common import servecommands
from aisec_ci.scanners.common.context import Context, Manifest
from aisec_ci.scanners.kubernetes.podspecs import PodSpec
from aisec_ci.severity import Severity
from aisec_ci.yamlfile.values import YList, YMap

EXPOSED_SERVICE = Rule(
    id="exposure/ml-service-exposed",
    name="ML dashboard or model-server admin port exposed outside the cluster",
    short_description="A LoadBalancer/NodePort Service publishes Ray, MLflow, Jupyter, TensorBoard, "
    "TorchServe management or Triton ports.",
    severity=Severity.HIGH,
    what="Reports Services of type LoadBalancer or NodePort (or with `externalIPs`), and KubeRay "
    "`headGroupSpec.serviceType`, whose ports are those of the Ray dashboard/GCS/client (8265, 6379, 10001), "
    "Jupyter (8888), TensorBoard (6006), MLflow (5000), TorchServe management/metrics (8081/8082) or Triton "
    "(8000-8002), recognised by number and by the service's names, or by the image and command of the pods "
    "it selects anywhere in the repository (K25, E3, E6).",
    why="None of these speak authentication by default. The Ray Jobs API and Jupyter are remote code "
    "execution for whoever reaches them (ShadowRay), TorchServe's management API registers models from any "
    "URL (CVE-2023-43654), and MLflow serves every artifact.",
    example="kind: Service\nspec:\n  type: LoadBalancer\n  ports:\n  - name: dashboard\n    port: 8265",
    example_language="yaml",
    fix="Use `type: ClusterIP` and `kubectl port-forward`, or put the service behind an Ingress with "
    "authentication (oauth2-proxy, `nginx.ingress.kubernetes.io/auth-url`) and a NetworkPolicy.",
    tags=("CWE-306", "CWE-668"),
    precision="high",
)

INGRESS_TLS = Rule(
    id="k8s/ingress-without-tls",
    name="Ingress without TLS",
    short_description="An Ingress routes HTTP traffic with no `spec.tls` section.",
    severity=Severity.MEDIUM,
    what="Reports Ingress objects with rules but no `spec.tls` (K26/E7).",
    why="Prompts, model outputs, API keys and session cookies cross the network in clear text and can be "
    "read or altered on the path.",
    example="kind: Ingress\nspec:\n  rules:\n  - host: models.example.com",
    example_language="yaml",
    fix="Add `spec.tls` with a certificate (cert-manager) and redirect HTTP to HTTPS.",
    tags=("CWE-319",),
    precision="high",
)

INGRESS_NO_AUTH = Rule(
    id="exposure/ml-ingress-without-auth",
    name="Ingress exposes an ML UI without authentication",
    short_description="An Ingress routes to an MLflow, Ray, Jupyter, TensorBoard or model-server backend "
    "with no auth annotation.",
    severity=Severity.HIGH,
    what="Reports Ingress rules whose backend service name names an ML UI (mlflow, ray dashboard, jupyter, "
    "notebook, tensorboard, torchserve, triton) when the Ingress has no authentication annotation "
    "(ingress-nginx auth-url/auth-type, oauth2-proxy, Traefik middlewares, ALB/IAP auth) (E7).",
    why="These UIs have no login of their own; publishing them on a hostname gives anyone code execution "
    "(Ray, Jupyter) or the full model registry (MLflow).",
    example="kind: Ingress\nspec:\n  rules:\n  - http:\n      paths:\n      - backend:\n          service:\n"
    "            name: mlflow",
    example_language="yaml",
    fix="Add authentication at the Ingress (`nginx.ingress.kubernetes.io/auth-url` with oauth2-proxy, or "
    "basic auth with `auth-type: basic` and `auth-secret`) or keep the service internal.",
    tags=("CWE-306",),
    precision="medium",
)

INGRESS_SNIPPET = Rule(
    id="k8s/ingress-snippet-annotation",
    name="ingress-nginx snippet annotation",
    short_description="`configuration-snippet`/`server-snippet` injects raw nginx config.",
    severity=Severity.MEDIUM,
    what="Reports ingress-nginx `*-snippet` annotations (K26).",
    why="Snippets are raw nginx directives; they have been used to read the controller's service-account "
    "token and every Secret in the cluster (CVE-2021-25742, CVE-2025-1974 family).",
    example="metadata:\n  annotations:\n    nginx.ingress.kubernetes.io/configuration-snippet: |\n"
    "      more_set_headers ...",
    example_language="yaml",
    fix="Use the dedicated annotations instead and keep `allow-snippet-annotations: false` on the controller.",
    tags=("CWE-94",),
    precision="very-high",
)


# port -> (product, name hints needed to recognise it; empty: the number alone is enough)
ML_PORTS: dict[int, tuple[str, tuple[str, ...]]] = {
    8265: ("Ray dashboard / Jobs API", ()),
    10001: ("Ray client server", ()),
    6006: ("TensorBoard", ()),
    6379: ("Ray GCS", ("ray", "gcs")),
    8888: ("Jupyter", ("jupyter", "notebook")),
    5000: ("MLflow", ("mlflow",)),
    8081: ("TorchServe management API", ("torchserve", "management")),
    8082: ("TorchServe metrics", ("torchserve",)),
    8000: ("Triton HTTP", ("triton",)),
    8001: ("Triton gRPC", ("triton",)),
    8002: ("Triton metrics", ("triton",)),
}
ML_NAME_HINTS = ("ray", "mlflow", "jupyter", "notebook", "tensorboard", "torchserve", "triton", "dashboard", "kubeflow")
AUTH_ANNOTATIONS = (
    "nginx.ingress.kubernetes.io/auth-url",
    "nginx.ingress.kubernetes.io/auth-type",
    "nginx.ingress.kubernetes.io/auth-signin",
    "traefik.ingress.kubernetes.io/router.middlewares",
    "alb.ingress.kubernetes.io/auth-type",
    "konghq.com/plugins",
    "haproxy.org/auth-type",
)


def _names(m: Manifest, spec: YMap) -> str:
    parts = [m.name]
    selector = spec.get("selector")
    if isinstance(selector, dict):
        parts.extend(f"{k}={v}" for k, v in selector.items())
    return " ".join(parts).lower()


def _exposed_port(port: YMap, names: str) -> str | None:
    pname = str(port.get("name", "")).lower()
    hints = f"{names} {pname}"
    for field in ("port", "targetPort"):
        value = port.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value in ML_PORTS:
            product, needs = ML_PORTS[value]
            if not needs or any(h in hints for h in needs):
                return f"{product} ({value})"
        if isinstance(value, str) and any(h in value.lower() for h in ("dashboard", "jupyter", "mlflow")):
            return f"{value} port"
    return None


def check_service(m: Manifest, ctx: Context) -> None:
    spec = m.spec
    if spec is None:
        return
    stype = str(spec.get("type", "ClusterIP"))
    external = stype in ("LoadBalancer", "NodePort") or isinstance(spec.get("externalIPs"), list)
    ports = spec.get("ports")
    if not external or not isinstance(ports, YList):
        return
    names = _names(m, spec)
    via = stype if stype in ("LoadBalancer", "NodePort") else "externalIPs"
    for port in ports:
        if not isinstance(port, YMap):
            continue
        what = _exposed_port(port, names)
        if what is None:
            continue
        sev = Severity.HIGH if via in ("LoadBalancer", "externalIPs") else Severity.MEDIUM
        ctx.report(
            EXPOSED_SERVICE,
            port.line_of("port"),
            f"{what} is published through a {via} Service",
            key=f"service-port:{port.get('port')}",
            manifest=m,
            severity=sev,
        )


def check_ingress(m: Manifest, ctx: Context) -> None:
    spec = m.spec
    if spec is None:
        return
    meta = m.metadata
    annotations = meta.get("annotations") if meta is not None else None
    annotations = annotations if isinstance(annotations, YMap) else YMap()
    for name in annotations:
        if name.startswith("nginx.ingress.kubernetes.io/") and name.endswith("-snippet"):
            ctx.report(
                INGRESS_SNIPPET,
                annotations.line_of(name),
                f"uses the {name.rsplit('/', 1)[1]} annotation",
                key=f"annotation:{name}",
                manifest=m,
            )
    rules = spec.get("rules")
    if isinstance(rules, YList) and rules and not spec.get("tls"):
        ctx.report(
            INGRESS_TLS,
            m.doc.line_of("spec"),
            "routes traffic without TLS (no spec.tls)",
            key="tls",
            manifest=m,
            absent=True,
        )
    if any(a in annotations for a in AUTH_ANNOTATIONS):
        return
    for name, line in _backends(spec):
        if any(h in name.lower() for h in ML_NAME_HINTS):
            ctx.report(
                INGRESS_NO_AUTH,
                line,
                f"routes to {name} with no authentication annotation",
                key=f"backend:{name}",
                manifest=m,
            )


def _backends(spec: YMap) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []

    def backend(b: Any) -> None:
        if not isinstance(b, YMap):
            return
        svc = b.get("service")
        if isinstance(svc, YMap) and isinstance(svc.get("name"), str):
            out.append((svc["name"], svc.line_of("name")))
        elif isinstance(b.get("serviceName"), str):
            out.append((b["serviceName"], b.line_of("serviceName")))

    backend(spec.get("defaultBackend") or spec.get("backend"))
    rules = spec.get("rules")
    if isinstance(rules, list):
        for rule in rules:
            http = rule.get("http") if isinstance(rule, YMap) else None
            paths = http.get("paths") if isinstance(http, YMap) else None
            if isinstance(paths, list):
                for p in paths:
                    if isinstance(p, YMap):
                        backend(p.get("backend"))
    return out


def _ray_auth(m: Manifest) -> bool:
    spec = m.spec
    if spec is None:
        return False
    for holder in (spec, spec.get("rayClusterSpec"), spec.get("rayClusterConfig")):
        auth = holder.get("authOptions") if isinstance(holder, YMap) else None
        if isinstance(auth, YMap) and str(auth.get("mode", "")).lower() not in ("", "disabled", "none"):
            return True
    return False


def _env_text(pod: PodSpec) -> str:
    parts = []
    for c in pod.containers:
        env = c.doc.get("env")
        if isinstance(env, list):
            for e in env:
                if isinstance(e, YMap) and isinstance(e.get("name"), str):
                    parts.append(f"{e['name']}={e.get('value', '')}")
    return " ".join(parts)


def check_ray_cluster(m: Manifest, ctx: Context) -> None:
    """RayCluster/RayJob/RayService head group: dashboard-host and serviceType."""
    spec = m.spec
    if spec is None:
        return
    cluster: Any = spec
    if m.kind == "RayJob":
        cluster = spec.get("rayClusterSpec")
    elif m.kind == "RayService":
        cluster = spec.get("rayClusterConfig")
    head = cluster.get("headGroupSpec") if isinstance(cluster, YMap) else None
    if not isinstance(head, YMap):
        return
    auth = _ray_auth(m) or servecommands.mentions_ray_auth(_env_text_of(head))
    params = head.get("rayStartParams")
    if isinstance(params, YMap) and not auth:
        host = str(params.get("dashboard-host", "")).strip()
        if host in ("0.0.0.0", "::", "[::]"):
            ctx.report(
                servecommands.RAY_DASHBOARD_PUBLIC,
                params.line_of("dashboard-host"),
                "head rayStartParams binds the Ray dashboard (Jobs API) to all interfaces without token auth",
                key="rayStartParams:dashboard-host",
                manifest=m,
                severity=Severity.MEDIUM,
            )
    stype = head.get("serviceType")
    if str(stype) in ("LoadBalancer", "NodePort"):
        sev = Severity.HIGH if str(stype) == "LoadBalancer" else Severity.MEDIUM
        if auth:
            sev = Severity.MEDIUM
        ctx.report(
            EXPOSED_SERVICE,
            head.line_of("serviceType"),
            f"head service of type {stype} publishes the Ray dashboard, GCS and client ports",
            key="headGroupSpec:serviceType",
            manifest=m,
            severity=sev,
        )


def _env_text_of(head: YMap) -> str:
    tpl = head.get("template")
    spec = tpl.get("spec") if isinstance(tpl, YMap) else None
    conts = spec.get("containers") if isinstance(spec, YMap) else None
    parts = []
    if isinstance(conts, list):
        for c in conts:
            env = c.get("env") if isinstance(c, YMap) else None
            if isinstance(env, list):
                for e in env:
                    if isinstance(e, YMap):
                        parts.append(f"{e.get('name')}={e.get('value', '')}")
    return " ".join(parts)


_MARKS = ("0.0.0.0", "::", ".token", "--bind_all", "--allow-root")


def check_commands(pod: PodSpec, ctx: Context) -> None:
    """E1/E3/E4 in container command + args."""
    m = pod.manifest
    ray_auth = _ray_auth(m) or servecommands.mentions_ray_auth(_env_text(pod))
    if any(servecommands.is_auth_proxy(c.image) for c in pod.containers):
        return  # an oauth2-proxy (or similar) sidecar fronts the UI
    for c in pod.containers:
        pieces: list[tuple[str, int]] = []
        for field in ("command", "args"):
            value = c.doc.get(field)
            if isinstance(value, YList):
                pieces.extend(
                    (str(v), value.line_of(i)) for i, v in enumerate(value) if not isinstance(v, (dict, list))
                )
            elif isinstance(value, str):
                pieces.append((value, c.doc.line_of(field)))
        if not pieces:
            continue
        text = " ".join(p for p, _ in pieces)
        for exp in servecommands.analyse(text, ray_auth=ray_auth):
            line = next((ln for p, ln in pieces if any(mark in p for mark in _MARKS)), pieces[0][1])
            ctx.report(
                exp.rule,
                line,
                f"{c.label}: {exp.message}",
                key=f"{pod.path}/{c.name}:{exp.slug}",
                manifest=m,
                image=c.image,
                severity=exp.severity,
            )


MODEL_SERVER_NO_KEY = Rule(
    id="exposure/model-server-without-api-key",
    name="Externally exposed LLM server without an API key",
    short_description="A LoadBalancer/NodePort Service selects vLLM or TGI pods started without `--api-key`.",
    severity=Severity.HIGH,
    what="Reports vLLM (`vllm serve`, `vllm.entrypoints.openai.api_server`, `vllm/vllm-openai` images) and "
    "Text Generation Inference containers without `--api-key`/`VLLM_API_KEY` (vLLM) or `--api-key`/`API_KEY` "
    "(TGI) whose pods are selected by a LoadBalancer or NodePort Service in the same file or in any other "
    "manifest of the repository (E6).",
    why="The OpenAI-compatible endpoint then serves anyone on the network: free GPU time, prompt and data "
    "extraction through the model, and denial of service by long generations.",
    example="kind: Service\nspec:\n  type: LoadBalancer\n  selector: {app: llm}\n---\n"
    "# pods labelled app: llm run: vllm serve meta-llama/Llama-3.1-8B-Instruct",
    example_language="yaml",
    fix="Start the server with `--api-key` read from a Secret (`VLLM_API_KEY`), or keep the Service internal "
    "behind an authenticating gateway.",
    tags=("CWE-306",),
    precision="medium",
)

RULES: tuple[Rule, ...] = (EXPOSED_SERVICE, INGRESS_TLS, INGRESS_NO_AUTH, INGRESS_SNIPPET, MODEL_SERVER_NO_KEY)

_VLLM_HINTS = ("vllm serve", "vllm.entrypoints", "vllm/vllm-openai", "vllm-openai")
_TGI_HINTS = ("text-generation-inference", "text-generation-launcher")


def _labels(pod: PodSpec) -> dict[str, str]:
    meta = pod.metadata
    labels = meta.get("labels") if meta is not None else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def command_text(c: Any) -> str:
    """Image, command, args and env var names of a container, as one string for hint matching."""
    parts = [str(c.image)]
    for field in ("command", "args"):
        value = c.doc.get(field)
        if isinstance(value, list):
            parts.extend(str(v) for v in value if not isinstance(v, (dict, list)))
        elif isinstance(value, str):
            parts.append(value)
    env = c.doc.get("env")
    if isinstance(env, list):
        parts.extend(f"env:{e.get('name')}" for e in env if isinstance(e, YMap))
    return " ".join(parts)


def _external_selectors(manifests: list[Manifest]) -> list[tuple[Manifest, dict[str, str]]]:
    out: list[tuple[Manifest, dict[str, str]]] = []
    for m in manifests:
        spec = m.spec
        if m.kind != "Service" or spec is None:
            continue
        if str(spec.get("type", "ClusterIP")) not in ("LoadBalancer", "NodePort"):
            continue
        selector = spec.get("selector")
        if isinstance(selector, dict) and selector:
            out.append((m, {str(k): str(v) for k, v in selector.items()}))
    return out


def check_model_servers(manifests: list[Manifest], pods: list[PodSpec], ctx: Context) -> None:
    """vLLM/TGI pods without an API key behind an external Service of the same file."""
    external = _external_selectors(manifests)
    if not external:
        return
    for pod in pods:
        labels = _labels(pod)
        service = next((s for s, sel in external if all(labels.get(k) == v for k, v in sel.items())), None)
        if service is not None:
            check_model_servers_of(service, [pod], ctx)


def selected_by_external_service(manifests: list[Manifest], pod: PodSpec) -> bool:
    labels = _labels(pod)
    return any(all(labels.get(k) == v for k, v in sel.items()) for _, sel in _external_selectors(manifests))


def check_model_servers_of(service: Manifest, pods: list[PodSpec], ctx: Context, where: str = "") -> None:
    """vLLM/TGI containers of `pods` (already known to be selected by `service`) without an API key;
    `where` names the Service's file when it is not the pods' file."""
    stype = service.spec.get("type") if service.spec else ""
    origin = f" in {where}" if where else ""
    for pod in pods:
        for c in pod.containers:
            text = command_text(c)
            lowered = text.lower()
            if any(h in lowered for h in _VLLM_HINTS):
                product, keyed = "vLLM", "--api-key" in text or "env:VLLM_API_KEY" in text
            elif any(h in lowered for h in _TGI_HINTS):
                product, keyed = "TGI", "--api-key" in text or "env:API_KEY" in text
            else:
                continue
            if keyed:
                continue
            ctx.report(
                MODEL_SERVER_NO_KEY,
                c.line,
                f"{product} {c.label} has no API key and is exposed by {service.kind} {service.name}{origin} ({stype})",
                key=f"{pod.path}/{c.name}:api-key",
                manifest=pod.manifest,
                image=c.image,
            )


# Image or command hints that identify a server behind an ambiguous port number.
_PORT_PRODUCT_HINTS: dict[int, tuple[str, ...]] = {
    6379: ("rayproject/ray", "ray start"),
    8888: ("jupyter", "notebook"),
    5000: ("mlflow",),
    8081: ("torchserve",),
    8082: ("torchserve",),
    8000: ("tritonserver", "triton"),
    8001: ("tritonserver", "triton"),
    8002: ("tritonserver", "triton"),
}


def check_service_ports_by_pods(service: Manifest, pod: PodSpec, ctx: Context) -> None:
    """E6 by what the selected pods run: port 8000 is anything, until the pod behind it is Triton.
    Only ports the Service's own names did not already identify are reported."""
    spec = service.spec
    ports = spec.get("ports") if spec is not None else None
    if spec is None or not isinstance(ports, YList):
        return
    names = _names(service, spec)
    stype = str(spec.get("type", "ClusterIP"))
    via = stype if stype in ("LoadBalancer", "NodePort") else "externalIPs"
    runs = " ".join(command_text(c) for c in pod.containers).lower()
    for port in ports:
        if not isinstance(port, YMap) or _exposed_port(port, names) is not None:
            continue
        for field in ("targetPort", "port"):
            number = port.get(field)
            if not isinstance(number, int) or isinstance(number, bool) or number not in _PORT_PRODUCT_HINTS:
                continue
            if not any(h in runs for h in _PORT_PRODUCT_HINTS[number]):
                continue
            product = ML_PORTS[number][0]
            ctx.report(
                EXPOSED_SERVICE,
                port.line_of("port"),
                f"{product} ({number}) of {pod.manifest.label} is published through a {via} Service",
                key=f"service-port:{port.get('port')}",
                manifest=service,
                severity=Severity.HIGH if via != "NodePort" else Severity.MEDIUM,
            )
            break
