"""Where and how a workload lands: the `default` namespace (K21), missing
health probes (K23) and GPU pods scheduled without a GPU node pool, or taking
a whole GPU node with the host's IPC namespace (K30)."""

from __future__ import annotations

from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.common.context import Context, Manifest
from aisec_ci.scanners.kubernetes.podspecs import Container, PodSpec
from aisec_ci.severity import Severity
from aisec_ci.yamlfile.values import YMap

DEFAULT_NAMESPACE = Rule(
    id="k8s/default-namespace",
    profile="strict",
    name="Object placed in the default namespace",
    short_description="`metadata.namespace: default` puts the object beside everything nobody isolated.",
    severity=Severity.LOW,
    what="Reports objects whose `metadata.namespace` is written as `default` (K21). Objects with no namespace "
    "are not reported: kustomize, Helm and `kubectl -n` set it at deploy time.",
    why="The default namespace usually has no Pod Security admission label, no NetworkPolicy and no quota, "
    "and every RoleBinding there applies to the workload; separating ML serving and training into their own "
    "namespaces is what makes those controls possible.",
    example="metadata:\n  name: llm-server\n  namespace: default",
    example_language="yaml",
    fix="Create a dedicated namespace (with `pod-security.kubernetes.io/enforce` and a default-deny "
    "NetworkPolicy) and deploy there.",
    tags=("CWE-653",),
    precision="very-high",
)

PROBES_MISSING = Rule(
    id="k8s/probes-missing",
    profile="strict",
    name="Long-running container without readiness or liveness probe",
    short_description="A Deployment/StatefulSet/DaemonSet container has no readinessProbe or livenessProbe.",
    severity=Severity.LOW,
    what="Reports the main containers of Deployments, StatefulSets, DaemonSets, ReplicaSets and "
    "LeaderWorkerSets that define neither a `readinessProbe` nor a `livenessProbe`, or only one of them (K23). "
    "Off by default: it is an availability control, enable it in `.aisec.yml` for serving repositories.",
    why="Without a readiness probe a model server receives traffic while it is still loading weights (errors, "
    "retries, timeouts that look like an outage); without a liveness probe a wedged GPU process is never "
    "restarted and its node keeps the GPU.",
    example="containers:\n- name: server\n  image: vllm/vllm-openai:v0.6.3\n  # no readinessProbe/livenessProbe",
    example_language="yaml",
    fix="Add `readinessProbe` (HTTP GET on the server's health endpoint, with a generous `startupProbe` for "
    "weight loading) and a `livenessProbe`.",
    tags=("CWE-400",),
    precision="very-high",
)

GPU_PLACEMENT = Rule(
    id="k8s/gpu-pod-placement",
    profile="strict",
    name="GPU pod without node placement, or whole GPU node with host IPC",
    short_description="A pod requests GPUs with no nodeSelector/affinity/toleration, or takes 8 GPUs with hostIPC.",
    severity=Severity.LOW,
    what="Reports pods that request `nvidia.com/gpu` (or `amd.com/gpu`, `habana.ai/gaudi`) with no "
    "`nodeSelector`, `nodeAffinity` or `tolerations` (low), and (medium) pods that request a whole node's "
    "GPUs (8 or more) while sharing the host IPC namespace (K30).",
    why="GPU nodes are normally tainted and pooled so that only vetted workloads land on them; a pod that "
    "relies on no taint at all shows that the pool is not isolated. A full-node pod with `hostIPC` shares "
    "shared memory with every process on the host, including other tenants' NCCL buffers and the device "
    "plugin.",
    example="spec:\n  hostIPC: true\n  containers:\n  - name: train\n    resources:\n      limits:\n"
    "        nvidia.com/gpu: 8",
    example_language="yaml",
    fix="Taint GPU nodes (`nvidia.com/gpu=present:NoSchedule`) and give GPU pods the matching toleration and "
    "a nodeSelector; replace hostIPC with an `emptyDir` of `medium: Memory` (with a sizeLimit) for /dev/shm.",
    tags=("CWE-653", "CWE-668"),
    precision="medium",
)

RULES: tuple[Rule, ...] = (DEFAULT_NAMESPACE, PROBES_MISSING, GPU_PLACEMENT)

_PROBED_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "LeaderWorkerSet"})
_GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "habana.ai/gaudi", "gpu.intel.com/i915")
WHOLE_NODE_GPUS = 8


def check_namespace_field(m: Manifest, ctx: Context) -> None:
    meta = m.metadata
    if meta is not None and m.namespace == "default":
        ctx.report(
            DEFAULT_NAMESPACE,
            meta.line_of("namespace"),
            "is placed in the default namespace",
            key="namespace:default",
            manifest=m,
        )


def check_probes(pod: PodSpec, ctx: Context) -> None:
    if pod.manifest.kind not in _PROBED_KINDS:
        return
    for c in pod.containers:
        if c.group != "containers" or c.runtime_supplied:
            continue
        missing = [p for p in ("readinessProbe", "livenessProbe") if not isinstance(c.doc.get(p), YMap)]
        if not missing:
            continue
        ctx.report(
            PROBES_MISSING,
            c.line,
            f"{c.label} has no {' and no '.join(missing)}",
            key=f"{pod.path}/{c.name}:probes",
            manifest=pod.manifest,
            image=c.image,
            absent=True,
        )


def _gpu_count(c: Container) -> tuple[str, int, int] | None:
    """(resource, count, line) of the container's GPU request, taking limits before requests."""
    res = c.doc.get("resources")
    if not isinstance(res, YMap):
        return None
    for section in ("limits", "requests"):
        values = res.get(section)
        if not isinstance(values, YMap):
            continue
        for name in _GPU_RESOURCES:
            if name in values:
                return name, _as_int(values[name]), values.line_of(name)
    return None


def _as_int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0  # a template placeholder: count unknown


def _placed(spec: YMap) -> bool:
    if isinstance(spec.get("nodeSelector"), YMap) and spec["nodeSelector"]:
        return True
    if isinstance(spec.get("tolerations"), list) and spec["tolerations"]:
        return True
    affinity = spec.get("affinity")
    return isinstance(affinity, YMap) and isinstance(affinity.get("nodeAffinity"), YMap)


def check_gpu(pod: PodSpec, ctx: Context) -> None:
    gpus = [(c, g) for c in pod.containers if (g := _gpu_count(c)) is not None]
    if not gpus:
        return
    spec = pod.spec
    total = sum(count for _, (_, count, _) in gpus)
    first, (resource, _, line) = gpus[0]
    if spec.get("hostIPC") is True and total >= WHOLE_NODE_GPUS:
        ctx.report(
            GPU_PLACEMENT,
            spec.line_of("hostIPC"),
            f"requests {total} GPUs (a whole node) and shares the host IPC namespace",
            key=f"{pod.path}:gpu-hostipc",
            manifest=pod.manifest,
            image=first.image,
            severity=Severity.MEDIUM,
        )
    # KServe components and Ray groups inherit placement from elsewhere often enough, but the
    # fields live on the same spec, so their absence is still meaningful; patches are exempt.
    if not _placed(spec):
        ctx.report(
            GPU_PLACEMENT,
            line,
            f"{first.label} requests {resource} but the pod has no nodeSelector, node affinity or tolerations",
            key=f"{pod.path}:gpu-placement",
            manifest=pod.manifest,
            image=first.image,
            absent=True,
        )
