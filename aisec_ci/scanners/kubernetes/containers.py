"""Container hygiene that PSS leaves out: resources and GPU limits (K12), image
tags (K17), secrets in env (K18) and NVIDIA_VISIBLE_DEVICES=all (K31). The
read-only root filesystem (K11) is one of the settings `restricted.py` lists."""

from __future__ import annotations

import re
from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.common.context import Context
from aisec_ci.scanners.kubernetes import secretvalues
from aisec_ci.scanners.kubernetes.podspecs import Container, PodSpec
from aisec_ci.severity import Severity
from aisec_ci.yamlfile.values import YList, YMap

RESOURCES = Rule(
    id="k8s/missing-resource-limits",
    profile="strict",
    name="Missing CPU/memory limits or mismatched GPU limits",
    short_description="A container lacks memory/CPU requests or limits, or requests GPUs without limits.",
    severity=Severity.LOW,
    what="Reports containers without `resources.limits.memory`, `resources.requests.cpu`/`memory`, and "
    "containers whose `nvidia.com/gpu` (or other extended resource) request differs from its limit (K12).",
    why="Without limits a model server that loads a bigger model or serves a burst of long prompts takes "
    "the node's memory and evicts its neighbours; that is a denial of service anyone with API access can cause.",
    example="resources:\n  requests:\n    nvidia.com/gpu: 1",
    example_language="yaml",
    fix="Set `requests` and `limits` for cpu and memory, and `limits['nvidia.com/gpu']` equal to the request.",
    tags=("CWE-400", "CWE-770"),
    precision="high",
)

IMAGE_TAG = Rule(
    id="k8s/image-latest-tag",
    name="Image uses :latest or no tag",
    short_description="The container image is not pinned to a version.",
    severity=Severity.MEDIUM,
    what="Reports container images without a tag or with `:latest`, and without a digest (K17).",
    why="A floating tag pulls whatever was pushed last: a compromised or broken upstream image reaches the "
    "cluster on the next restart, and what runs cannot be audited after the fact.",
    example="image: vllm/vllm-openai:latest",
    example_language="yaml",
    fix="Pin a version tag, better a digest: `image: vllm/vllm-openai:v0.6.0@sha256:...`.",
    tags=("CWE-494", "CWE-829"),
    precision="very-high",
)

IMAGE_DIGEST = Rule(
    id="k8s/image-not-pinned-by-digest",
    profile="strict",
    name="Image not pinned by digest",
    short_description="The image has a tag but no `@sha256:` digest.",
    severity=Severity.INFO,
    what="Reports tagged images without a digest (K17). Off by default: most repositories pin tags.",
    why="Tags are mutable; only a digest guarantees the bytes that were reviewed are the bytes that run.",
    example="image: nvcr.io/nvidia/tritonserver:24.05-py3",
    example_language="yaml",
    fix="Append the digest: `image: nvcr.io/nvidia/tritonserver:24.05-py3@sha256:...`.",
    tags=("CWE-494",),
    precision="very-high",
)

ENV_SECRET = Rule(
    id="k8s/secret-in-env",
    name="Credential written as a literal env value",
    short_description="An env var named like a token, key or password has a literal value in the manifest.",
    severity=Severity.HIGH,
    what="Reports `env[].value` literals for variables such as HF_TOKEN, AWS_SECRET_ACCESS_KEY, "
    "WANDB_API_KEY, OPENAI_API_KEY or *_PASSWORD (K18). The value is never printed.",
    why="The manifest is in git and readable by everyone who can `kubectl get pod -o yaml`; the token grants "
    "access to private models, datasets and cloud accounts.",
    example="env:\n- name: HF_TOKEN\n  value: hf_xxxxxxxxxxxxxxxxx",
    example_language="yaml",
    fix="Store it in a Secret (created outside git, or sealed/external) and use `valueFrom.secretKeyRef`.",
    tags=("CWE-798", "CWE-312"),
)

NVIDIA_ALL = Rule(
    id="k8s/nvidia-visible-devices-all",
    name="NVIDIA_VISIBLE_DEVICES=all in a workload",
    short_description="The container asks the NVIDIA runtime for every GPU on the node, bypassing the device plugin.",
    severity=Severity.MEDIUM,
    what="Reports `NVIDIA_VISIBLE_DEVICES=all` (or `NVIDIA_DRIVER_CAPABILITIES=all`) env vars (K31). Device "
    "plugins legitimately set it; allowlist those in config with a reason.",
    why="With the NVIDIA container runtime this env var exposes all GPUs of the node regardless of "
    "`nvidia.com/gpu` limits: the pod reads other tenants' GPU memory (weights, prompts) and gains the extra "
    "driver surface used by container-toolkit escapes (CVE-2024-0132 class).",
    example="env:\n- name: NVIDIA_VISIBLE_DEVICES\n  value: all",
    example_language="yaml",
    fix="Remove the variable and request GPUs with `resources.limits['nvidia.com/gpu']`; set "
    "`NVIDIA_DRIVER_CAPABILITIES` to `compute,utility` if needed.",
    tags=("CWE-668", "CWE-250"),
    precision="very-high",
)

