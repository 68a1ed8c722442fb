"""Image metadata: HEALTHCHECK, OCI labels, MAINTAINER. Off by default: these are
the anchors' noisiest checks and say little about security."""

from __future__ import annotations

from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.parser import split_assignments
from aisec_ci.severity import Severity

MISSING_HEALTHCHECK = Rule(
    id="docker/missing-healthcheck",
    profile="strict",
    name="No HEALTHCHECK in the final stage",
    short_description="The shipped image defines no `HEALTHCHECK`.",
    severity=Severity.INFO,
    what="Reports a final stage (with the stages it builds on) without a `HEALTHCHECK` instruction. "
    "`HEALTHCHECK NONE` counts as a deliberate choice. Disabled by default: Kubernetes probes usually do this job.",
    why="Without a health check, `docker` and Compose cannot tell a hung model server (stuck CUDA kernel, "
    "exhausted workers) from a healthy one, so nothing restarts it.",
    example='FROM python:3.11-slim\nCMD ["uvicorn", "app:app"]',
    example_language="dockerfile",
    fix='Add `HEALTHCHECK --interval=30s CMD ["curl", "-fsS", "http://localhost:8000/health"]`, or rely on '
    "orchestrator probes and leave this rule off.",
    tags=("reliability",),
    precision="very-high",
)

MISSING_LABELS = Rule(
    id="docker/missing-oci-labels",
    profile="strict",
    name="No OCI source label",
    short_description="The image has no `org.opencontainers.image.source` label.",
    severity=Severity.INFO,
    what="Reports a final stage without an `org.opencontainers.image.source` label. Disabled by default.",
    why="The label ties a running image back to the repository it was built from, which incident response "
    "and vulnerability triage need; registries such as GHCR also use it to link packages to repositories.",
    example="FROM python:3.11-slim",
    example_language="dockerfile",
    fix='`LABEL org.opencontainers.image.source="https://github.com/acme/model-server"` (or set it with '
    "`docker buildx build --label`).",
    tags=("provenance",),
    precision="very-high",
)

MAINTAINER = Rule(
    id="docker/maintainer-deprecated",
    profile="strict",
    name="Deprecated MAINTAINER instruction",
    short_description="`MAINTAINER` is deprecated; use a label.",
    severity=Severity.INFO,
    what="Reports `MAINTAINER` instructions. Disabled by default.",
    why="`MAINTAINER` is deprecated and not shown by tooling that reads OCI labels.",
    example="MAINTAINER ml-team@example.com",
    example_language="dockerfile",
    fix='`LABEL org.opencontainers.image.authors="ml-team@example.com"`.',
    tags=("hygiene",),
    precision="very-high",
)

RULES = (MISSING_HEALTHCHECK, MISSING_LABELS, MAINTAINER)


def check(ctx: DockerContext) -> Iterator[Finding]:
    df = ctx.dockerfile
    for inst in df.instructions:
        if inst.keyword == "MAINTAINER":
            yield ctx.finding(MAINTAINER, inst.start_line, "`MAINTAINER` is deprecated; use a LABEL.", key="maintainer")
    final = df.final_stage
    if final is None:
        return
    chain_instructions = [i for s in ctx.final_chain for i in s.instructions]
    line = final.from_instruction.start_line
    if not any(i.keyword == "HEALTHCHECK" for i in chain_instructions):
        yield ctx.finding(
            MISSING_HEALTHCHECK, line, "The final stage defines no HEALTHCHECK.", key="missing-healthcheck"
        )
    labels = {
        name.strip("\"'")
        for i in chain_instructions
        if i.keyword == "LABEL"
        for name, _, _ in split_assignments(i.args, legacy=False)
    }
    if "org.opencontainers.image.source" not in labels:
        yield ctx.finding(
            MISSING_LABELS,
            line,
            "The final stage has no `org.opencontainers.image.source` label.",
            key="missing-oci-source",
        )
