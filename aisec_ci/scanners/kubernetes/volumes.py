"""Volumes: hostPath (K3, K4, K5), restricted volume types (K16) and
memory-backed /dev/shm without a size limit (K13)."""

from __future__ import annotations

import posixpath
from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.common.context import Context
from aisec_ci.scanners.kubernetes.podspecs import PodSpec
from aisec_ci.severity import Severity
from aisec_ci.yamlfile.values import YList, YMap

PSS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"

HOST_PATH = Rule(
    id="k8s/host-path-volume",
    name="hostPath volume",
    short_description="The pod mounts a directory of the node (`hostPath`).",
    severity=Severity.MEDIUM,
    what="Reports every `hostPath` volume (PSS baseline, K3) that is not already reported as sensitive or "
    "as a writable model directory. Generic IaC scanners only flag the Docker socket.",
    why="hostPath ties the pod to one node's filesystem: what the pod writes there survives the pod and "
    "is read by whatever runs next on the node, and symlink tricks can reach outside the directory.",
    example="volumes:\n- name: cache\n  hostPath:\n    path: /var/cache/hf",
    example_language="yaml",
    fix="Use a PersistentVolumeClaim, or an emptyDir for scratch space.",
    tags=("CWE-668", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

SENSITIVE_HOST_PATH = Rule(
    id="k8s/sensitive-host-path",
    name="hostPath to a sensitive node path",
    short_description="The pod mounts /, /etc, /proc, /sys, /dev, the container runtime socket or kubelet state.",
    severity=Severity.HIGH,
    what="Reports `hostPath` volumes on /, /boot, /dev, /etc, /lib, /proc, /sys, /usr, /root, /var/lib/kubelet, "
    "/var/run/docker.sock, containerd or CRI-O sockets, and paths below them (K4).",
    why="The runtime socket is root on the node (start a privileged container); /etc, /root and kubelet "
    "state hold node credentials and every pod's service-account tokens.",
    example="volumes:\n- name: docker\n  hostPath:\n    path: /var/run/docker.sock",
    example_language="yaml",
    fix="Remove the mount. Build images with a rootless builder (BuildKit rootless, kaniko) instead of the "
    "node's Docker; GPU device-plugin mounts belong in the config allowlist with a reason.",
    tags=("CWE-668", "CWE-250", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

MODEL_HOST_PATH = Rule(
    id="k8s/writable-model-host-path",
    name="Writable hostPath holding models",
    short_description="Model weights are served from a node directory mounted writable.",
    severity=Severity.HIGH,
    what="Reports `hostPath` volumes whose path looks like a model store (/models, /mnt/models, a Hugging "
    "Face cache, or `kubernetes.model_paths`) and that are mounted without `readOnly: true` (K5). A DaemonSet, "
    "the node agent that fills such a cache, is medium in the strict profile.",
    why="Every pod scheduled on that node can replace the weights or the pickled files the server loads, "
    "which is model poisoning and, with pickle-based formats, code execution in the next pod that loads them.",
    example="volumeMounts:\n- name: models\n  mountPath: /models\nvolumes:\n- name: models\n  hostPath:\n"
    "    path: /mnt/models",
    example_language="yaml",
    fix="Serve models from a PVC or object storage; if a hostPath is unavoidable, mount it with `readOnly: true`.",
    tags=("CWE-732", "CWE-502"),
    references=(PSS,),
)

SHM = Rule(
    id="k8s/unbounded-shm",
    name="Memory-backed volume without sizeLimit",
    short_description="An `emptyDir` with `medium: Memory` (usually /dev/shm) has no `sizeLimit`.",
    severity=Severity.MEDIUM,
    what="Reports `emptyDir.medium: Memory` volumes without a `sizeLimit` (K13). No other scanner checks this; "
    "vLLM, TGI and Ray examples all ship it.",
    why="tmpfs pages count against node memory; an unbounded /dev/shm lets one pod (or a request that makes "
    "it allocate shared memory) exhaust the node's RAM and get co-located model servers OOM-killed.",
    example="volumes:\n- name: dshm\n  emptyDir:\n    medium: Memory",
    example_language="yaml",
    fix="Add `sizeLimit` (for example `sizeLimit: 2Gi`), sized below the container's memory limit.",
    tags=("CWE-400", "CWE-770"),
    precision="very-high",
)

RESTRICTED_VOLUME = Rule(
    id="k8s/restricted-volume-type",
    profile="strict",
    name="Volume type outside the restricted profile",
    short_description="A volume type not allowed by PSS restricted (nfs, iscsi, gitRepo, flexVolume, ...).",
    severity=Severity.LOW,
    what="Reports volumes other than configMap, csi, downwardAPI, emptyDir, ephemeral, image, "
    "persistentVolumeClaim, projected and secret (PSS restricted, K16); hostPath has rules of its own.",
    why="In-tree network volumes (NFS model shares, iSCSI) and flexVolume drivers run with node privileges "
    "and bypass the storage class's access controls; gitRepo runs git on the node (CVE-2024-10220).",
    example="volumes:\n- name: models\n  nfs:\n    server: 10.0.0.5\n    path: /exports/models",
    example_language="yaml",
    fix="Mount the share through a PersistentVolume and PVC (or a CSI driver).",
    tags=("CWE-668", "pss-restricted"),
    precision="very-high",
    references=(PSS,),
)

RULES: tuple[Rule, ...] = (HOST_PATH, SENSITIVE_HOST_PATH, MODEL_HOST_PATH, SHM, RESTRICTED_VOLUME)

SENSITIVE_PATHS = (
    "/",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib64",
    "/proc",
    "/sys",
    "/usr",
    "/bin",
    "/sbin",
    "/root",
    "/home",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/run",
    "/run",
    "/var/log",
)
_EXACT_ONLY = frozenset({"/", "/var/run", "/run", "/var/log", "/home"})
_SOCKET_HINTS = ("docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock", "podman.sock")
DEFAULT_MODEL_PATHS = (
    "/models",
    "/model",
    "/mnt/models",
    "/mnt/model",
    "/data/models",
    "/opt/models",
    "/var/models",
    "/srv/models",
)
_MODEL_HINTS = ("huggingface", "/hf_cache", "/hf-cache", "model-cache", "/checkpoints", "/weights")
ALLOWED_RESTRICTED = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
_NOT_A_SOURCE = frozenset({"name"})


def _norm(path: str) -> str:
    p = posixpath.normpath(path.strip()) if path.strip() else ""
    return "/" if p in ("", "//") else p


def is_sensitive(path: str) -> bool:
    p = _norm(path)
    if any(p.endswith(h) for h in _SOCKET_HINTS):
        return True
    for s in SENSITIVE_PATHS:
        if p == s:
            return True
        if s not in _EXACT_ONLY and p.startswith(s.rstrip("/") + "/"):
            return True
    return False


def is_model_path(path: str, extra: tuple[str, ...]) -> bool:
    p = _norm(path).lower()
    for base in (*DEFAULT_MODEL_PATHS, *extra):
        b = _norm(base).lower()
        if p == b or p.startswith(b + "/"):
            return True
    return any(h in p for h in _MODEL_HINTS)


def _mounts(pod: PodSpec, volume: str) -> list[tuple[Any, bool]]:
    """(mount map, readOnly) for every container mount of `volume`."""
    out: list[tuple[Any, bool]] = []
    for c in pod.containers:
        mounts = c.doc.get("volumeMounts")
        if isinstance(mounts, list):
            for mnt in mounts:
                if isinstance(mnt, YMap) and mnt.get("name") == volume:
                    out.append((mnt, mnt.get("readOnly") is True))
    return out


def check(pod: PodSpec, ctx: Context) -> None:
    volumes = pod.spec.get("volumes")
    if not isinstance(volumes, YList):
        return
    m = pod.manifest
    image = pod.first_image
    for i, vol in enumerate(volumes):
        if not isinstance(vol, YMap):
            continue
        name = str(vol.get("name", f"volumes[{i}]"))
        key = f"{pod.path}/volume:{name}"
        host = vol.get("hostPath")
        if isinstance(host, YMap):
            path = str(host.get("path", ""))
            line = host.line_of("path")
            mounts = _mounts(pod, name)
            writable = not mounts or not all(ro for _, ro in mounts)
            if is_sensitive(path):
                ctx.report(
                    SENSITIVE_HOST_PATH,
                    line,
                    f"volume {name} mounts the node's {path}",
                    key=f"{key}:sensitive",
                    manifest=m,
                    image=image,
                    properties={"host_path": path},
                )
            elif is_model_path(path, ctx.model_paths) and writable:
                # A DaemonSet is the node's own agent: one writing the node's model directory is
                # that cache's designated writer (KServe's local model agent downloads into it),
                # not a serving pod that could poison what its neighbours load.
                node_agent = m.kind == "DaemonSet"
                ctx.report(
                    MODEL_HOST_PATH,
                    line,
                    f"volume {name} mounts model directory {path} from the node without readOnly"
                    + (
                        ": as the node agent it is this cache's writer; check that it verifies what it "
                        "downloads and that serving pods mount the directory readOnly"
                        if node_agent
                        else ""
                    ),
                    key=f"{key}:model",
                    manifest=m,
                    image=image,
                    properties={"host_path": path, **({"node_agent": True} if node_agent else {})},
                    severity=Severity.MEDIUM if node_agent else None,
                    profile="strict" if node_agent else "",
                )
            else:
                mode = "writable" if writable else "read-only"
                ctx.report(
                    HOST_PATH,
                    line,
                    f"volume {name} mounts node directory {path} ({mode})",
                    key=f"{key}:hostpath",
                    manifest=m,
                    image=image,
                    properties={"host_path": path},
                )
            continue
        empty = vol.get("emptyDir")
        if isinstance(empty, YMap) and str(empty.get("medium", "")) == "Memory" and not empty.get("sizeLimit"):
            ctx.report(
                SHM,
                empty.line_of("medium"),
                f"memory-backed volume {name} has no sizeLimit",
                key=f"{key}:shm",
                manifest=m,
                image=image,
            )
        for source in vol:
            if source in _NOT_A_SOURCE or source in ALLOWED_RESTRICTED:
                continue
            ctx.report(
                RESTRICTED_VOLUME,
                vol.line_of(source),
                f"volume {name} uses the {source} volume type",
                key=f"{key}:{source}",
                manifest=m,
                image=image,
            )
