"""Instructions the Docker builder would reject."""

from __future__ import annotations

from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.per_instruction import Fold, in_order
from aisec_ci.severity import Severity

INVALID_INSTRUCTION = Rule(
    id="docker/invalid-instruction",
    profile="strict",
    name="Instruction the builder rejects",
    short_description="Unknown instruction, unterminated heredoc or malformed FROM.",
    severity=Severity.LOW,
    what="Reports lines the Docker builder would refuse: unknown instructions (often a template "
    "placeholder or a lost line continuation), heredocs without their terminator, `FROM` without an image, "
    "and files with instructions but no `FROM`.",
    why="A Dockerfile that does not build is either dead code or generated from a template; in both cases "
    "the security rules cannot describe the image that is really shipped. A lost `\\` continuation also "
    "silently turns the rest of a RUN chain into separate, wrong instructions.",
    example="RUN apt-get update &&\n    apt-get install -y curl",
    example_language="dockerfile",
    fix="Fix the line (add the missing `\\`, terminate the heredoc) or, for a template, scan the rendered "
    "Dockerfile instead.",
    tags=("reliability",),
    precision="very-high",
)

RULES = (INVALID_INSTRUCTION,)
MAX_REPORTED = 20


def check(ctx: DockerContext) -> Iterator[Finding]:
    df = ctx.dockerfile
    problems = list(df.problems)
    if df.instructions and not df.stages:
        problems.append((df.instructions[0].start_line, "instructions but no FROM"))
    for line, message in sorted(problems)[:MAX_REPORTED]:
        yield ctx.finding(
            INVALID_INSTRUCTION,
            line,
            f"The builder would reject this: {message}.",
            key=f"invalid:{message}",
            properties={"problem": message},
        )


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    INVALID_INSTRUCTION.id: Fold(
        message=lambda items: "The builder would reject this: " + "; ".join(in_order(items, "problem")) + ".",
        properties=lambda items: {"problems": in_order(items, "problem")},
    ),
}
