"""Working directory hygiene: absolute WORKDIR, no `cd`, no relative copies without one."""

from __future__ import annotations

from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.parser import Instruction, split_words, unquote
from aisec_ci.severity import Severity

RELATIVE_WORKDIR = Rule(
    id="docker/relative-workdir",
    profile="strict",
    name="Relative WORKDIR",
    short_description="`WORKDIR` is a relative path.",
    severity=Severity.LOW,
    what="Reports `WORKDIR` instructions whose path is relative (not starting with `/` or a variable).",
    why="A relative `WORKDIR` resolves against whatever the previous working directory was, which the base "
    "image can change. Files then land (and are executed from) places nobody intended.",
    example="WORKDIR app",
    example_language="dockerfile",
    fix="Use an absolute path: `WORKDIR /app`.",
    tags=("reliability",),
    precision="very-high",
)

CD_IN_RUN = Rule(
    id="docker/cd-instead-of-workdir",
    profile="strict",
    name="cd used instead of WORKDIR",
    short_description="A RUN step changes directory with `cd`.",
    severity=Severity.INFO,
    what="Reports RUN steps whose top-level commands include `cd`.",
    why="`cd` only lasts for one RUN step and is easy to misread in long chains; a failed `cd` in a chain "
    "without `set -e` makes the following commands run in the wrong directory (for example an `rm -rf`).",
    example="RUN cd /opt/app && pip install -r requirements.txt",
    example_language="dockerfile",
    fix="Set the directory with `WORKDIR /opt/app` before the RUN step.",
    tags=("reliability",),
    precision="high",
)

COPY_RELATIVE = Rule(
    id="docker/copy-relative-without-workdir",
    profile="strict",
    name="COPY to a relative path without WORKDIR",
    short_description="`COPY`/`ADD` targets a relative path before any `WORKDIR` is set.",
    severity=Severity.LOW,
    what="Reports `COPY` and `ADD` instructions with a relative destination in a stage (and its parent "
    "stages) that has not set `WORKDIR`.",
    why="The destination then depends on the base image's working directory; an image update moves your "
    "files (and the paths CMD expects), or puts them in `/`.",
    example="FROM python:3.11-slim\nCOPY app.py .",
    example_language="dockerfile",
    fix="Set `WORKDIR /app` first, or copy to an absolute path.",
    tags=("reliability",),
    precision="very-high",
)

RULES = (RELATIVE_WORKDIR, CD_IN_RUN, COPY_RELATIVE)


def _is_relative(path: str) -> bool:
    p = path.strip()
    if not p or p.startswith(("/", "$", "\\")):
        return False
    # Windows images: `C:\app` or `c:/app`.
    return not (len(p) >= 2 and p[1] == ":")


def check(ctx: DockerContext) -> Iterator[Finding]:
    df = ctx.dockerfile
    for inst in df.instructions:
        if inst.keyword == "WORKDIR" and _is_relative(unquote(inst.args.strip())):
            yield ctx.finding(
                RELATIVE_WORKDIR,
                inst.start_line,
                f"`WORKDIR {inst.args.strip()}` is relative; use an absolute path.",
                key=f"workdir:{inst.args.strip()}",
            )
    for script in ctx.runs:
        for rc in script.commands:
            # Only the step's own commands; a `cd` inside `sh -c` or a subshell is deliberate.
            if rc.cmd.name == "cd" and rc.depth == 0:
                yield ctx.finding(
                    CD_IN_RUN,
                    rc.line,
                    "`cd` in a RUN step; set the directory with WORKDIR.",
                    key="cd",
                )
                break
    # Whether a stage, with the stages it builds on, sets a WORKDIR: a parent is always an
    # earlier stage, so one pass in order answers for every stage without re-walking its chain.
    sets_workdir: dict[int, bool] = {}
    for stage in df.stages:
        parent = stage.parent
        has_workdir = parent is not None and parent != stage.index and sets_workdir.get(parent, False)
        for inst in stage.instructions:
            if inst.keyword == "WORKDIR":
                has_workdir = True
            elif inst.keyword in ("COPY", "ADD") and not has_workdir:
                dest = _destination(inst)
                if dest is not None and _is_relative(dest):
                    yield ctx.finding(
                        COPY_RELATIVE,
                        inst.start_line,
                        f"`{inst.keyword}` to relative `{dest}` before any WORKDIR; the target depends on the "
                        "base image.",
                        key=f"copy-relative:{dest}",
                    )
        sets_workdir[stage.index] = has_workdir


def _destination(inst: Instruction) -> str | None:
    if inst.json_args is not None:
        return inst.json_args[-1] if len(inst.json_args) >= 2 else None
    words = [w for w, _ in split_words(inst.args)]
    if len(words) < 2 and not inst.heredocs:
        return None
    return unquote(words[-1]) if words else None
