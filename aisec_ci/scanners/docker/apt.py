"""Debian/Ubuntu package installs: pinning and cache hygiene."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext, RunScript
from aisec_ci.scanners.docker.per_instruction import Fold, in_order, line_list, listed, on_lines, union
from aisec_ci.scanners.docker.shell import Command
from aisec_ci.severity import Severity

APT_UNPINNED = Rule(
    id="docker/apt-unpinned",
    profile="strict",
    name="apt-get install without version pins",
    short_description="`apt-get install` names packages without `=version`.",
    severity=Severity.LOW,
    what="Reports `apt-get install` (and `apt install`) commands with packages that carry no `=version` pin. "
    "Local `.deb` files and packages named by a variable are not reported.",
    why="Each rebuild installs whatever the mirror serves that day, so two images built from the same commit "
    "differ, a broken or malicious update arrives unreviewed, and a scan of one build says little about the next.",
    example="RUN apt-get update && apt-get install -y --no-install-recommends libgl1 ffmpeg",
    example_language="dockerfile",
    fix="Pin versions (`apt-get install -y libgl1=1.7.0-1 ffmpeg=7:6.1.1-3`), or pin the base image by "
    "digest and snapshot the mirror (snapshot.debian.org) so the set of packages is fixed.",
    tags=("CWE-1357", "supply-chain"),
    precision="very-high",
)

APT_MISSING_YES = Rule(
    id="docker/apt-missing-yes",
    profile="strict",
    name="apt-get install without -y",
    short_description="`apt-get install` without `-y` waits for a confirmation that never comes.",
    severity=Severity.INFO,
    what="Reports `apt-get install` commands without `-y`, `--yes` or `--assume-yes`.",
    why="Builds are not interactive: the command aborts at the prompt, or, piped through `yes`, accepts "
    "removals and downgrades nobody reviewed.",
    example="RUN apt-get update && apt-get install curl",
    example_language="dockerfile",
    fix="Add `-y`: `apt-get install -y --no-install-recommends curl`.",
    tags=("reliability",),
    precision="very-high",
)

APT_RECOMMENDS = Rule(
    id="docker/apt-install-recommends",
    profile="strict",
    name="apt-get install pulls in recommended packages",
    short_description="`apt-get install` without `--no-install-recommends` adds packages nobody asked for.",
    severity=Severity.INFO,
    what="Reports `apt-get install` commands without `--no-install-recommends` "
    "(or `-o APT::Install-Recommends=false`).",
    why="Recommended packages often double the size of the layer and add software (compilers, X11 libraries, "
    "daemons) that widens the attack surface and the CVE count of the image.",
    example="RUN apt-get update && apt-get install -y python3-opencv",
    example_language="dockerfile",
    fix="`apt-get install -y --no-install-recommends python3-opencv`.",
    tags=("attack-surface",),
    precision="very-high",
)

APT_LISTS = Rule(
    id="docker/apt-lists-not-removed",
    profile="strict",
    name="apt package lists left in the image",
    short_description="A RUN step runs `apt-get update` but does not delete `/var/lib/apt/lists`.",
    severity=Severity.INFO,
    what="Reports RUN steps of the shipped stages that run `apt-get update` without removing "
    "`/var/lib/apt/lists/*` in the same step (a BuildKit cache mount on `/var/lib/apt` is fine).",
    why="The package index stays in the layer: tens of megabytes on every node, and a stale index that "
    "later `apt-get install` runs in derived images use without updating it.",
    example="RUN apt-get update && apt-get install -y --no-install-recommends curl",
    example_language="dockerfile",
    fix="End the same RUN with `&& rm -rf /var/lib/apt/lists/*`.",
    tags=("hygiene",),
    precision="high",
)

APT_CLI = Rule(
    id="docker/apt-cli-in-script",
    profile="strict",
    name="`apt` used instead of `apt-get`",
    short_description="The interactive `apt` front end is used in a RUN step.",
    severity=Severity.INFO,
    what="Reports RUN commands that call `apt install`, `apt update` or other `apt` subcommands.",
    why="`apt` is meant for people: its output and behaviour may change between releases and it warns that "
    "it has no stable command-line interface, so scripted builds can break or behave differently.",
    example="RUN apt update && apt install -y git",
    example_language="dockerfile",
    fix="Use `apt-get` (or `apt-cache`) in Dockerfiles.",
    tags=("reliability",),
    precision="very-high",
)

APT_UPDATE_ALONE = Rule(
    id="docker/apt-update-alone",
    profile="strict",
    name="apt-get update in its own RUN step",
    short_description="`apt-get update` runs in a step that installs nothing, so its layer goes stale.",
    severity=Severity.LOW,
    what="Reports RUN steps that run `apt-get update` without any `install`/`upgrade` in the same step.",
    why="Docker caches that layer. Later `apt-get install` steps keep using the cached, outdated package "
    "index, so rebuilds install old package versions that miss security fixes (or fail when the mirror "
    "drops them).",
    example="RUN apt-get update\nRUN apt-get install -y --no-install-recommends curl",
    example_language="dockerfile",
    fix="Combine them: `RUN apt-get update && apt-get install -y --no-install-recommends curl "
    "&& rm -rf /var/lib/apt/lists/*`.",
    tags=("CWE-1104",),
    precision="very-high",
)

RULES = (APT_UNPINNED, APT_MISSING_YES, APT_RECOMMENDS, APT_LISTS, APT_CLI, APT_UPDATE_ALONE)

APT_COMMANDS = frozenset({"apt-get", "apt"})
_VALUE_OPTIONS = frozenset({"-o", "-t", "-c", "--target-release", "--default-release", "--option", "--config-file"})
_INSTALL_SUBCOMMANDS = frozenset({"install"})
_UPGRADE_SUBCOMMANDS = frozenset({"install", "upgrade", "dist-upgrade", "full-upgrade", "build-dep", "source"})


@dataclass
class AptCall:
    cmd: Command
    subcommand: str
    options: list[str]
    packages: list[str]


def apt_call(cmd: Command) -> AptCall | None:
    """Parse an `apt-get`/`apt` command into its subcommand, options and package operands."""
    if cmd.name not in APT_COMMANDS:
        return None
    options: list[str] = []
    positional: list[str] = []
    args = cmd.args
    k = 0
    while k < len(args):
        a = args[k]
        if a.startswith("-"):
            options.append(a)
            if a in _VALUE_OPTIONS and k + 1 < len(args):
                options.append(args[k + 1])
                k += 1
        else:
            positional.append(a)
        k += 1
    if not positional:
        return AptCall(cmd, "", options, [])
    return AptCall(cmd, positional[0], options, positional[1:])


def _has_yes(call: AptCall) -> bool:
    for o in call.options:
        if o in ("--yes", "--assume-yes", "--force-yes"):
            return True
        if o.startswith("-") and not o.startswith("--") and "y" in o[1:]:
            return True
        if "assume-yes" in o.lower().replace("_", "-") and "true" in o.lower():
            return True
    return False


def _no_recommends(call: AptCall) -> bool:
    for o in call.options:
        low = o.lower()
        if low == "--no-install-recommends":
            return True
        if "install-recommends" in low and ("false" in low or low.endswith("=0")):
            return True
    return False


def _is_pinned(pkg: str) -> bool:
    return "=" in pkg or pkg.endswith(".deb") or "$" in pkg or pkg.startswith(("/", "./"))


def check(ctx: DockerContext) -> Iterator[Finding]:
    for script in ctx.runs:
        calls: list[tuple[AptCall, int]] = []
        for rc in script.commands:
            call = apt_call(rc.cmd)
            if call is not None:
                calls.append((call, rc.line))
        if not calls:
            continue
        inst = script.instruction
        for call, line in calls:
            if call.cmd.name == "apt" and call.subcommand:
                yield ctx.finding(
                    APT_CLI,
                    line,
                    f"`apt {call.subcommand}` in a build script; use `apt-get {call.subcommand}`.",
                    key=f"apt-cli:{call.subcommand}",
                    properties={"subcommand": call.subcommand},
                )
            if call.subcommand not in _INSTALL_SUBCOMMANDS:
                continue
            unpinned = sorted({p for p in call.packages if not _is_pinned(p)})
            if unpinned:
                shown = ", ".join(unpinned[:6]) + (f" and {len(unpinned) - 6} more" if len(unpinned) > 6 else "")
                yield ctx.finding(
                    APT_UNPINNED,
                    line,
                    f"`{call.cmd.name} install` without version pins: {shown}.",
                    key=f"apt-unpinned:{','.join(unpinned)}",
                    properties={"packages": unpinned, "command": call.cmd.name},
                )
            if not _has_yes(call) and not any(u.name == "yes" for u in _upstream(script, call.cmd)):
                yield ctx.finding(
                    APT_MISSING_YES,
                    line,
                    f"`{call.cmd.name} install` without `-y` stops at the confirmation prompt.",
                    key="apt-missing-yes",
                    properties={"command": call.cmd.name},
                )
            if not _no_recommends(call):
                yield ctx.finding(
                    APT_RECOMMENDS,
                    line,
                    f"`{call.cmd.name} install` without `--no-install-recommends` installs recommended packages too.",
                    key="apt-recommends",
                    properties={"command": call.cmd.name},
                )
        subcommands = {c.subcommand for c, _ in calls}
        update_line = next((line for c, line in calls if c.subcommand == "update"), None)
        if update_line is None:
            continue
        if not subcommands & _UPGRADE_SUBCOMMANDS:
            yield ctx.finding(
                APT_UPDATE_ALONE,
                update_line,
                "`apt-get update` runs in a step of its own; its cached layer makes later installs use a stale index.",
                key="apt-update-alone",
            )
        elif ctx.in_final_image(inst) and not _cleans_lists(script) and not _apt_cache_mount(script):
            yield ctx.finding(
                APT_LISTS,
                update_line,
                "`apt-get update` leaves /var/lib/apt/lists in the layer; remove it in the same RUN step.",
                key="apt-lists",
                end_line=inst.end_line,
            )


def _upstream(script: RunScript, cmd: Command) -> list[Command]:
    for rc in script.commands:
        if rc.cmd is cmd:
            return rc.upstream
    return []


def _cleans_lists(script: RunScript) -> bool:
    for rc in script.commands:
        if rc.cmd.name == "rm" and any(a.startswith("/var/lib/apt/lists") for a in rc.cmd.args):
            return True
    return False


def _apt_cache_mount(script: RunScript) -> bool:
    return any("type=cache" in mount and "/var/lib/apt" in mount for mount in script.instruction.flags.get("mount", []))


def _installs(items: Sequence[Finding]) -> str:
    """`apt-get install` (or `apt-get install` and `apt install`) for the commands behind `items`."""
    return " and ".join(f"`{name} install`" for name in in_order(items, "command"))


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    APT_UNPINNED.id: Fold(
        message=lambda items: (
            f"{len(items)} {_installs(items)} commands in this RUN step without version pins: "
            f"{listed(union(items, 'packages'))}."
        ),
        properties=lambda items: {"packages": union(items, "packages"), "lines": line_list(items)},
    ),
    APT_MISSING_YES.id: Fold(
        message=lambda items: (
            f"{len(items)} {_installs(items)} commands in this RUN step{on_lines(items)} "
            "lack `-y` and stop at the confirmation prompt."
        ),
        properties=lambda items: {"lines": line_list(items)},
    ),
    APT_RECOMMENDS.id: Fold(
        message=lambda items: (
            f"{len(items)} {_installs(items)} commands in this RUN step{on_lines(items)} "
            "lack `--no-install-recommends` and install recommended packages too."
        ),
        properties=lambda items: {"lines": line_list(items)},
    ),
    APT_CLI.id: Fold(
        message=lambda items: (
            "`apt " + "`, `apt ".join(in_order(items, "subcommand")) + "` in a build script; use `apt-get` for each."
        ),
        properties=lambda items: {"subcommands": in_order(items, "subcommand"), "lines": line_list(items)},
    ),
}