ENV_SECRET_REF = Rule(
    id="k8s/secret-from-env",
    profile="audit",
    name="Secret exposed as an environment variable",
    short_description="`env[].valueFrom.secretKeyRef` puts a Secret into the process environment.",
    severity=Severity.INFO,
    what="Reports env vars filled from `secretKeyRef` (K18). Off by default: it is the usual way to pass "
    "HF_TOKEN and the like, and far better than a literal; mounting the Secret as a file is better still.",
    why="Environment variables are inherited by every child process, appear in crash dumps and debug "
    "endpoints, and are logged by some ML tooling (experiment trackers record the environment).",
    example="env:\n- name: HF_TOKEN\n  valueFrom:\n    secretKeyRef: {name: hf, key: token}",
    example_language="yaml",
    fix="Mount the Secret as a read-only volume and point the tool at the file (e.g. `HF_TOKEN_PATH`).",
    tags=("CWE-526",),
    precision="very-high",
)

RULES: tuple[Rule, ...] = (RESOURCES, IMAGE_TAG, IMAGE_DIGEST, ENV_SECRET, ENV_SECRET_REF, NVIDIA_ALL)

SECRET_ENV_RE = re.compile(
    r"(?i)(?:^|_)(?:token|secret|password|passwd|pwd|api_?key|access_?key|private_?key|credentials?|auth)(?:$|_)"
    r"|^(?:HF_TOKEN|HUGGING_FACE_HUB_TOKEN|HUGGINGFACEHUB_API_TOKEN|WANDB_API_KEY|OPENAI_API_KEY|"
    r"ANTHROPIC_API_KEY|AWS_SECRET_ACCESS_KEY|AZURE_CLIENT_SECRET|GITHUB_TOKEN)$"
)
# Names that match the pattern but hold no secret.
_NOT_SECRET_ENV_RE = re.compile(r"(?i)(?:_FILE|_PATH|_DIR|_URL|_URI|_HOST|_PORT|_NAME|_ID|_ENABLED|_TYPE|_MODE)$")
_PLACEHOLDER_RE = re.compile(r"^(?:\$\(.*\)|\$\{.*\}|<.*>|changeme|xxx+|\*+|dummy|example|none|null|true|false)$", re.I)


# Words that mark an image reference as a slot filled at deploy time (kustomize `images:`,
# an operator flag, `make deploy IMG=...`), not an image that is pulled as written.
_PLACEHOLDER_IMAGE_WORDS_RE = re.compile(
    r"(?i)overridden|override[-_]?me|placeholder|replace[-_]?me|changeme|change[-_]me|your[-_]?(?:image|registry|repo)"
)


def is_placeholder_image(image: str) -> bool:
    """`${IMAGE}`, `$(IMG)`, `<image>`, `IMAGE_PLACEHOLDER`, `.../should-be-overridden-during-runtime`.

    Registries only accept lower-case repository names, so an upper-case letter before the
    tag means the value is a variable name that something substitutes, never a pullable image."""
    if any(ch in image for ch in "<>${}"):
        return True
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    repo = name[: len(name) - len(last)] + last.split(":", 1)[0]
    # The registry host may legitimately hold upper case (it is a DNS name): only the path counts.
    path = (
        repo.split("/", 1)[1]
        if "/" in repo and ("." in repo.split("/", 1)[0] or ":" in repo.split("/", 1)[0])
        else repo
    )
    if path != path.lower():
        return True
    return _PLACEHOLDER_IMAGE_WORDS_RE.search(repo) is not None


def _image_reference_problem(image: str) -> str | None:
    """'latest', 'untagged', 'no-digest' or None."""
    if "@" in image or image.startswith("ko://"):
        # `ko://<import path>` is not an image: ko builds it and writes the digest in at release.
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "untagged"
    tag = last.rsplit(":", 1)[1]
    if tag == "latest":
        return "latest"
    return "no-digest"


def _resources(c: Container) -> tuple[YMap | None, YMap | None, YMap | None]:
    res = c.doc.get("resources")
    if not isinstance(res, YMap):
        return None, None, None
    req = res.get("requests")
    lim = res.get("limits")
    return res, req if isinstance(req, YMap) else None, lim if isinstance(lim, YMap) else None


