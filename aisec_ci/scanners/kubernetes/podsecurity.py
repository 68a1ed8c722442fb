"""Pod Security Standards, field by field: what a manifest writes that breaks the
baseline profile, or the restricted one with an explicit value (K1, K2, K6, K8-K10,
K14-K15, K27). Settings restricted asks for that are simply not written are listed
together, one finding per container, in `restricted.py`; volumes (K3-K5, K13, K16)
live in `volumes.py`."""

from __future__ import annotations

from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.common.context import Context
from aisec_ci.scanners.kubernetes.podspecs import Container, PodSpec
from aisec_ci.severity import Severity
from aisec_ci.yamlfile.values import YList, YMap

PSS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"

PRIVILEGED = Rule(
    id="k8s/privileged-container",
    name="Privileged container",
    short_description="A container runs with `securityContext.privileged: true`.",
    severity=Severity.HIGH,
    what="Reports containers whose `securityContext.privileged` is true (PSS baseline, K1), in every pod "
    "template including KServe, KubeRay, Kubeflow, Argo, JobSet and LeaderWorkerSet resources.",
    why="A privileged container has every capability and every host device; escaping to the node is a "
    "`mount` away, and from the node every pod, secret and GPU on it. GPU device plugins and DCGM need "
    "this by design: allowlist them in config with a reason instead of letting model servers run privileged.",
    example="containers:\n- name: server\n  image: vllm/vllm-openai:v0.6.0\n  securityContext:\n    privileged: true",
    example_language="yaml",
    fix="Remove `privileged: true`; request GPUs through `resources.limits['nvidia.com/gpu']` and add only "
    "the capabilities actually needed. For GPU infrastructure, add an entry to `kubernetes.allowlist` with a reason.",
    tags=("CWE-250", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

HOST_NAMESPACES = Rule(
    id="k8s/host-namespaces",
    name="Pod shares host namespaces",
    short_description="`hostNetwork`, `hostPID` or `hostIPC` is true.",
    severity=Severity.HIGH,
    what="Reports pods that set `hostNetwork`, `hostPID` or `hostIPC` to true (PSS baseline, K2).",
    why="hostPID lets the pod see and signal every process on the node, hostIPC lets it read other pods' "
    "shared memory (NCCL buffers included), and hostNetwork bypasses NetworkPolicy and exposes node-local "
    "services such as the kubelet and cloud metadata endpoints.",
    example="spec:\n  hostNetwork: true\n  hostIPC: true  # for NCCL",
    example_language="yaml",
    fix="Drop the host namespace. For multi-node training use the RDMA/SR-IOV device plugin and a sized "
    "`/dev/shm` emptyDir instead of hostIPC.",
    tags=("CWE-250", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

HOST_PROCESS = Rule(
    id="k8s/windows-host-process",
    name="Windows HostProcess container",
    short_description="`windowsOptions.hostProcess` is true.",
    severity=Severity.HIGH,
    what="Reports pod or container `securityContext.windowsOptions.hostProcess: true` (PSS baseline, K27).",
    why="A HostProcess container runs directly on the Windows node with host access, the Windows "
    "equivalent of a privileged container.",
    example="securityContext:\n  windowsOptions:\n    hostProcess: true",
    example_language="yaml",
    fix="Remove `hostProcess`; run node agents only from a dedicated, reviewed namespace.",
    tags=("CWE-250", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

CAPABILITIES = Rule(
    id="k8s/added-capabilities",
    name="Container adds Linux capabilities",
    short_description="`capabilities.add` holds capabilities outside the allowed set.",
    severity=Severity.MEDIUM,
    what="Reports `securityContext.capabilities.add` entries beyond the PSS baseline set (high for "
    "SYS_ADMIN, ALL, NET_ADMIN, SYS_PTRACE, SYS_MODULE and similar), and, at low severity, anything but "
    "NET_BIND_SERVICE (PSS restricted, K6).",
    why="Capabilities such as SYS_ADMIN or SYS_PTRACE are most of root: they allow mounting filesystems, "
    "reading other processes' memory and loading kernel modules, the usual first steps of a container escape.",
    example="securityContext:\n  capabilities:\n    add: [SYS_ADMIN, IPC_LOCK]",
    example_language="yaml",
    fix="Add only what the workload proves it needs; RDMA usually needs IPC_LOCK only, not SYS_ADMIN.",
    tags=("CWE-250", "pss-baseline", "pss-restricted"),
    references=(PSS,),
)

RUN_AS_ROOT = Rule(
    id="k8s/run-as-root-user",
    name="Container runs as UID 0",
    short_description="`runAsUser: 0` explicitly runs the container as root.",
    severity=Severity.HIGH,
    what="Reports pod or container `securityContext.runAsUser: 0` (PSS restricted, K8).",
    why="Explicit root defeats image-level USER directives and gives the process root's privileges over "
    "everything mounted into the pod.",
    example="securityContext:\n  runAsUser: 0",
    example_language="yaml",
    fix="Use a non-zero UID (for example 1000) and make the model cache writable through `fsGroup`.",
    tags=("CWE-250", "pss-restricted"),
    precision="very-high",
    references=(PSS,),
)

SECCOMP_UNCONFINED = Rule(
    id="k8s/seccomp-unconfined",
    name="Seccomp profile is Unconfined",
    short_description="`seccompProfile.type: Unconfined` disables syscall filtering.",
    severity=Severity.MEDIUM,
    what="Reports pod or container `seccompProfile.type: Unconfined` (PSS baseline, K9).",
    why="Seccomp blocks the rarely needed syscalls most kernel exploits use (keyctl, unshare, bpf); "
    "Unconfined re-opens them.",
    example="securityContext:\n  seccompProfile:\n    type: Unconfined",
    example_language="yaml",
    fix="Use `type: RuntimeDefault` (or a Localhost profile).",
    tags=("CWE-693", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

APPARMOR = Rule(
    id="k8s/apparmor-unconfined",
    name="AppArmor disabled",
    short_description="AppArmor profile is `Unconfined` (field or annotation).",
    severity=Severity.MEDIUM,
    what="Reports `appArmorProfile.type: Unconfined` and `container.apparmor.security.beta.kubernetes.io/*: "
    "unconfined` annotations (PSS baseline, K10).",
    why="The runtime's default AppArmor profile denies writes to /proc and /sys and mount operations; "
    "turning it off removes a layer an escape has to get through.",
    example="metadata:\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/app: unconfined",
    example_language="yaml",
    fix="Remove the override or use `RuntimeDefault`.",
    tags=("CWE-693", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

SELINUX = Rule(
    id="k8s/selinux-custom-options",
    name="Custom SELinux type, user or role",
    short_description="`seLinuxOptions` sets a type outside the container types, or a user/role.",
    severity=Severity.MEDIUM,
    what="Reports `seLinuxOptions.type` other than container_t, container_init_t, container_kvm_t or "
    "container_engine_t, and any `user` or `role` (PSS baseline).",
    why="A custom SELinux type such as spc_t (super-privileged container) lifts the confinement SELinux "
    "puts between the container and the host.",
    example="securityContext:\n  seLinuxOptions:\n    type: spc_t",
    example_language="yaml",
    fix="Remove the custom options.",
    tags=("CWE-693", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

PROC_MOUNT = Rule(
    id="k8s/unmasked-proc-mount",
    name="Unmasked /proc mount",
    short_description="`procMount` is not Default.",
    severity=Severity.HIGH,
    what="Reports `securityContext.procMount` set to anything but Default (PSS baseline, K15).",
    why="The default masks sensitive /proc paths (kcore, sysrq-trigger, timer_list); Unmasked exposes "
    "kernel interfaces to the container.",
    example="securityContext:\n  procMount: Unmasked",
    example_language="yaml",
    fix="Remove `procMount` or set it to Default.",
    tags=("CWE-250", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

SYSCTLS = Rule(
    id="k8s/unsafe-sysctl",
    name="Unsafe sysctl",
    short_description="`securityContext.sysctls` sets a sysctl outside the namespaced safe set.",
    severity=Severity.HIGH,
    what="Reports pod `securityContext.sysctls` names outside the PSS baseline safe set (K15).",
    why="Unsafe sysctls are node-wide kernel settings: a pod changing them affects every other pod on "
    "the node and can weaken kernel protections.",
    example="securityContext:\n  sysctls:\n  - name: kernel.msgmax\n    value: '65536'",
    example_language="yaml",
    fix="Use only the safe sysctls, or tune the node itself through its provisioning.",
    tags=("CWE-250", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

HOST_PORT = Rule(
    id="k8s/host-port",
    name="Container binds a host port",
    short_description="`ports[].hostPort` is set.",
    severity=Severity.MEDIUM,
    what="Reports container ports with a non-zero `hostPort` (PSS baseline, K14).",
    why="A hostPort publishes the container on the node's address, outside Services and NetworkPolicy, "
    "so a model server or dashboard becomes reachable from wherever the node is.",
    example="ports:\n- containerPort: 8265\n  hostPort: 8265",
    example_language="yaml",
    fix="Remove `hostPort` and reach the pod through a ClusterIP Service.",
    tags=("CWE-668", "pss-baseline"),
    precision="very-high",
    references=(PSS,),
)

RULES: tuple[Rule, ...] = (
    PRIVILEGED,
    HOST_NAMESPACES,
    HOST_PROCESS,
    CAPABILITIES,
    RUN_AS_ROOT,
    SECCOMP_UNCONFINED,
    APPARMOR,
    SELINUX,
    PROC_MOUNT,
    SYSCTLS,
    HOST_PORT,
)

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
DANGEROUS_CAPABILITIES = frozenset(
    {
        "ALL",
        "SYS_ADMIN",
        "NET_ADMIN",
        "SYS_PTRACE",
        "SYS_MODULE",
        "SYS_RAWIO",
        "DAC_READ_SEARCH",
        "BPF",
        "PERFMON",
        "SYS_BOOT",
        "SYS_TIME",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
    }
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})

_GPU_INFRA_HINTS = ("nvidia", "dcgm", "device-plugin", "gpu-feature-discovery", "gpu-operator", "neuron", "habana")


def _gpu_hint(image: str) -> str:
    if any(h in image.lower() for h in _GPU_INFRA_HINTS):
        return "; if this is GPU infrastructure, allowlist it under `kubernetes.allowlist` with a reason"
    return ""


def _map(value: Any) -> YMap | None:
    return value if isinstance(value, YMap) else None


def cap_name(value: Any) -> str:
    name = str(value).upper()
    return name[4:] if name.startswith("CAP_") else name


def check(pod: PodSpec, ctx: Context) -> None:
    m = pod.manifest
    spec = pod.spec
    pod_sc = pod.security_context
    image = pod.first_image

    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) is True:
            ctx.report(
                HOST_NAMESPACES,
                spec.line_of(field),
                f"{field}: true shares the node's {field[4:]} namespace with the pod",
                key=f"pod@{spec.line}:{field}",
                manifest=m,
                image=image,
            )

    if pod_sc is not None:
        _check_sc_common(ctx, pod, pod_sc, "pod", f"pod@{spec.line}", image)
        sysctls = pod_sc.get("sysctls")
        if isinstance(sysctls, YList):
            for i, item in enumerate(sysctls):
                name = item.get("name") if isinstance(item, dict) else None
                if isinstance(name, str) and name not in SAFE_SYSCTLS:
                    ctx.report(
                        SYSCTLS,
                        sysctls.line_of(i),
                        f"sysctl {name} is not in the namespaced safe set",
                        key=f"pod@{spec.line}:sysctl:{name}",
                        manifest=m,
                        image=image,
                    )
        run_as = pod_sc.get("runAsUser")
        if run_as == 0 and not isinstance(run_as, bool):
            ctx.report(
                RUN_AS_ROOT,
                pod_sc.line_of("runAsUser"),
                "pod runAsUser: 0 runs every container as root",
                key=f"pod@{spec.line}:runAsUser",
                manifest=m,
                image=image,
            )

    _check_apparmor_annotations(ctx, pod, image)

    for c in pod.containers:
        with ctx.fragment(c.runtime_supplied):
            _check_container(ctx, pod, c, pod_sc)


# Profiles whose `type: Unconfined` switches a kernel confinement off (PSS baseline).
_UNCONFINED_PROFILES = (
    ("seccompProfile", SECCOMP_UNCONFINED, "seccomp", "seccomp"),
    ("appArmorProfile", APPARMOR, "AppArmor", "apparmor"),
)


def _check_sc_common(ctx: Context, pod: PodSpec, sc: YMap, where: str, key: str, image: str) -> None:
    """Fields allowed at both pod and container level."""
    m = pod.manifest
    win = _map(sc.get("windowsOptions"))
    if win is not None and win.get("hostProcess") is True:
        ctx.report(
            HOST_PROCESS,
            win.line_of("hostProcess"),
            f"{where} runs as a Windows HostProcess",
            key=f"{key}:hostProcess",
            manifest=m,
            image=image,
        )
    for field, rule, label, suffix in _UNCONFINED_PROFILES:
        profile = _map(sc.get(field))
        if profile is not None and str(profile.get("type", "")).lower() == "unconfined":
            ctx.report(
                rule,
                profile.line_of("type"),
                f"{where} {label} profile is Unconfined",
                key=f"{key}:{suffix}",
                manifest=m,
                image=image,
            )
    selinux = _map(sc.get("seLinuxOptions"))
    if selinux is not None:
        sel_type = selinux.get("type")
        if sel_type is not None and str(sel_type) not in SELINUX_TYPES:
            ctx.report(
                SELINUX,
                selinux.line_of("type"),
                f"{where} SELinux type {sel_type} is not a container type",
                key=f"{key}:selinux-type",
                manifest=m,
                image=image,
            )
        for field in ("user", "role"):
            if selinux.get(field) not in (None, ""):
                ctx.report(
                    SELINUX,
                    selinux.line_of(field),
                    f"{where} sets a custom SELinux {field}",
                    key=f"{key}:selinux-{field}",
                    manifest=m,
                    image=image,
                )


def _check_apparmor_annotations(ctx: Context, pod: PodSpec, image: str) -> None:
    for meta in (pod.metadata, pod.manifest.metadata if pod.manifest.kind == "Pod" else None):
        annotations = _map(meta.get("annotations")) if meta is not None else None
        if annotations is None:
            continue
        for name, value in annotations.items():
            if name.startswith("container.apparmor.security.beta.kubernetes.io/") and str(value) == "unconfined":
                ctx.report(
                    APPARMOR,
                    annotations.line_of(name),
                    f"annotation sets AppArmor unconfined for container {name.rsplit('/', 1)[-1]}",
                    key=f"annotation:{name}",
                    manifest=pod.manifest,
                    image=image,
                )


def _check_container(ctx: Context, pod: PodSpec, c: Container, pod_sc: YMap | None) -> None:
    m = pod.manifest
    sc = c.security_context
    key = f"{pod.path}/{c.name}"
    who = c.label
    image = c.image

    if sc is not None:
        if sc.get("privileged") is True:
            ctx.report(
                PRIVILEGED,
                sc.line_of("privileged"),
                f"{who} runs privileged{_gpu_hint(image)}",
                key=f"{key}:privileged",
                manifest=m,
                image=image,
            )
        _check_sc_common(ctx, pod, sc, who, key, image)
        proc = sc.get("procMount")
        if proc is not None and str(proc) != "Default":
            ctx.report(
                PROC_MOUNT,
                sc.line_of("procMount"),
                f"{who} uses procMount {proc}",
                key=f"{key}:procMount",
                manifest=m,
                image=image,
            )
        run_as = sc.get("runAsUser")
        if run_as == 0 and not isinstance(run_as, bool):
            ctx.report(
                RUN_AS_ROOT,
                sc.line_of("runAsUser"),
                f"{who} sets runAsUser: 0",
                key=f"{key}:runAsUser",
                manifest=m,
                image=image,
            )

    caps = _map(sc.get("capabilities")) if sc is not None else None
    added = caps.get("add") if caps is not None else None
    if isinstance(added, YList) and caps is not None:
        for i, cap in enumerate(added):
            name = cap_name(cap)
            if name == "NET_BIND_SERVICE":
                continue
            if name in DANGEROUS_CAPABILITIES:
                sev = Severity.HIGH
            elif name in BASELINE_CAPABILITIES:
                sev = Severity.LOW
            else:
                sev = CAPABILITIES.severity
            ctx.report(
                CAPABILITIES,
                added.line_of(i),
                f"{who} adds capability {name}{_gpu_hint(image)}",
                key=f"{key}:cap-add:{name}",
                manifest=m,
                image=image,
                severity=sev,
            )

    ports = c.doc.get("ports")
    if isinstance(ports, YList):
        for port in ports:
            if isinstance(port, YMap):
                hp = port.get("hostPort")
                if hp not in (None, 0, "0"):
                    ctx.report(
                        HOST_PORT,
                        port.line_of("hostPort"),
                        f"{who} binds hostPort {hp}",
                        key=f"{key}:hostPort:{hp}",
                        manifest=m,
                        image=image,
                    )
