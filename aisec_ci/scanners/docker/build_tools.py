"""Compilers and other build tools left in the shipped image."""

from __future__ import annotations

from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext, RunCommand
from aisec_ci.severity import Severity

BUILD_TOOLS_IN_FINAL = Rule(
    id="docker/build-tools-in-final-stage",
    profile="strict",
    name="Build tools installed in the final stage",
    short_description="The shipped stage installs compilers, headers or git and never removes them.",
    severity=Severity.LOW,
    what="Reports, for a final stage that starts a service (`CMD`/`ENTRYPOINT`), the first install in it "
    "(or the stages it builds on) of build tools: "
    "`build-essential`, `gcc`, `g++`, `make`, `cmake`, `clang`, `gfortran`, autotools, `git`, CUDA "
    "compiler/toolkit packages and `-dev`/`-devel` header packages, unless the same stages remove them "
    "again (`apt-get purge`, `apk del` of a `--virtual` group).",
    why="A compiler and `git` in a serving image let an attacker who gains code execution build and fetch "
    "tools on the spot, add hundreds of packages (and their CVEs) to the image, and bloat GPU-node pulls. "
    "A multi-stage build keeps them in a builder stage that is never shipped.",
    example="FROM python:3.11-slim\nRUN apt-get update && apt-get install -y --no-install-recommends "
    "build-essential git\nRUN pip install --no-cache-dir -r requirements.txt",
    example_language="dockerfile",
    fix="Compile wheels in a builder stage and copy only the results:\n\n```dockerfile\n"
    "FROM python:3.11-slim AS build\nRUN apt-get update && apt-get install -y --no-install-recommends "
    "build-essential\nRUN pip wheel --wheel-dir /wheels -r requirements.txt\n\nFROM python:3.11-slim\n"
    "COPY --from=build /wheels /wheels\nRUN pip install --no-cache-dir /wheels/*\n```",
    tags=("CWE-1104", "attack-surface"),
    precision="medium",
)

RULES = (BUILD_TOOLS_IN_FINAL,)

_TOOLS = frozenset(
    {
        "build-essential",
        "build-base",
        "gcc",
        "g++",
        "gcc-c++",
        "make",
        "cmake",
        "clang",
        "llvm",
        "gfortran",
        "autoconf",
        "automake",
        "libtool",
        "ninja-build",
        "git",
        "musl-dev",
    }
)
_CUDA_TOOL_PREFIXES = ("cuda-toolkit", "cuda-nvcc", "cuda-compiler", "cuda-libraries-dev", "cuda-cudart-dev")
_INSTALLERS = {
    "apt-get": ("install",),
    "apt": ("install",),
    "apk": ("add",),
    "yum": ("install",),
    "dnf": ("install",),
    "microdnf": ("install",),
    "tdnf": ("install",),
    "zypper": ("install", "in"),
}
_REMOVERS = {
    "apt-get": ("purge", "remove", "autoremove"),
    "apt": ("purge", "remove", "autoremove"),
    "apk": ("del",),
    "yum": ("remove", "erase", "autoremove"),
    "dnf": ("remove", "erase", "autoremove"),
    "microdnf": ("remove",),
    "zypper": ("remove", "rm"),
}
_VALUE_OPTIONS = frozenset({"-o", "-t", "--virtual", "--repository", "-X", "--target-release", "--setopt"})


def is_build_tool(package: str) -> bool:
    name = package.split("=", 1)[0].split(":", 1)[0].lower()
    if name in _TOOLS or name.startswith(_CUDA_TOOL_PREFIXES):
        return True
    return name.endswith(("-dev", "-devel")) and not name.startswith("$")


def _operands(rc: RunCommand, verbs: tuple[str, ...]) -> tuple[list[str], bool] | None:
    """Package operands of an install/remove command, and whether it used `apk --virtual`."""
    args = rc.cmd.args
    positional: list[str] = []
    virtual = False
    k = 0
    while k < len(args):
        a = args[k]
        if a.startswith("-"):
            if a in ("--virtual", "-t") and rc.cmd.name == "apk":
                virtual = True
            if a in _VALUE_OPTIONS:
                k += 1
        else:
            positional.append(a)
        k += 1
    if not positional or positional[0] not in verbs:
        return None
    return positional[1:], virtual


def check(ctx: DockerContext) -> Iterator[Finding]:
    if not ctx.final_runs_service:
        # A development or tool image (no CMD/ENTRYPOINT) is meant to carry its tools.
        return
    installed: list[tuple[str, RunCommand]] = []
    removed: set[str] = set()
    for script in ctx.runs:
        if not ctx.in_final_image(script.instruction):
            continue
        for rc in script.commands:
            name = rc.cmd.name
            if name in _INSTALLERS:
                got = _operands(rc, _INSTALLERS[name])
                if got is not None and not got[1]:
                    installed.extend((p, rc) for p in got[0] if is_build_tool(p))
            if name in _REMOVERS:
                got = _operands(rc, _REMOVERS[name])
                if got is not None:
                    removed.update(p.split("=", 1)[0].lower() for p in got[0])
    left = [(p, rc) for p, rc in installed if p.split("=", 1)[0].split(":", 1)[0].lower() not in removed]
    if not left:
        return
    names = sorted({p.split("=", 1)[0] for p, _ in left})
    first = left[0][1]
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    yield ctx.finding(
        BUILD_TOOLS_IN_FINAL,
        first.line,
        f"The final image keeps build tools: {shown}; build in a separate stage and copy only the results.",
        key="build-tools:" + ",".join(names),
        properties={"packages": names},
    )
