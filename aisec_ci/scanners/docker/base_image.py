"""Base image rules: tag pinning, digest pinning, heavy bases in the shipped
stage, and the allowed-registry policy."""

from __future__ import annotations

from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.images import ImageRef, parse_image, registry_allowed
from aisec_ci.scanners.docker.parser import Stage
from aisec_ci.severity import Severity

UNPINNED_BASE = Rule(
    id="docker/unpinned-base-image",
    name="Base image without a version tag",
    short_description="`FROM` names an image with no tag or with `latest`.",
    severity=Severity.MEDIUM,
    what="Reports `FROM` instructions whose image has no tag and no digest, or uses the `latest` tag "
    "(after substituting `ARG` defaults).",
    why="An untagged base image changes under you: every rebuild may pull a different operating system, "
    "CUDA or Python version, and a compromised or broken `latest` push reaches your serving image without "
    "any change in your repository. Builds are not reproducible and reviews cannot see what was shipped.",
    example="FROM pytorch/pytorch\nFROM python:latest",
    example_language="dockerfile",
    fix="Name an exact version tag (`FROM python:3.11.9-slim-bookworm`), and better also its digest "
    "(`FROM python:3.11.9-slim-bookworm@sha256:...`).",
    tags=("CWE-1357", "CWE-494", "supply-chain"),
    precision="very-high",
    references=("https://docs.docker.com/reference/dockerfile/#from",),
)

BASE_NOT_DIGEST_PINNED = Rule(
    id="docker/base-image-not-digest-pinned",
    profile="strict",
    name="Base image not pinned by digest",
    short_description="`FROM` uses a tag but no `@sha256:` digest.",
    severity=Severity.LOW,
    what="Reports `FROM` instructions of external images that carry a tag but no `@sha256:` digest. "
    "Images listed in the `digest_exempt_images` option are not reported.",
    why="Tags are mutable: the publisher (or anyone who takes over the account) can point `2.3.0-cuda12.1` "
    "at different content. A digest names exactly the bytes you reviewed, so a re-pushed or tampered tag "
    "cannot slip into a rebuild.",
    example="FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04",
    example_language="dockerfile",
    fix="Append the digest of the image you tested (`docker buildx imagetools inspect IMAGE`) and let a bot "
    "such as Dependabot or Renovate update it: `FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04@sha256:<digest>`.",
    tags=("CWE-494", "supply-chain"),
    precision="very-high",
)

FULL_BASE = Rule(
    id="docker/full-base-image",
    profile="strict",
    name="Full or development base image in the final stage",
    short_description="The shipped stage starts from a `-devel`, toolchain or non-slim image.",
    severity=Severity.LOW,
    what="Reports a final stage that starts a service (it has `CMD` or `ENTRYPOINT`) whose base image is a "
    "development image (`nvidia/cuda:*-devel*`, "
    "`pytorch/pytorch:*-devel`), a compiler toolchain (`golang`, `rust`, `gcc`, `maven`, `buildpack-deps`) "
    "or a full `python`/`node` image where a `-slim` or `-alpine` variant exists.",
    why="Development images carry compilers, headers and hundreds of packages the model server never uses: "
    "gigabytes more to pull on every GPU node, and many more packages with CVEs and tools (compilers, "
    "`git`, `curl`) an attacker who gets code execution can use.",
    example='FROM nvidia/cuda:12.1.0-cudnn8-devel-ubuntu22.04\nCOPY model/ /srv/model\nCMD ["python3", "serve.py"]',
    example_language="dockerfile",
    fix="Build in a `-devel` stage and copy the artefacts into a `-runtime` (CUDA), `-slim` or distroless stage:\n\n"
    "```dockerfile\nFROM nvidia/cuda:12.1.0-cudnn8-devel-ubuntu22.04 AS build\n...\n"
    "FROM nvidia/cuda:12.1.0-cudnn8-runtime-ubuntu22.04\nCOPY --from=build /opt/venv /opt/venv\n```",
    tags=("CWE-1104", "attack-surface"),
    precision="high",
)

