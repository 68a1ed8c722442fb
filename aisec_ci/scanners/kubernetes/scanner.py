"""The `kubernetes` scanner: manifests (multi-document, Lists) including the ML
custom resources that embed pod specs."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import ScanContext, Scanner, SkipFile
from aisec_ci.scanners.common import servecommands
from aisec_ci.scanners.common.context import Context
from aisec_ci.scanners.kubernetes import (
    containers,
    exposure,
    objects,
    placement,
    podsecurity,
    repository,
    restricted,
    volumes,
)
from aisec_ci.scanners.kubernetes.manifests import (
    kustomize_images_under,
    kustomize_patches,
    kustomize_patches_under,
    parse_allowlist,
    parse_manifests,
)
from aisec_ci.scanners.kubernetes.podspecs import pod_specs
from aisec_ci.scanners.kubernetes.rbac_markers import Declared, secret_reads_declared
from aisec_ci.severity import Severity
from aisec_ci.suppress.inline import MARKER, parse_directives
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

_RAY_KINDS = frozenset({"RayCluster", "RayJob", "RayService"})
_ROLE_KINDS = frozenset({"Role", "ClusterRole"})
_BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})

OPTIONS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "allowlist": {
            "description": "Workloads that legitimately need privileges (GPU device plugins, DCGM). Their "
            "findings are still reported, at info severity, with the reason.",
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["reason"],
                "anyOf": [{"required": ["images"]}, {"required": ["namespaces"]}, {"required": ["names"]}],
                "properties": {
                    "reason": {"type": "string", "minLength": 3},
                    "images": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "namespaces": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "names": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "rules": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "model_paths": {
            "description": "Extra host directories that hold model weights (for k8s/writable-model-host-path).",
            "type": "array",
            "items": {"type": "string"},
        },
    },
}


# Directories of test inputs and golden outputs (compiled pipelines, e2e fixtures): nothing
# there is deployed as written. Narrower than the secrets scanner's test paths on purpose:
# `examples/` and `samples/` are what users copy into their clusters.
_TEST_DATA_DIRS = frozenset({"test", "tests", "testdata", "test_data", "testing", "fixtures", "e2e"})


_SECRET_RULES = frozenset({"k8s/secret-committed", "k8s/secret-in-env"})


def _is_test_data(path: str) -> bool:
    return any(part.lower() in _TEST_DATA_DIRS for part in path.split("/")[:-1])


def _lowered(finding: Finding) -> Finding:
    """One step down (never below low), as the secrets scanner does for test paths."""
    if finding.severity <= Severity.LOW or finding.rule_id in _SECRET_RULES:
        return finding  # secret values are already judged with the secrets scanner's test paths
    return finding.with_severity(Severity(finding.severity - 1))


def _image_name(image: str) -> str:
    """`registry/repo` of an image reference, without its tag or digest."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


_UNKNOWN = object()


def _reads_secrets_cluster_wide(f: Finding) -> bool:
    return (
        f.rule_id == objects.RBAC_SENSITIVE.id
        and f.key.endswith(":secrets")
        and f.properties.get("kind") == "ClusterRole"
        and f.severity is objects.RBAC_SENSITIVE.severity
    )


_PATCH_NAME = re.compile(r"(?:^|[._-])patch(?:es)?(?:[._-]|$)", re.IGNORECASE)


