"""Every place a pod spec hides: workloads, and the ML custom resources
(KServe, KubeRay, Kubeflow training, Argo, JobSet, LeaderWorkerSet) that
generic IaC scanners do not open."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from aisec_ci.scanners.common.context import Manifest
from aisec_ci.yamlfile.values import YList, YMap, line_of

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

# KServe predictor/transformer/explainer: besides `containers`, a framework key
# holds a single container (image, args, env, resources, securityContext).
_KSERVE_FRAMEWORKS = (
    "model",
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "huggingface",
    "pmml",
    "lightgbm",
    "paddle",
    "alibi",
    "art",
)

# Kinds that never hold a pod spec; the generic search skips them.
_NO_POD_KINDS = frozenset(
    {
        "Service",
        "ConfigMap",
        "Secret",
        "Namespace",
        "ServiceAccount",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
        "Ingress",
        "NetworkPolicy",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "StorageClass",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "CustomResourceDefinition",
        "APIService",
        "LimitRange",
        "ResourceQuota",
        "PriorityClass",
        "Endpoints",
        "EndpointSlice",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "PodSecurityPolicy",
        "ServiceMonitor",
        "PodMonitor",
    }
)


@dataclass(frozen=True)
class Container:
    doc: YMap
    group: str
    """containers, initContainers, ephemeralContainers, sidecars, or a framework key."""
    index: int
    path: str
    anchor: int = 0
    """Line that stands for the container when it has no `name:` (its list item, or its key)."""
    runtime_supplied: bool = False
    """A KServe framework container (`model:`, `sklearn:`...): the ServingRuntime supplies its
    image, command, securityContext and resources, so fields absent here are not absent."""

    @property
    def name(self) -> str:
        """Identifies the container in finding keys (and so fingerprints): keep as is."""
        name = self.doc.get("name")
        if isinstance(name, str):
            return name
        return self.group if self.index < 0 else f"{self.group}[{self.index}]"

    @property
    def label(self) -> str:
        """How messages name the container: its real name, never an invented one."""
        name = self.doc.get("name")
        if isinstance(name, str) and name.strip():
            return f"container {name.strip()}"
        if self.index < 0:
            return f"the unnamed `{self.group}` container"
        return f"the unnamed container #{self.index + 1} of {self.group}"

    @property
    def line(self) -> int:
        """The `name:` line, else the container's own line (never a sibling field's)."""
        if "name" in self.doc:
            return self.doc.line_of("name")
        return self.anchor or self.doc.line

    @property
    def image(self) -> str:
        image = self.doc.get("image")
        return image if isinstance(image, str) else ""

    @property
    def security_context(self) -> YMap | None:
        sc = self.doc.get("securityContext")
        return sc if isinstance(sc, YMap) else None


@dataclass(frozen=True)
class PodSpec:
    """A pod spec (or what plays its part) inside a manifest."""

    manifest: Manifest
    spec: YMap
    """Holds pod-level fields: hostNetwork, volumes, securityContext, ..."""
    path: str
    """Where it sits, e.g. `spec.template.spec` or `spec.workerGroupSpecs[0].template.spec`."""
    metadata: YMap | None = None
    """Pod template metadata (annotations), when the object has one."""
    containers: tuple[Container, ...] = field(default_factory=tuple)

    @property
    def security_context(self) -> YMap | None:
        sc = self.spec.get("securityContext")
        return sc if isinstance(sc, YMap) else None

    @property
    def images(self) -> str:
        return ",".join(sorted({c.image for c in self.containers if c.image}))

    @property
    def first_image(self) -> str:
        for c in self.containers:
            if c.image:
                return c.image
        return ""


def _containers(
    spec: YMap, path: str, extra: tuple[tuple[str, Any], ...] = (), runtime: bool = False
) -> tuple[Container, ...]:
    out: list[Container] = []
    for group in (*CONTAINER_LISTS, "sidecars"):
        items = spec.get(group)
        if isinstance(items, list):
            for i, c in enumerate(items):
                if isinstance(c, YMap):
                    out.append(Container(c, group, i, f"{path}.{group}[{i}]", anchor=line_of(items, i, c.line)))
    for group, c in extra:
        if isinstance(c, YMap):
            out.append(Container(c, group, -1, f"{path}.{group}", anchor=spec.line_of(group), runtime_supplied=runtime))
    return tuple(out)


def _pod(manifest: Manifest, spec: Any, path: str, metadata: Any = None, supplied: bool = False) -> Iterator[PodSpec]:
    if isinstance(spec, YMap):
        meta = metadata if isinstance(metadata, YMap) else None
        conts = _containers(spec, path)
        if supplied:
            conts = tuple(replace(c, runtime_supplied=True) for c in conts)
        yield PodSpec(manifest, spec, path, meta, conts)


def _template(manifest: Manifest, template: Any, path: str) -> Iterator[PodSpec]:
    """A PodTemplateSpec: {metadata, spec}."""
    if isinstance(template, YMap):
        yield from _pod(manifest, template.get("spec"), f"{path}.spec", template.get("metadata"))


def _ray_cluster(manifest: Manifest, spec: Any, path: str) -> Iterator[PodSpec]:
    if not isinstance(spec, YMap):
        return
    head = spec.get("headGroupSpec")
    if isinstance(head, YMap):
        yield from _template(manifest, head.get("template"), f"{path}.headGroupSpec.template")
    workers = spec.get("workerGroupSpecs")
    if isinstance(workers, list):
        for i, group in enumerate(workers):
            if isinstance(group, YMap):
                yield from _template(manifest, group.get("template"), f"{path}.workerGroupSpecs[{i}].template")


def _kserve_component(manifest: Manifest, comp: Any, path: str) -> Iterator[PodSpec]:
    if not isinstance(comp, YMap):
        return
    extra = tuple((k, comp.get(k)) for k in _KSERVE_FRAMEWORKS if isinstance(comp.get(k), YMap))
    yield PodSpec(manifest, comp, path, None, _containers(comp, path, extra, runtime=True))


def _argo(manifest: Manifest, spec: Any, path: str) -> Iterator[PodSpec]:
    """Each Argo template runs its own pod; pod-level fields live on the workflow spec."""
    if not isinstance(spec, YMap):
        return
    templates = spec.get("templates")
    if not isinstance(templates, list):
        return
    for i, tpl in enumerate(templates):
        if not isinstance(tpl, YMap):
            continue
        tpath = f"{path}.templates[{i}]"
        extra = tuple((k, tpl.get(k)) for k in ("container", "script") if isinstance(tpl.get(k), YMap))
        conts = list(_containers(tpl, tpath, extra))
        cset = tpl.get("containerSet")
        if isinstance(cset, YMap):
            conts.extend(_containers(cset, f"{tpath}.containerSet"))
        if conts:
            yield PodSpec(
                manifest,
                spec,
                tpath,
                tpl.get("metadata") if isinstance(tpl.get("metadata"), YMap) else None,
                tuple(conts),
            )


def _generic(manifest: Manifest, value: Any, path: str, depth: int = 0) -> Iterator[PodSpec]:
    """Unknown custom resources: any mapping with a `containers` list of mappings."""
    if depth > 12:
        return
    if isinstance(value, YMap):
        conts = value.get("containers")
        if isinstance(conts, list) and any(isinstance(c, YMap) for c in conts):
            yield PodSpec(manifest, value, path, None, _containers(value, path))
            return
        for k, v in value.items():
            if k in ("metadata", "status"):
                continue
            if isinstance(v, (YMap, YList)):
                yield from _generic(manifest, v, f"{path}.{k}" if path else k, depth + 1)
    elif isinstance(value, YList):
        for i, v in enumerate(value):
            if isinstance(v, (YMap, YList)):
                yield from _generic(manifest, v, f"{path}[{i}]", depth + 1)


_TEMPLATE_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "DeploymentConfig"}
)


def pod_specs(manifest: Manifest) -> Iterator[PodSpec]:
    """Every pod spec of one object (none for objects that run no pods)."""
    kind = manifest.kind
    doc = manifest.doc
    spec = manifest.spec
    if kind == "Pod":
        yield from _pod(manifest, spec, "spec", doc.get("metadata"))
    elif kind == "PodTemplate":
        yield from _template(manifest, doc.get("template"), "template")
    elif spec is None:
        return
    elif kind in _TEMPLATE_KINDS:
        yield from _template(manifest, spec.get("template"), "spec.template")
    elif kind == "CronJob":
        job = spec.get("jobTemplate")
        if isinstance(job, YMap) and isinstance(job.get("spec"), YMap):
            yield from _template(manifest, job["spec"].get("template"), "spec.jobTemplate.spec.template")
    elif kind == "InferenceService":
        for comp in ("predictor", "transformer", "explainer"):
            yield from _kserve_component(manifest, spec.get(comp), f"spec.{comp}")
    elif kind in ("ServingRuntime", "ClusterServingRuntime"):
        yield from _pod(manifest, spec, "spec")
    elif kind in ("LLMInferenceService", "LLMInferenceServiceConfig"):
        # An LLMInferenceService is merged over the LLMInferenceServiceConfig presets, which
        # supply image, command and securityContext: what it leaves out is not missing.
        supplied = kind == "LLMInferenceService"
        for comp, sub in (("template", spec), ("worker", spec)):
            yield from _pod(manifest, sub.get(comp), f"spec.{comp}", supplied=supplied)
        prefill = spec.get("prefill")
        if isinstance(prefill, YMap):
            for comp in ("template", "worker"):
                yield from _pod(manifest, prefill.get(comp), f"spec.prefill.{comp}", supplied=supplied)
    elif kind == "RayCluster":
        yield from _ray_cluster(manifest, spec, "spec")
    elif kind == "RayJob":
        yield from _ray_cluster(manifest, spec.get("rayClusterSpec"), "spec.rayClusterSpec")
        yield from _template(manifest, spec.get("submitterPodTemplate"), "spec.submitterPodTemplate")
    elif kind == "RayService":
        yield from _ray_cluster(manifest, spec.get("rayClusterConfig"), "spec.rayClusterConfig")
    elif kind in ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate"):
        yield from _argo(manifest, spec, "spec")
    elif kind == "CronWorkflow":
        yield from _argo(manifest, spec.get("workflowSpec"), "spec.workflowSpec")
    elif kind == "JobSet":
        jobs = spec.get("replicatedJobs")
        if isinstance(jobs, list):
            for i, rj in enumerate(jobs):
                tpl = rj.get("template") if isinstance(rj, YMap) else None
                if isinstance(tpl, YMap) and isinstance(tpl.get("spec"), YMap):
                    yield from _template(
                        manifest, tpl["spec"].get("template"), f"spec.replicatedJobs[{i}].template.spec.template"
                    )
    elif kind == "LeaderWorkerSet":
        lwt = spec.get("leaderWorkerTemplate")
        if isinstance(lwt, YMap):
            for comp in ("leaderTemplate", "workerTemplate"):
                yield from _template(manifest, lwt.get(comp), f"spec.leaderWorkerTemplate.{comp}")
    elif any(k.endswith("ReplicaSpecs") for k in spec):
        # Kubeflow training operators: TFJob, PyTorchJob, MPIJob, XGBoostJob, PaddleJob, MXJob.
        for key in sorted(k for k in spec if k.endswith("ReplicaSpecs")):
            replicas = spec.get(key)
            if isinstance(replicas, YMap):
                for role, rs in replicas.items():
                    if isinstance(rs, YMap):
                        yield from _template(manifest, rs.get("template"), f"spec.{key}.{role}.template")
    elif kind not in _NO_POD_KINDS or not _core_api(manifest.api_version):
        yield from _generic(manifest, spec, "spec")


def _core_api(api_version: str) -> bool:
    """Built-in API groups; a custom group may reuse a core kind name (Knative `Service`)."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return (
        group == ""
        or group.endswith(".k8s.io")
        or group in ("apps", "batch", "policy", "autoscaling")
        or (group == "monitoring.coreos.com")
    )
