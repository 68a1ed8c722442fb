"""Checks that need every manifest of the repository at once: a Service in
one file publishing pods defined in another (E6 across files), and ML servers
that no NetworkPolicy of the repository isolates (K22).

Per-file checks already pair Services and pods of the same file; this pass
reports only what they cannot see, so no finding is produced twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.common.context import AllowEntry, Context, Manifest
from aisec_ci.scanners.kubernetes import exposure
from aisec_ci.scanners.kubernetes.manifests import parse_manifests, without_crd_bodies
from aisec_ci.scanners.kubernetes.podspecs import PodSpec, pod_specs
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind
from aisec_ci.yamlfile.values import YMap

NO_NETWORK_POLICY = Rule(
    id="k8s/ml-server-without-network-policy",
    profile="strict",
    name="ML server not isolated by any NetworkPolicy",
    short_description="A Ray head, model server, MLflow or notebook pod is selected by no NetworkPolicy "
    "in the repository.",
    severity=Severity.LOW,
    what="Reports workloads that run an ML server (KubeRay clusters, KServe InferenceServices, Kubeflow "
    "Notebooks, and pods running vLLM, TGI, Triton, TorchServe, TensorFlow Serving, Ollama, SGLang, MLflow, "
    "Jupyter, TensorBoard or `ray start`) "
    "when no NetworkPolicy (or Cilium/Calico policy) in the repository applies to their namespace and "
    "selects their pods (K22). Batch Jobs are not reported. Policies kept in another repository make this a "
    "false positive: suppress it with that reason.",
    why="Kubernetes networking is allow-all by default: every pod of every namespace reaches the Ray "
    "dashboard and GCS, the model server's admin port and the notebook. One compromised pod (a dependency, a "
    "notebook) is then enough to submit Ray jobs or register a model.",
    example="kind: RayCluster\nmetadata:\n  name: raycluster\n# and no NetworkPolicy in the repository",
    example_language="yaml",
    fix="Add a default-deny NetworkPolicy for the namespace and allow ingress to the ML server's ports only "
    "from the pods (or ingress controller) that need them.",
    tags=("CWE-923", "CWE-668"),
    precision="medium",
)

RULES: tuple[Rule, ...] = (NO_NETWORK_POLICY,)

_POLICY_KINDS = frozenset({"NetworkPolicy", "CiliumNetworkPolicy", "GlobalNetworkPolicy", "AdminNetworkPolicy"})
_CLUSTER_WIDE_POLICIES = frozenset(
    {"GlobalNetworkPolicy", "CiliumClusterwideNetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"}
)
_SERVING_KINDS = frozenset({"RayCluster", "RayService", "InferenceService", "LLMInferenceService", "Notebook"})
_BATCH_KINDS = frozenset(
    {"Job", "CronJob", "Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow", "JobSet"}
)
_ML_SERVER_RE = re.compile(
    r"(?i)vllm|text-generation-inference|text-generation-launcher|tritonserver|torchserve|mlflow\s+(?:server|ui)"
    r"|\bjupyter|start-notebook|tensorboard|\bray\s+start\b|rayproject/ray|\bollama\b|sglang"
    r"|tensorflow/serving|tensorflow_model_server|text-embeddings-inference"
)
# Files worth parsing in the whole-tree pass; everything else cannot take part.
_INTEREST_RE = re.compile(
    r"LoadBalancer|NodePort|externalIPs|NetworkPolicy|kind:\s*(?:RayCluster|RayService|InferenceService|"
    r"LLMInferenceService|Notebook)\b|" + _ML_SERVER_RE.pattern.removeprefix("(?i)"),
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Parsed:
    file: SourceFile
    manifests: list[Manifest]
    pods: list[PodSpec]


@dataclass(frozen=True)
class _Policy:
    namespace: str
    """'' when the policy names no namespace (it applies wherever it is deployed)."""
    match_labels: dict[str, str] | None
    """None when the policy selects every pod (or selects by expressions we do not evaluate)."""


def _labels(pod: PodSpec) -> dict[str, str]:
    meta = pod.metadata
    labels = meta.get("labels") if meta is not None else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _policy(m: Manifest) -> _Policy:
    spec = m.spec
    selector = None
    if spec is not None:
        selector = spec.get("podSelector") if m.kind == "NetworkPolicy" else spec.get("endpointSelector")
    labels = selector.get("matchLabels") if isinstance(selector, YMap) else None
    if isinstance(selector, YMap) and "matchExpressions" in selector:
        labels = None
    match = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, YMap) and labels else None
    namespace = "*" if m.kind in _CLUSTER_WIDE_POLICIES else m.namespace
    return _Policy(namespace=namespace, match_labels=match)


def _covered(pod: PodSpec, policies: list[_Policy]) -> bool:
    ns = pod.manifest.namespace
    labels = _labels(pod)
    # Operators (KubeRay, KServe) add their own labels to the pods they create; a policy
    # keyed on those cannot be checked here, so any policy of the namespace counts.
    known_labels = pod.manifest.kind not in _SERVING_KINDS
    for p in policies:
        if p.namespace not in ("", "*", ns) and ns:
            continue
        if p.match_labels is None or not known_labels:
            return True
        if all(labels.get(k) == v for k, v in p.match_labels.items()):
            return True
    return False


def _serves(pod: PodSpec) -> bool:
    kind = pod.manifest.kind
    if kind in _BATCH_KINDS or kind == "RayJob":
        return False
    if kind in _SERVING_KINDS:
        return True
    return any(_ML_SERVER_RE.search(exposure.command_text(c)) for c in pod.containers)


# Literals at least one of which every _INTEREST_RE match contains (lower-case). `in` is a
# memchr-speed scan; the regex alternation ran at ~0.4 s per MB on multi-megabyte bundles.
_INTEREST_WORDS = (
    "loadbalancer", "nodeport", "externalips", "networkpolicy", "raycluster", "rayservice",
    "inferenceservice", "notebook", "vllm", "text-generation-", "tritonserver", "torchserve", "mlflow",
    "jupyter", "tensorboard", "ray", "ollama", "sglang", "tensorflow", "text-embeddings-inference",
)  # fmt: skip


# The same pattern, case-sensitive, for lower-cased ASCII text: case-insensitive matching
# runs the regex several times slower, and for ASCII it finds the same matches.
_INTEREST_LOWER_RE = re.compile(_INTEREST_RE.pattern.lower())


def _interesting(text: str) -> bool:
    """Whether a manifest (CRD schemas blanked: they mention every kind they describe) can hold
    what the cross-file checks look at."""
    low = text.lower()
    if not any(word in low for word in _INTEREST_WORDS):
        return False
    if text.isascii():
        return _INTEREST_LOWER_RE.search(low) is not None
    # IGNORECASE also matches a few non-ASCII letters (the Kelvin sign for k) that lower() keeps apart.
    return _INTEREST_RE.search(text) is not None


def _parse(files: list[SourceFile], partial: set[str]) -> Iterator[_Parsed]:
    for file in files:
        if file.kind is not FileKind.KUBERNETES or file.path in partial:
            continue
        try:
            text = without_crd_bodies(file.text)
        except OSError:
            continue
        if not _interesting(text):
            continue
        try:
            manifests = parse_manifests(file, text)
        except SkipFile:
            continue  # already reported as skipped by the per-file pass
        pods = [p for m in manifests for p in pod_specs(m)]
        yield _Parsed(file, manifests, pods)


def _external_services(parsed: list[_Parsed]) -> list[tuple[_Parsed, Manifest, dict[str, str]]]:
    out = []
    for item in parsed:
        for m in item.manifests:
            spec = m.spec
            if m.kind != "Service" or spec is None:
                continue
            external = str(spec.get("type", "ClusterIP")) in ("LoadBalancer", "NodePort") or isinstance(
                spec.get("externalIPs"), list
            )
            selector = spec.get("selector")
            if external and isinstance(selector, dict) and selector:
                out.append((item, m, {str(k): str(v) for k, v in selector.items()}))
    return out


def _selected(service: Manifest, selector: dict[str, str], pod: PodSpec) -> bool:
    if service.namespace and pod.manifest.namespace and service.namespace != pod.manifest.namespace:
        return False
    labels = _labels(pod)
    return all(labels.get(k) == v for k, v in selector.items())


def scan(
    files: list[SourceFile],
    allowlist: tuple[AllowEntry, ...],
    model_paths: tuple[str, ...],
    partial: set[str],
) -> list[Finding]:
    """Cross-file findings; `partial` holds the paths of kustomize patches."""
    parsed = list(_parse(files, partial))
    contexts: dict[str, Context] = {}

    def ctx_for(file: SourceFile) -> Context:
        if file.path not in contexts:
            contexts[file.path] = Context(file, allowlist, model_paths)
        return contexts[file.path]

    services = _external_services(parsed)
    for svc_file, service, selector in services:
        for item in parsed:
            for pod in item.pods:
                if not _selected(service, selector, pod):
                    continue
                if item.file.path != svc_file.file.path and not exposure.selected_by_external_service(
                    item.manifests, pod
                ):
                    # Same-file pairs are the per-file check's; this adds the cross-file ones.
                    exposure.check_model_servers_of(service, [pod], ctx_for(item.file), where=svc_file.file.path)
                exposure.check_service_ports_by_pods(service, pod, ctx_for(svc_file.file))

    policies = [_policy(m) for item in parsed for m in item.manifests if m.kind in _POLICY_KINDS]
    helm_policies = any(
        f.kind is FileKind.HELM_TEMPLATE and "NetworkPolicy" in _safe_text(f) for f in files if f.size < 2_000_000
    )
    if not helm_policies:
        for item in parsed:
            for pod in item.pods:
                if not _serves(pod) or _covered(pod, policies):
                    continue
                m = pod.manifest
                ns = m.namespace or "its namespace"
                ctx_for(item.file).report(
                    NO_NETWORK_POLICY,
                    m.doc.line_of("kind"),
                    f"runs an ML server ({_what(pod)}) and no NetworkPolicy in the repository selects its pods in {ns}",
                    key="network-policy",
                    manifest=m,
                    image=pod.first_image,
                )
    out: list[Finding] = []
    for path in sorted(contexts):
        out.extend(sorted(contexts[path].findings, key=lambda f: (f.start_line, f.rule_id, f.key)))
    return out


def _what(pod: PodSpec) -> str:
    if pod.manifest.kind in _SERVING_KINDS:
        return pod.manifest.kind
    for c in pod.containers:
        m = _ML_SERVER_RE.search(exposure.command_text(c))
        if m:
            return m.group(0).split()[0].lower()
    return pod.manifest.kind


def _safe_text(file: SourceFile) -> str:
    try:
        return file.text
    except OSError:
        return ""
