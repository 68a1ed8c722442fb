"""Actions and container images not pinned to an immutable reference (G4, G17)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.workflows.loader import Node
from aisec_ci.scanners.workflows.model import FIRST_PARTY_OWNERS, UsesRef, WorkflowDoc
from aisec_ci.severity import Severity

UNPINNED_ACTION = Rule(
    id="workflows/unpinned-action",
    name="Action not pinned to a commit SHA",
    short_description="A `uses:` reference points at a tag or branch instead of a full commit SHA.",
    severity=Severity.MEDIUM,
    what="Reports `uses:` references to actions and reusable workflows in other repositories that are not "
    "pinned to a full 40-character commit SHA. Branches (`@main`) are high, tags of third-party actions "
    "medium, GitHub's own `actions/*` and `github/*` low (on a release tag, in the strict profile). "
    "Local actions (`./...`) are exempt, and owners "
    "listed in `allowed_unpinned_owners` are skipped.",
    why="Tags and branches are mutable: whoever controls the action's repository (or steals its maintainer's "
    "token) can move them to malicious code, and every workflow using them runs it on the next build with "
    "its secrets. This happened to `tj-actions/changed-files` in March 2025, whose retagged versions dumped "
    "CI secrets into public logs.",
    example="- uses: tj-actions/changed-files@v45",
    example_language="yaml",
    fix="Pin to the full commit SHA of the release and keep the tag as a comment so tools such as Dependabot "
    "can update it: `uses: tj-actions/changed-files@<40-hex-sha>  # v45.0.8`.",
    tags=("CWE-829", "CWE-494", "supply-chain", "ci"),
    precision="very-high",
    references=(
        "https://docs.github.com/en/actions/security-for-github-actions/security-guides/"
        "security-hardening-for-github-actions#using-third-party-actions",
    ),
)

UNPINNED_IMAGE = Rule(
    id="workflows/unpinned-image",
    profile="strict",
    name="Container image not pinned by digest",
    short_description="A job container, service or `docker://` action uses an image without `@sha256:`.",
    severity=Severity.LOW,
    what="Reports images in `container:`, `services:`, `uses: docker://...` and Docker action metadata that "
    "are not pinned by digest. A missing tag or `latest` is medium, a version tag low.",
    why="An image tag can be re-pushed. The job then runs whatever the registry serves today, with the job's "
    "secrets and token mounted, and the build is not reproducible.",
    example="jobs:\n  test:\n    container: pytorch/pytorch:latest",
    example_language="yaml",
    fix="Pin by digest and keep the tag for readers: `pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime@sha256:<digest>`.",
    tags=("CWE-829", "CWE-494", "supply-chain", "ci"),
    precision="very-high",
)

RULES = (UNPINNED_ACTION, UNPINNED_IMAGE)

_VERSION = re.compile(r"^v?\d+(?:\.\d+)*(?:[-+.][0-9A-Za-z.\-+]+)?$")
_HEX = re.compile(r"^[0-9a-f]{7,40}$")


def check(doc: WorkflowDoc) -> Iterator[Finding]:
    allowed = [p.lower() for p in doc.options.get("allowed_unpinned_owners", ())]
    for step in doc.all_steps():
        uses_node = step.node.get("uses")
        uses = step.uses
        if uses is None or uses_node is None:
            continue
        where = f"step '{step.name}'" + (f" (job `{step.job.id}`)" if step.job is not None else "")
        if uses.kind == "repo":
            yield from _action(doc, uses_node, uses, where, allowed)
        elif uses.kind == "docker":
            yield from _image(doc, uses_node, uses.image, where)
    for job in doc.jobs:
        uses_node = job.node.get("uses")
        uses = job.uses
        if uses is not None and uses_node is not None and uses.kind == "repo":
            yield from _action(doc, uses_node, uses, f"job `{job.id}`", allowed)
        container = job.node.get("container")
        if container is not None:
            yield from _image_node(doc, container, f"container of job `{job.id}`")
        services = job.node.get("services")
        if services is not None and services.is_map:
            for name, _, svc in services.entries():
                yield from _image_node(doc, svc, f"service `{name}` of job `{job.id}`")
    if doc.is_action:
        runs = doc.root.get("runs")
        image = runs.get("image") if runs is not None else None
        if image is not None and image.is_scalar and image.value.lower().startswith("docker://"):
            yield from _image(doc, image, image.value[len("docker://") :], "the action's `runs.image`")


def _allowed(uses: UsesRef, patterns: list[str]) -> bool:
    for pattern in patterns:
        target = uses.owner.lower() if "/" not in pattern else uses.action
        if fnmatch.fnmatchcase(target, pattern) or ("/" in pattern and fnmatch.fnmatchcase(uses.slug, pattern)):
            return True
    return False


def _action(doc: WorkflowDoc, node: Node, uses: UsesRef, where: str, allowed: list[str]) -> Iterator[Finding]:
    if uses.pinned_to_sha or "${{" in uses.raw or _allowed(uses, allowed):
        return
    first_party = uses.owner.lower() in FIRST_PARTY_OWNERS
    ref = uses.ref
    if not ref:
        severity, how = Severity.HIGH, "has no ref at all"
    elif _HEX.match(ref.lower()):
        severity, how = Severity.MEDIUM, f"is pinned to an abbreviated SHA `{ref}`, which can be made ambiguous"
    elif _VERSION.match(ref):
        severity, how = Severity.MEDIUM, f"is pinned to the tag `{ref}`, which can be moved"
    else:
        severity, how = Severity.HIGH, f"follows `{ref}`, which looks like a branch that changes with every push"
    if first_party:
        severity = Severity.LOW
    kind = "reusable workflow" if uses.is_reusable_workflow else "action"
    finding = doc.finding(
        UNPINNED_ACTION,
        node,
        f"The {kind} `{uses.raw}` in {where} {how}; pin it to a full commit SHA.",
        severity=severity,
        key=f"{uses.raw}:{where}",
        properties={"action": uses.action, "ref": ref, "first_party": first_party},
    )
    # GitHub's own actions on a release tag are hygiene, not an exposure a maintainer acts on
    # first: the strict profile reports them (a first-party branch ref stays in the default one).
    yield finding.evolve(profile="strict") if first_party and ref and _VERSION.match(ref) else finding


def _image_node(doc: WorkflowDoc, node: Node, where: str) -> Iterator[Finding]:
    image = node if node.is_scalar else node.get("image")
    if image is None or not image.is_scalar:
        return
    yield from _image(doc, image, image.value, where)


def _image(doc: WorkflowDoc, node: Node, image: str, where: str) -> Iterator[Finding]:
    image = image.strip()
    if not image or "@sha256:" in image or "${{" in image:
        return
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if not tag or tag == "latest":
        severity, how = Severity.MEDIUM, "has no tag" if not tag else "uses `latest`"
    else:
        severity, how = UNPINNED_IMAGE.severity, f"is pinned to the tag `{tag}` only"
    yield doc.finding(
        UNPINNED_IMAGE,
        node,
        f"Image `{image}` ({where}) {how}; pin it by digest (`@sha256:...`).",
        severity=severity,
        key=f"{image}:{where}",
        properties={"image": image},
    )
