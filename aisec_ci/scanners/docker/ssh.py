"""An SSH server inside the image."""

from __future__ import annotations

from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.per_instruction import Fold, line_list, union
from aisec_ci.severity import Severity

SSH_IN_IMAGE = Rule(
    id="docker/ssh-server",
    name="SSH server in the image",
    short_description="The image exposes port 22 or installs an SSH server.",
    severity=Severity.MEDIUM,
    what="Reports `EXPOSE 22` and installs of `openssh-server`/`dropbear` in the stages that reach the final image.",
    why="An SSH daemon in a container is a second, long-lived way in that bypasses the orchestrator's access "
    "control and audit; images that ship one usually also ship keys or passwords for it, and GPU training "
    "images with SSH for MPI are a common foothold once a port is reachable.",
    example="RUN apt-get update && apt-get install -y openssh-server\nEXPOSE 22",
    example_language="dockerfile",
    fix="Use `docker exec`/`kubectl exec` for access. For multi-node training, let the launcher "
    "(torchrun, the MPI operator) handle rendezvous instead of sshd inside every image.",
    tags=("CWE-284", "attack-surface"),
    precision="high",
)

RULES = (SSH_IN_IMAGE,)

_SSH_PACKAGES = ("openssh-server", "dropbear")
_INSTALLERS = frozenset({"apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper"})


def check(ctx: DockerContext) -> Iterator[Finding]:
    for stage in ctx.final_chain:
        for inst in stage.instructions:
            if inst.keyword == "EXPOSE" and any(p.split("/", 1)[0] == "22" for p in inst.args.split()):
                yield ctx.finding(SSH_IN_IMAGE, inst.start_line, "The image exposes SSH port 22.", key="expose-22")
    for script in ctx.runs:
        if not ctx.in_final_image(script.instruction):
            continue
        for rc in script.commands:
            if rc.cmd.name not in _INSTALLERS:
                continue
            names = [a.split("=", 1)[0] for a in rc.cmd.args if not a.startswith("-")]
            found = sorted({n for n in names if n.startswith(_SSH_PACKAGES)})
            if found:
                yield ctx.finding(
                    SSH_IN_IMAGE,
                    rc.line,
                    f"The image installs an SSH server ({', '.join(found)}).",
                    key="ssh-package:" + ",".join(found),
                    properties={"packages": found},
                )


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    SSH_IN_IMAGE.id: Fold(
        message=lambda items: (
            f"The image installs an SSH server ({', '.join(union(items, 'packages'))}) in "
            f"{len(items)} commands of this RUN step."
        ),
        properties=lambda items: {"packages": union(items, "packages"), "lines": line_list(items)},
    ),
}
