"""Compose services that give containers host-level power."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.compose_model import ComposeContext, Service
from aisec_ci.scanners.docker.compose_yaml import scalar
from aisec_ci.severity import Severity

PRIVILEGED = Rule(
    id="compose/privileged",
    name="Privileged Compose service",
    short_description="A service sets `privileged: true`.",
    severity=Severity.HIGH,
    what="Reports services with `privileged: true`.",
    why="A privileged container has every capability and every host device, and no seccomp or AppArmor "
    "profile: code execution in it (a notebook, a model server loading an untrusted pickle) is root on the host.",
    example="services:\n  trainer:\n    image: pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime\n    privileged: true",
    example_language="yaml",
    fix="Remove `privileged`. For GPUs use `deploy.resources.reservations.devices` with `capabilities: [gpu]` "
    "(or `gpus: all`); add single capabilities with `cap_add` only when needed.",
    tags=("CWE-250", "CWE-269"),
    precision="very-high",
)

HOST_NAMESPACE = Rule(
    id="compose/host-namespace",
    name="Service shares a host namespace",
    short_description="`network_mode: host`, `pid: host`, `ipc: host`, `uts: host` or `userns_mode: host`.",
    severity=Severity.HIGH,
    what="Reports services that join the host's network, PID, IPC, UTS or user namespace.",
    why="With the host network every port the service opens (Jupyter, Ray dashboard, MLflow) is on the host's "
    "interfaces and it can reach services bound to the host's localhost; the host PID namespace lets it see "
    "and signal (or ptrace) host processes; the host IPC namespace exposes shared memory of other processes.",
    example="services:\n  ray-head:\n    image: rayproject/ray:2.9.0\n    network_mode: host\n    ipc: host",
    example_language="yaml",
    fix="Publish the ports you need with `ports:` bound to 127.0.0.1, and use `shm_size` instead of `ipc: host` "
    "for PyTorch data loaders.",
    tags=("CWE-250", "CWE-668"),
    precision="very-high",
)

SOCKET_MOUNT = Rule(
    id="compose/docker-socket-mount",
    name="Container runtime socket mounted",
    short_description="A service mounts `/var/run/docker.sock` (or another runtime socket).",
    severity=Severity.HIGH,
    what="Reports volumes that mount the Docker, containerd, CRI-O or Podman socket into a service.",
    why="Whoever can talk to the runtime socket can start a privileged container with the host's `/` mounted: "
    "the socket is root on the host, even when mounted read-only.",
    example="services:\n  agent:\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock",
    example_language="yaml",
    fix="Remove the mount. If the service must start containers, use a socket proxy that allows only the "
    "API calls it needs, or rootless Docker.",
    tags=("CWE-250", "CWE-668"),
    precision="very-high",
)

HOST_MOUNT = Rule(
    id="compose/sensitive-host-mount",
    name="Host root or system directory mounted",
    short_description="A service mounts `/`, `/etc`, `/root`, `/proc`, `/sys`, `/boot`, `/dev` or `/var/lib/docker`.",
    severity=Severity.HIGH,
    what="Reports bind mounts whose host path is `/` or a system directory.",
    why="The container can read host secrets (`/etc/shadow`, SSH keys, kubelet and cloud credentials) and, "
    "when writable, plant cron jobs or binaries that the host runs as root.",
    example="services:\n  monitor:\n    volumes:\n      - /:/host",
    example_language="yaml",
    fix="Mount only the specific directory the service needs (a data or model directory), read-only where possible.",
    tags=("CWE-668", "CWE-552"),
    precision="very-high",
)

DANGEROUS_CAPS = Rule(
    id="compose/dangerous-capability",
    name="Dangerous Linux capability added",
    short_description="`cap_add` grants `ALL`, `SYS_ADMIN`, `SYS_MODULE`, `SYS_PTRACE`, `SYS_RAWIO`, `BPF` or similar.",
    severity=Severity.HIGH,
    what="Reports `cap_add` entries that grant all capabilities or ones known to allow container escape "
    "(`SYS_ADMIN`, `SYS_MODULE`, `SYS_PTRACE`, `SYS_RAWIO`, `DAC_READ_SEARCH`, `BPF`, `NET_ADMIN`).",
    why="`SYS_ADMIN` alone permits mounts and many escape techniques; `SYS_MODULE` loads kernel modules; "
    "`SYS_PTRACE` can inject code into other processes; `ALL` is `privileged` without the device access.",
    example="services:\n  profiler:\n    cap_add: [SYS_ADMIN]",
    example_language="yaml",
    fix="Drop the capability. GPU profiling with Nsight needs `SYS_ADMIN` only on hosts where "
    "`NVreg_RestrictProfilingToAdminUsers=0` is not set; prefer that host setting.",
    tags=("CWE-250", "CWE-269"),
    precision="very-high",
)

SECURITY_OPT = Rule(
    id="compose/security-profile-disabled",
    name="Seccomp or AppArmor profile disabled",
    short_description="`security_opt` sets `seccomp:unconfined`, `apparmor:unconfined` or `label:disable`.",
    severity=Severity.MEDIUM,
    what="Reports `security_opt` entries that turn off seccomp, AppArmor or SELinux confinement.",
    why="These profiles block the system calls and file accesses most container escapes use; turning them "
    "off leaves only capabilities between the service and the host kernel.",
    example="services:\n  app:\n    security_opt:\n      - seccomp:unconfined",
    example_language="yaml",
    fix="Remove the option, or use a custom seccomp profile that allows only the extra system calls needed.",
    tags=("CWE-693",),
    precision="very-high",
)

RULES = (PRIVILEGED, HOST_NAMESPACE, SOCKET_MOUNT, HOST_MOUNT, DANGEROUS_CAPS, SECURITY_OPT)

_NAMESPACE_KEYS = ("network_mode", "pid", "ipc", "uts", "userns_mode")
_SOCKETS = ("docker.sock", "containerd.sock", "crio.sock", "podman.sock", "dockershim.sock", "cri-dockerd.sock")
_SYSTEM_DIRS = frozenset(
    {"/", "/etc", "/root", "/proc", "/sys", "/boot", "/dev", "/var/lib/docker", "/var/run", "/run"}
)
_BAD_CAPS = frozenset(
    {"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "DAC_READ_SEARCH", "BPF", "NET_ADMIN", "SYS_BOOT"}
)
_TRUE = frozenset({"true", "yes", "on", "1"})


def check(ctx: ComposeContext) -> Iterator[Finding]:
    for service in ctx.services:
        yield from _service(ctx, service)


def _service(ctx: ComposeContext, service: Service) -> Iterator[Finding]:
    name = service.name
    got = ctx.value(service, "privileged")
    if got and (scalar(got[1]) or "").lower() in _TRUE:
        yield ctx.finding(PRIVILEGED, got[0], f"Service `{name}` runs privileged.", key=f"{name}:privileged")
    for key in _NAMESPACE_KEYS:
        got = ctx.value(service, key)
        if got and (scalar(got[1]) or "").strip().lower() == "host":
            yield ctx.finding(
                HOST_NAMESPACE,
                got[0],
                f"Service `{name}` uses the host's namespace (`{key}: host`).",
                key=f"{name}:{key}",
                properties={"setting": key},
            )
    got = ctx.value(service, "volumes")
    if got:
        for item in ctx.budget.sequence(got[1]):
            source = _volume_source(ctx, item)
            if source is None:
                continue
            yield from _mount(ctx, service, item, source)
    got = ctx.value(service, "cap_add")
    if got:
        for item in ctx.budget.sequence(got[1]):
            cap = (scalar(item) or "").strip().upper().removeprefix("CAP_")
            if cap in _BAD_CAPS:
                yield ctx.finding(
                    DANGEROUS_CAPS,
                    item,
                    f"Service `{name}` adds capability `{cap}`.",
                    key=f"{name}:cap:{cap}",
                    properties={"capability": cap},
                )
    got = ctx.value(service, "security_opt")
    if got:
        for item in ctx.budget.sequence(got[1]):
            opt = (scalar(item) or "").strip().lower().replace("=", ":")
            if opt in ("seccomp:unconfined", "apparmor:unconfined", "label:disable", "systempaths:unconfined"):
                yield ctx.finding(
                    SECURITY_OPT,
                    item,
                    f"Service `{name}` disables confinement (`{opt}`).",
                    key=f"{name}:security_opt:{opt}",
                )


def _volume_source(ctx: ComposeContext, item: yaml.Node) -> str | None:
    text = scalar(item)
    if text is not None:
        parts = text.split(":")
        if len(parts) < 2:
            return None
        return parts[0].strip()
    if isinstance(item, yaml.MappingNode):
        kind = ctx.budget.get(item, "type")
        if kind is not None and (scalar(kind[1]) or "") not in ("bind", ""):
            return None
        src = ctx.budget.get(item, "source")
        return (scalar(src[1]) or "").strip() if src else None
    return None


def _mount(ctx: ComposeContext, service: Service, item: yaml.Node, source: str) -> Iterator[Finding]:
    name = service.name
    if source.endswith(_SOCKETS):
        yield ctx.finding(
            SOCKET_MOUNT,
            item,
            f"Service `{name}` mounts the container runtime socket `{source}`; that is root on the host.",
            key=f"{name}:socket:{source}",
            properties={"source": source},
        )
        return
    normalised = "/" + source.strip("/") if source.startswith("/") else source
    if normalised in _SYSTEM_DIRS:
        yield ctx.finding(
            HOST_MOUNT,
            item,
            f"Service `{name}` mounts the host path `{normalised}`.",
            key=f"{name}:mount:{normalised}",
            properties={"source": normalised},
        )
