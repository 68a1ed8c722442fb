"""How credentials reach jobs: persisted checkout tokens, inherited and unscoped secrets, literal
registry passwords (G7, G9, G10, G15)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.workflows.expressions import all_refs, find_expressions
from aisec_ci.scanners.workflows.loader import Node, is_false
from aisec_ci.scanners.workflows.model import Job, WorkflowDoc
from aisec_ci.severity import Severity

PERSIST_CREDENTIALS = Rule(
    id="workflows/persist-credentials",
    profile="strict",
    name="Checkout leaves the token in .git/config",
    short_description="`actions/checkout` without `persist-credentials: false` writes the job token to disk.",
    severity=Severity.LOW,
    what="Reports `actions/checkout` steps that do not set `persist-credentials: false`. Medium when the same "
    "job uploads the workspace (or a `.git` directory) as an artifact.",
    why="By default checkout stores the token in `.git/config` for the rest of the job. Every later step, "
    "including third-party actions and build scripts, can read it, and uploading the checkout directory as "
    "an artifact publishes it (the 'ArtiPACKED' leak).",
    example="- uses: actions/checkout@v4",
    example_language="yaml",
    fix="Add `with: persist-credentials: false`. A step that must push can pass the token explicitly "
    "(`git push https://x-access-token:${GH_TOKEN}@github.com/...`) or re-enable it for that job alone.",
    tags=("CWE-522", "CWE-200", "ci"),
    precision="high",
    references=("https://unit42.paloaltonetworks.com/github-repo-artifacts-leak-tokens/",),
)

SECRETS_INHERIT = Rule(
    id="workflows/secrets-inherit",
    name="All secrets passed to a called workflow",
    short_description="`secrets: inherit` hands every repository and organisation secret to a reusable workflow.",
    severity=Severity.MEDIUM,
    what="Reports jobs that call a reusable workflow with `secrets: inherit`. Low for a workflow in the same "
    "repository, medium for one in another repository.",
    why="The called workflow receives every secret the caller can see, not the one or two it needs. A change "
    "in that workflow, or in any action it uses, can read them all: cloud keys, registry and model hub tokens.",
    example="jobs:\n  publish:\n    uses: org/shared/.github/workflows/publish.yml@main\n    secrets: inherit",
    example_language="yaml",
    fix="Pass the secrets the workflow declares, by name: `secrets: {PYPI_TOKEN: ${{ secrets.PYPI_TOKEN }}}`.",
    tags=("CWE-200", "CWE-272", "ci"),
    precision="very-high",
)

SECRETS_OUTSIDE_ENV = Rule(
    id="workflows/secrets-outside-env",
    profile="strict",
    name="Secrets used without a deployment environment",
    short_description="A job reads repository secrets but declares no `environment:`.",
    severity=Severity.LOW,
    what="Reports jobs that reference `secrets.*` (other than `GITHUB_TOKEN`) without an `environment:`. "
    "Off by default: it is a hardening recommendation that most repositories do not follow yet.",
    why="Repository secrets are readable by every job of every workflow on every branch. Environment secrets "
    "are released only to jobs that name the environment, and environments can require reviewers and limit "
    "which branches may deploy, so a workflow edit on a feature branch cannot exfiltrate the publish token "
    "(PyPI, Hugging Face, cloud keys).",
    example="jobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - run: huggingface-cli upload org/model ./out --token ${{ secrets.HF_TOKEN }}",
    example_language="yaml",
    fix="Move the secret to an environment (`environment: release`) with protection rules and reference it "
    "from the job that declares that environment.",
    tags=("CWE-272", "ci"),
    precision="medium",
)

HARDCODED_CONTAINER_CREDENTIALS = Rule(
    id="workflows/hardcoded-container-credentials",
    name="Registry password written into the workflow",
    short_description="`container:`/`services:` credentials hold a literal password instead of a secret.",
    severity=Severity.HIGH,
    what="Reports `credentials.password` of a job container or service that is a literal value rather than "
    "a `${{ secrets.* }}` expression.",
    why="The workflow file is readable by everyone who can read the repository (everyone, if it is public), "
    "so the registry account is exposed along with every image it can push.",
    example="container:\n  image: ghcr.io/org/trainer:1.0\n  credentials:\n    username: bot\n    password: hunter2",
    example_language="yaml",
    fix="Store the password as a secret and use `password: ${{ secrets.REGISTRY_PASSWORD }}`; rotate the exposed one.",
    tags=("CWE-798", "ci"),
    precision="very-high",
)

OVERPROVISIONED_SECRETS = Rule(
    id="workflows/overprovisioned-secrets",
    name="Whole secrets context exposed",
    short_description="`toJSON(secrets)` or a computed `secrets[...]` index hands every secret to one step.",
    severity=Severity.MEDIUM,
    what="Reports expressions that serialise the whole `secrets` context (`toJSON(secrets)`) or index it "
    "with a computed key (`secrets[format('{0}_TOKEN', matrix.env)]`).",
    why="GitHub only injects and masks the secrets a workflow names. Serialising the context gives one "
    "step (and every process it starts) all repository and organisation secrets at once, and a computed "
    "index lets whoever controls the key read a secret the author never meant to expose.",
    example="- run: ./deploy.sh\n  env:\n    ALL_SECRETS: ${{ toJSON(secrets) }}",
    example_language="yaml",
    fix="Name each secret the step needs: `env: {HF_TOKEN: ${{ secrets.HF_TOKEN }}}`.",
    tags=("CWE-200", "CWE-272", "ci"),
    precision="very-high",
)

RULES = (
    PERSIST_CREDENTIALS,
    SECRETS_INHERIT,
    SECRETS_OUTSIDE_ENV,
    HARDCODED_CONTAINER_CREDENTIALS,
    OVERPROVISIONED_SECRETS,
)

_WHOLE_SECRETS = re.compile(r"\bsecrets\s*\)|\bsecrets\s*\[\s*(?!')", re.IGNORECASE)
_WHOLE_WORKSPACE = re.compile(r"^(?:\.|\./|\*|\./\*|\$\{\{\s*github\.workspace\s*\}\}/?)$|(?:^|/)\.git(?:/|$)")


def check(doc: WorkflowDoc) -> Iterator[Finding]:
    for step in doc.all_steps():
        uses = step.uses
        if uses is None or uses.kind != "repo" or uses.slug != "actions/checkout":
            continue
        if is_false(step.input("persist-credentials")):
            continue
        leaks = step.job is not None and step.index < _last_workspace_upload(step.job)
        yield doc.finding(
            PERSIST_CREDENTIALS,
            step.anchor(),
            f"Checkout step '{step.name}'"
            + (f" (job `{step.job.id}`)" if step.job is not None else "")
            + " keeps the token in .git/config"
            + ("; a later step uploads the workspace as an artifact" if leaks else "")
            + ". Set `persist-credentials: false`.",
            severity=Severity.MEDIUM if leaks else PERSIST_CREDENTIALS.severity,
            key=f"{doc.step_key(step)}:persist-credentials",
        )
    for job in doc.jobs:
        yield from _job(doc, job)
    yield from _overprovisioned(doc)


def _overprovisioned(doc: WorkflowDoc) -> Iterator[Finding]:
    for scalar in doc.root.scalars():
        if "secrets" not in scalar.value.lower():
            continue
        for expr in find_expressions(scalar.value):
            m = _WHOLE_SECRETS.search(expr.body)
            if m is None:
                continue
            yield doc.finding(
                OVERPROVISIONED_SECRETS,
                scalar,
                f"`${{{{ {expr.body} }}}}` exposes every secret of the repository to this step; "
                "name the secrets it needs instead.",
                key=f"overprovisioned:{expr.body}",
            )


def _last_workspace_upload(job: Job) -> int:
    """Index of the job's last step that uploads the checkout directory as an artifact, or -1.

    Computed once per job (cached on it) so that a job with many checkouts stays linear.
    """
    cached = job.cache.get("last_workspace_upload")
    if isinstance(cached, int):
        return cached
    last = -1
    for step in job.steps:
        uses = step.uses
        if uses is None or uses.kind != "repo" or uses.slug != "actions/upload-artifact":
            continue
        path = step.input("path")
        if path is not None and path.is_scalar:
            lines = [ln.strip() for ln in path.value.splitlines() if ln.strip() and not ln.strip().startswith("!")]
            if any(_WHOLE_WORKSPACE.search(ln) for ln in lines):
                last = step.index
    job.cache["last_workspace_upload"] = last
    return last


def _job(doc: WorkflowDoc, job: Job) -> Iterator[Finding]:
    secrets = job.node.get("secrets")
    uses = job.uses
    if secrets is not None and secrets.is_scalar and secrets.value.lower() == "inherit":
        local = uses is not None and uses.kind == "local"
        target = uses.raw if uses is not None else "the called workflow"
        yield doc.finding(
            SECRETS_INHERIT,
            secrets,
            f"Job `{job.id}` passes every secret to `{target}` with `secrets: inherit`; pass only the secrets "
            "it declares.",
            severity=Severity.LOW if local else SECRETS_INHERIT.severity,
            key=f"jobs.{job.id}:secrets-inherit",
        )
    for field_name in ("container", "services"):
        node = job.node.get(field_name)
        if node is None:
            continue
        holders = (
            [node] if field_name == "container" else [svc for _n, _k, svc in node.entries()] if node.is_map else []
        )
        for holder in holders:
            creds = holder.get("credentials") if holder.is_map else None
            password = creds.get("password") if creds is not None else None
            if password is not None and password.is_scalar and password.value and "${{" not in password.value:
                yield doc.finding(
                    HARDCODED_CONTAINER_CREDENTIALS,
                    password,
                    f"A literal registry password is set for the {field_name} of job `{job.id}`; use a secret.",
                    key=f"jobs.{job.id}:{field_name}:{holder.line}:password",
                    snippet="password: <redacted>",
                )
    # A job that calls a reusable workflow cannot declare an environment; the called jobs can.
    if job.node.get("environment") is None and uses is None:
        first = _first_secret(job)
        if first is not None:
            node, name = first
            yield doc.finding(
                SECRETS_OUTSIDE_ENV,
                node,
                f"Job `{job.id}` reads `secrets.{name}` without an `environment:`; repository secrets are "
                "available to every workflow on every branch.",
                key=f"jobs.{job.id}:secrets-outside-env",
                properties={"secret": name},
            )


def _first_secret(job: Job) -> tuple[Node, str] | None:
    for scalar in job.node.scalars():
        if "secrets." not in scalar.value.lower():
            continue
        for expr in find_expressions(scalar.value):
            for ref in all_refs(expr.body):
                if ref.startswith("secrets.") and ref != "secrets.github_token":
                    return scalar, ref.split(".", 1)[1].upper()
    return None