def _same_quantity(a: Any, b: Any) -> bool:
    return str(a).strip() == str(b).strip()


def check(pod: PodSpec, ctx: Context) -> None:
    for c in pod.containers:
        with ctx.fragment(c.runtime_supplied):
            _check_one(ctx, pod, c)


def _check_one(ctx: Context, pod: PodSpec, c: Container) -> None:
    m = pod.manifest
    key = f"{pod.path}/{c.name}"
    who = c.label
    image = c.image
    cline = c.line
    if image and not is_placeholder_image(image):
        problem = _image_reference_problem(image)
        iline = c.doc.line_of("image")
        if problem in ("latest", "untagged"):
            what = "uses the :latest tag" if problem == "latest" else "has no tag (pulls :latest)"
            ctx.report(IMAGE_TAG, iline, f"{who} image {image} {what}", key=f"{key}:image-tag", manifest=m, image=image)
        elif problem == "no-digest":
            ctx.report(
                IMAGE_DIGEST,
                iline,
                f"{who} image {image} is not pinned by digest",
                key=f"{key}:image-digest",
                manifest=m,
                image=image,
            )

    if c.group not in ("initContainers", "ephemeralContainers"):
        _check_resources(ctx, pod, c, key, who, cline)
    _check_env(ctx, pod, c, key, who)


def _check_resources(ctx: Context, pod: PodSpec, c: Container, key: str, who: str, cline: int) -> None:
    m = pod.manifest
    res, req, lim = _resources(c)
    missing = []
    if lim is None or "memory" not in lim:
        missing.append("limits.memory")
    if req is None or "memory" not in req:
        missing.append("requests.memory")
    if req is None or "cpu" not in req:
        missing.append("requests.cpu")
    if missing:
        line = res.line if res is not None else cline
        ctx.report(
            RESOURCES,
            line,
            f"{who} sets no {', '.join(missing)}",
            key=f"{key}:resources",
            manifest=m,
            image=c.image,
            absent=True,
        )
    # Extended resources (GPUs) cannot overcommit: a request without the same limit is rejected
    # or, worse, the limit alone silently sets the request. Flag any mismatch.
    extended = {k for src in (req, lim) if src is not None for k in src if "/" in k}
    for name in sorted(extended):
        r = req.get(name) if req is not None else None
        li = lim.get(name) if lim is not None else None
        if r is not None and li is not None and _same_quantity(r, li):
            continue
        if r is None and li is not None:
            continue  # the API server defaults the request to the limit
        where = req if req is not None else lim
        line = where.line_of(name) if where is not None else cline
        limit_text = f"its limit is {li}" if li is not None else "sets no limit for it"
        ctx.report(
            RESOURCES,
            line,
            f"{who} requests {name}: {r} but {limit_text}",
            key=f"{key}:extended:{name}",
            manifest=m,
            image=c.image,
        )


def _check_env(ctx: Context, pod: PodSpec, c: Container, key: str, who: str) -> None:
    m = pod.manifest
    env = c.doc.get("env")
    if not isinstance(env, YList):
        return
    for item in env:
        if not isinstance(item, YMap):
            continue
        name = item.get("name")
        if not isinstance(name, str):
            continue
        value = item.get("value")
        line = item.line_of("value") if "value" in item else item.line_of("name")
        value_from = item.get("valueFrom")
        if isinstance(value_from, YMap) and isinstance(value_from.get("secretKeyRef"), YMap):
            ctx.report(
                ENV_SECRET_REF,
                item.line_of("valueFrom"),
                f"{who} reads Secret into env var {name}",
                key=f"{key}:envref:{name}",
                manifest=m,
                image=c.image,
            )
            continue
        if name in ("NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES") and str(value).strip().lower() == "all":
            ctx.report(NVIDIA_ALL, line, f"{who} sets {name}=all", key=f"{key}:env:{name}", manifest=m, image=c.image)
            continue
        if (
            isinstance(value, str)
            and value.strip()
            and SECRET_ENV_RE.search(name)
            and not _NOT_SECRET_ENV_RE.search(name)
            and not _PLACEHOLDER_RE.match(value.strip())
        ):
            verdict = secretvalues.judge(name, value, ctx.file.path, ENV_SECRET.severity)
            if verdict.severity is None:
                continue
            note = f" ({verdict.reason})" if verdict.reason else ""
            ctx.report(
                ENV_SECRET,
                line,
                f"{who} sets {name} to a literal value in the manifest{note}",
                severity=verdict.severity,
                key=f"{key}:env:{name}",
                manifest=m,
                image=c.image,
                snippet=f"- name: {name}  value: <redacted>",
            )