DISALLOWED_REGISTRY = Rule(
    id="docker/disallowed-registry",
    name="Base image from a registry outside the allowed list",
    short_description="`FROM` pulls from a registry that the `allowed_registries` option does not list.",
    severity=Severity.MEDIUM,
    what="When the `allowed_registries` option is set, reports `FROM` instructions whose image comes from "
    "another registry (images without a registry come from `docker.io`). Without the option the rule "
    "reports nothing.",
    why="Teams restrict base images to registries they mirror and scan (`nvcr.io`, an internal registry). "
    "An image from anywhere else skips that review, and typosquatted images on public registries are a "
    "known way to ship miners and backdoors.",
    example="# .aisec.yml: scanners: {docker: {allowed_registries: [nvcr.io, ghcr.io/acme]}}\n"
    "FROM someuser/pytorch-cuda:latest",
    example_language="dockerfile",
    fix="Use an image from an allowed registry, or add the registry to `allowed_registries` after review.",
    tags=("CWE-829", "supply-chain"),
    precision="very-high",
)

RULES = (UNPINNED_BASE, BASE_NOT_DIGEST_PINNED, FULL_BASE, DISALLOWED_REGISTRY)

# Images that are a compiler toolchain whatever their tag.
_TOOLCHAIN_IMAGES = frozenset({"golang", "rust", "gcc", "maven", "gradle", "buildpack-deps", "openjdk"})
# Images with a slim/alpine variant that a runtime stage should use.
_SLIMMABLE_IMAGES = frozenset({"python", "node"})
_SLIM_MARKERS = ("slim", "alpine", "distroless", "minimal", "chiseled", "runtime")


def external_image(stage: Stage) -> ImageRef | None:
    """The stage's base image when it is an external, resolved, non-scratch image."""
    if stage.parent is not None or stage.unresolved or stage.base.lower() == "scratch":
        return None
    return parse_image(stage.base)


def check(ctx: DockerContext) -> Iterator[Finding]:
    df = ctx.dockerfile
    allowed = [str(r) for r in ctx.options.get("allowed_registries") or []]
    exempt = [str(p) for p in ctx.options.get("digest_exempt_images") or []]
    for stage in df.stages:
        image = external_image(stage)
        if image is None:
            continue
        line = stage.from_instruction.start_line
        shown = stage.base
        unpinned = image.digest is None and (image.tag is None or image.tag == "latest")
        if unpinned:
            why = "no tag" if image.tag is None else "the `latest` tag"
            yield ctx.finding(
                UNPINNED_BASE,
                line,
                f"Base image `{shown}` has {why}; pin an exact version.",
                key=f"unpinned:{stage.index}:{image.short}",
                properties={"image": shown, "stage": stage.index},
            )
        elif image.digest is None and not image.matches(exempt):
            yield ctx.finding(
                BASE_NOT_DIGEST_PINNED,
                line,
                f"Base image `{shown}` is pinned by tag only; add its `@sha256:` digest.",
                key=f"digest:{stage.index}:{image.short}",
                properties={"image": shown, "stage": stage.index},
            )
        if allowed and not registry_allowed(image, allowed):
            yield ctx.finding(
                DISALLOWED_REGISTRY,
                line,
                f"Base image `{shown}` comes from `{image.registry}`, which is not in `allowed_registries`.",
                key=f"registry:{stage.index}:{image.full_name}",
                properties={"image": shown, "registry": image.registry},
            )
    final = df.final_stage
    if final is not None and ctx.final_runs_service:
        root = df.root_base(final)
        image = external_image(root)
        if image is not None:
            reason = heavy_base_reason(image)
            if reason:
                yield ctx.finding(
                    FULL_BASE,
                    final.from_instruction.start_line,
                    f"The final stage is built on `{root.base}`, {reason}; ship a slim or runtime image instead.",
                    key=f"full-base:{image.short}",
                    properties={"image": root.base},
                )


def heavy_base_reason(image: ImageRef) -> str:
    """Why `image` is too heavy for a shipped stage, or '' when it is fine."""
    tag = (image.tag or "").lower()
    if "devel" in tag.split("-") or "-devel" in tag or tag.startswith("devel") or image.name.startswith("dev-"):
        # CUDA/PyTorch/TensorFlow `-devel` tags and ROCm's `rocm/dev-*` repositories.
        return "a development image (compilers and headers included)"
    if image.name in _TOOLCHAIN_IMAGES and image.registry == "docker.io" and image.repository.startswith("library/"):
        return "a compiler toolchain image"
    if (
        image.name in _SLIMMABLE_IMAGES
        and image.repository.startswith("library/")
        and not any(m in tag for m in _SLIM_MARKERS)
    ):
        return "a full image with a slim variant available"
    return ""