class KubernetesScanner(Scanner):
    name: ClassVar[str] = "kubernetes"
    description: ClassVar[str] = (
        "Kubernetes manifests and ML custom resources (KServe, KubeRay, Kubeflow, Argo, JobSet, "
        "LeaderWorkerSet): Pod Security Standards, host mounts, RBAC, secrets and exposed ML services"
    )
    rules: ClassVar[tuple[Rule, ...]] = (
        *podsecurity.RULES,
        *restricted.RULES,
        *volumes.RULES,
        *containers.RULES,
        *objects.RULES,
        *exposure.RULES,
        *servecommands.RULES,
        *placement.RULES,
        *repository.RULES,
    )
    kinds: ClassVar[frozenset[FileKind]] = frozenset({FileKind.KUBERNETES, FileKind.HELM_TEMPLATE})
    options_schema: ClassVar[Mapping[str, Any]] = OPTIONS_SCHEMA

    def __init__(self, context: ScanContext) -> None:
        super().__init__(context)
        opts = context.options
        self._allowlist = parse_allowlist(opts)
        self._model_paths = tuple(str(p) for p in opts.get("model_paths") or ())
        self._patches: frozenset[str] | None = None
        self._kustomized: frozenset[str] | None = None
        self._local_patches: dict[Path, frozenset[str]] = {}
        self._secret_markers: Declared | object | None = _UNKNOWN

    def _is_patch(self, file: SourceFile) -> bool:
        """Kustomize patches hold only overridden fields; absence of a field says nothing."""
        if "patches" in file.path.split("/")[:-1] or _PATCH_NAME.search(file.path.rpartition("/")[2]):
            # Also by name: kustomizations often name a patch only in a commented-out line
            # (kserve's `#- manager_prometheus_metrics_patch.yaml`) or in a template overlay.
            return True
        if self._patches is None:
            # Built once per scanner instance: the kustomization naming a patch may sit in
            # any directory of the tree (an overlay beside it, a parent, a sibling).
            self._patches = kustomize_patches_under(self.context.root)
        path = os.path.normpath(str(file.abspath))
        if path in self._patches:
            return True
        directory = file.abspath.parent
        if directory not in self._local_patches:
            self._local_patches[directory] = kustomize_patches(directory)
        return path in self._local_patches[directory]

    def scan_file(self, file: SourceFile) -> Iterable[Finding]:
        if file.kind is FileKind.HELM_TEMPLATE:
            raise SkipFile(
                "Helm template with {{ }} directives: render it (`helm template`) and scan the rendered output"
            )
        ctx = Context(file, self._allowlist, self._model_paths, partial=self._is_patch(file))
        manifests = parse_manifests(file)
        # The consolidated restricted finding honours inline directives that name the
        # per-setting rules it replaced, setting by setting (see restricted.py).
        directives = parse_directives(file.lines) if MARKER in file.text else {}
        all_pods = []
        for m in manifests:
            pods = list(pod_specs(m))
            all_pods.extend(pods)
            for pod in pods:
                podsecurity.check(pod, ctx)
                restricted.check(pod, ctx, directives, self.context.rule_switches)
                volumes.check(pod, ctx)
                containers.check(pod, ctx)
                objects.check_pod_token(pod, ctx)
                exposure.check_commands(pod, ctx)
                placement.check_probes(pod, ctx)
                placement.check_gpu(pod, ctx)
            placement.check_namespace_field(m, ctx)
            kind = m.kind
            if kind == "Secret":
                objects.check_secret(m, ctx)
            elif kind == "ConfigMap":
                objects.check_configmap(m, ctx)
            elif kind in _ROLE_KINDS:
                objects.check_role(m, ctx)
            elif kind in _BINDING_KINDS:
                objects.check_binding(m, ctx)
            elif kind == "Namespace":
                objects.check_namespace(m, ctx)
            elif kind == "Service":
                exposure.check_service(m, ctx)
            elif kind == "Ingress":
                exposure.check_ingress(m, ctx)
            elif kind in _RAY_KINDS:
                exposure.check_ray_cluster(m, ctx)
        exposure.check_model_servers(manifests, all_pods, ctx)
        findings = ctx.findings
        if any(f.rule_id == containers.IMAGE_TAG.id for f in findings):
            findings = self._without_kustomized_images(findings)
            if ctx.partial:
                # An image in a kustomize patch is an overlay's substitution point that build
                # tooling rewrites (kserve's `sed s/latest/$VERSION/` over `*_image_patch.yaml`):
                # the strict profile still lists it.
                findings = [f.evolve(profile="strict") if f.rule_id == containers.IMAGE_TAG.id else f for f in findings]
        if any(_reads_secrets_cluster_wide(f) for f in findings):
            findings = self._declared_secret_reads(findings)
        if _is_test_data(file.path):
            findings = [_lowered(f) for f in findings]
        return sorted(findings, key=lambda f: (f.start_line, f.rule_id, f.key))

    def _without_kustomized_images(self, findings: list[Finding]) -> list[Finding]:
        """Drop image-tag findings for images a kustomization retags (kubebuilder's
        `images: - name: controller newTag: v1.2.0`): the manifest's tag is never deployed."""
        if self._kustomized is None:
            self._kustomized = kustomize_images_under(self.context.root)
        if not self._kustomized:
            return findings
        return [
            f
            for f in findings
            if f.rule_id != containers.IMAGE_TAG.id
            or _image_name(str(f.properties.get("image", ""))) not in self._kustomized
        ]

    def _declared_secret_reads(self, findings: list[Finding]) -> list[Finding]:
        """A ClusterRole reading Secrets because the repository's controllers declare it in
        kubebuilder RBAC markers is the operator's design: medium in the strict profile, with
        the marker named (rbac_markers.py)."""
        if self._secret_markers is _UNKNOWN:
            self._secret_markers = secret_reads_declared(self.context.root)
        declared = self._secret_markers
        if not isinstance(declared, Declared):
            return findings
        where = declared.describe()
        return [
            f.evolve(
                profile="strict",
                message=f"{f.message} in every namespace, as the repository's controllers declare in "
                f"`+kubebuilder:rbac` markers ({where}): the operator's design; to narrow it, watch only "
                "the namespaces it serves and bind namespaced Roles there",
                properties={**f.properties, "declared_by": where},
            )
            if _reads_secrets_cluster_wide(f)
            else f
            for f in findings
        ]

    def scan_repository(self, files: list[SourceFile]) -> Iterable[Finding]:
        partial = {f.path for f in files if f.kind is FileKind.KUBERNETES and self._is_patch(f)}
        return repository.scan(files, self._allowlist, self._model_paths, partial)
