"""Which user the shipped image runs as."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.images import parse_image
from aisec_ci.scanners.docker.parser import Instruction, Stage, split_assignments, substitute
from aisec_ci.severity import Severity

ROOT_USER = Rule(
    id="docker/root-user",
    name="Container runs as root",
    short_description="The final stage has no `USER`, or its last `USER` is root.",
    severity=Severity.MEDIUM,
    what="Reports a Dockerfile whose final stage (including the stages it builds on) never switches to a "
    "non-root user, or whose last `USER` is `root` or `0`. Base images known to run as non-root "
    "(`*:nonroot` distroless tags, `bitnami/*`) count as a non-root user. Images listed in the "
    "`root_allowlist` option (each with a reason) are not reported, nor a last stage `FROM scratch` that "
    "only copies build artifacts and starts nothing (a `docker build --output` export, never run).",
    why="A process running as root inside the container is root on the host's kernel. A bug in the model "
    "server, a pickle-loading endpoint or a notebook kernel then has the privileges needed for container "
    "escapes (kernel and runtime CVEs, writable host mounts, the GPU driver's device files). Kubernetes "
    "`runAsNonRoot` admission also rejects such images.",
    example='FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nCOPY serve.py /app/\nCMD ["python3", "/app/serve.py"]',
    example_language="dockerfile",
    fix="Create an unprivileged user and switch to it after the steps that need root:\n\n"
    "```dockerfile\nRUN useradd --uid 10001 --create-home app\nUSER 10001\n```\n\n"
    "If the image must run as root (a device plugin, a driver installer), list it under "
    "`root_allowlist` with the reason.",
    tags=("CWE-250", "CWE-269"),
    precision="high",
    references=("https://docs.docker.com/build/building/best-practices/#user",),
)

NON_NUMERIC_USER = Rule(
    id="docker/non-numeric-user",
    profile="strict",
    name="USER given by name, not by UID",
    short_description="The final `USER` is a name, which Kubernetes `runAsNonRoot` cannot verify.",
    severity=Severity.INFO,
    what="Reports a final-stage `USER` that names a user instead of a numeric UID. Disabled by default.",
    why="With `runAsNonRoot: true`, the kubelet can only check a numeric user; a named user makes the pod "
    "fail to start, and teams then drop the `runAsNonRoot` guard instead of fixing the image.",
    example="USER app",
    example_language="dockerfile",
    fix="Use the UID (and GID): `USER 10001:10001`.",
    tags=("CWE-250", "kubernetes"),
    precision="very-high",
)

RULES = (ROOT_USER, NON_NUMERIC_USER)

_NONROOT_TAG_MARKERS = ("nonroot", "non-root", "rootless")
_NONROOT_REPOSITORY_PREFIXES = ("bitnami/",)


def check(ctx: DockerContext) -> Iterator[Finding]:
    df = ctx.dockerfile
    final = df.final_stage
    if final is None:
        return
    if _is_export_stage(final):
        return
    chain = df.stage_chain(final)
    root_stage = chain[-1]
    base = root_stage.base
    image = parse_image(base) if root_stage.parent is None and not root_stage.unresolved else None
    allowlist: list[dict[str, Any]] = list(ctx.options.get("root_allowlist") or [])
    if image is not None and image.matches(str(e.get("image", "")) for e in allowlist):
        return
    last_user: Instruction | None = None
    for stage in chain:
        users = [i for i in stage.instructions if i.keyword == "USER"]
        if users:
            last_user = users[-1]
            break
    if last_user is not None:
        name = _resolve_user(last_user, chain)
        if name and not name.isdigit() and name != "root":
            yield ctx.finding(
                NON_NUMERIC_USER,
                last_user.start_line,
                f"USER `{last_user.args.strip()}` is a name; use a numeric UID so `runAsNonRoot` can verify it.",
                key="non-numeric-user",
            )
        if name in ("root", "0"):
            yield ctx.finding(
                ROOT_USER,
                last_user.start_line,
                f"The last USER of the final stage is `{last_user.args.strip()}`; the container runs as root.",
                key="root-user:explicit",
                properties={"user": last_user.args.strip()},
            )
        return
    if root_stage.parent is None and root_stage.unresolved:
        # The base is a build argument without a default: its user is unknown.
        return
    if image is not None:
        tag = (image.tag or "").lower()
        if any(m in tag for m in _NONROOT_TAG_MARKERS) or image.repository.startswith(_NONROOT_REPOSITORY_PREFIXES):
            return
    yield ctx.finding(
        ROOT_USER,
        final.from_instruction.start_line,
        f"The final stage (based on `{base}`) never sets a non-root USER; the container runs as root.",
        key="root-user:missing",
        properties={"base_image": base},
    )


_EXPORT_KEYWORDS = frozenset({"COPY", "ADD", "ARG", "LABEL", "WORKDIR"})


def _is_export_stage(stage: Stage) -> bool:
    """Whether the last stage only gathers build artifacts from scratch, with nothing to run.

    `docker build --output type=local,dest=out .` writes such a stage's files to
    disk; no container is ever started from it, so it has no user to judge.
    A scratch stage that sets CMD or ENTRYPOINT is a runtime image (running as
    uid 0) and is still reported.
    """
    if stage.parent is not None or stage.base.strip().lower() != "scratch":
        return False
    return all(i.keyword in _EXPORT_KEYWORDS for i in stage.instructions if i is not stage.from_instruction)


def _resolve_user(inst: Instruction, chain: list[Stage]) -> str:
    """The user name or uid of a USER instruction, with ARG/ENV defaults substituted."""
    text = inst.args.strip()
    if "$" in text:
        env: dict[str, str | None] = {}
        for stage in reversed(chain):
            for i in stage.instructions:
                if i.start_line >= inst.start_line:
                    break
                if i.keyword in ("ARG", "ENV"):
                    for name, value, _ in split_assignments(i.args, legacy=i.keyword == "ENV"):
                        env[name] = value
        text, complete = substitute(text, env)
        if not complete:
            # An unknown build argument: assume the caller passes a real user.
            return ""
    return text.split(":", 1)[0].strip().lower()
