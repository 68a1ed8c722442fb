"""`sudo` inside build steps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.per_instruction import Fold, in_order, line_list
from aisec_ci.severity import Severity

SUDO_IN_RUN = Rule(
    id="docker/sudo-in-run",
    name="sudo used in a RUN step",
    short_description="A RUN step calls `sudo`.",
    severity=Severity.MEDIUM,
    what="Reports RUN commands run through `sudo`.",
    why="Build steps already run as the current `USER`; `sudo` in a Dockerfile means the image ships "
    "`sudo` and a user allowed to use it, so anyone who gets code execution as the unprivileged user "
    "becomes root, which undoes the point of `USER`. It also behaves unpredictably (TTY and password "
    "prompts) in builds.",
    example="USER app\nRUN sudo apt-get install -y --no-install-recommends ffmpeg",
    example_language="dockerfile",
    fix="Run the privileged steps before switching user (`USER root` ... `USER app`), or use `gosu`/`su-exec` "
    "in an entrypoint that drops privileges; do not install `sudo` in the image.",
    tags=("CWE-250", "CWE-269"),
    precision="very-high",
)

RULES = (SUDO_IN_RUN,)


def check(ctx: DockerContext) -> Iterator[Finding]:
    for script in ctx.runs:
        lines: set[int] = set()
        for rc in script.commands:
            if "sudo" in rc.cmd.wrappers and rc.line not in lines:
                lines.add(rc.line)
                shown = " ".join(rc.cmd.words[:2]) or "a command"
                yield ctx.finding(
                    SUDO_IN_RUN,
                    rc.line,
                    f"`sudo {shown}` in a RUN step; the image needs sudo rights for its user.",
                    key=f"sudo:{shown}",
                    properties={"command": shown},
                )


def _sudo_message(items: Sequence[Finding]) -> str:
    commands = ", ".join(f"`sudo {c}`" for c in in_order(items, "command"))
    return f"{commands} in a RUN step; the image needs sudo rights for its user."


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    SUDO_IN_RUN.id: Fold(
        message=_sudo_message,
        properties=lambda items: {"commands": in_order(items, "command"), "lines": line_list(items)},
    ),
}
