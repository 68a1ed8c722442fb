"""GITHUB_TOKEN permissions: defaults, write-all, broad workflow-level grants, OIDC (G5, G27)."""

from __future__ import annotations

from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.workflows.loader import Node
from aisec_ci.scanners.workflows.model import PRIVILEGED_TRIGGERS, WorkflowDoc
from aisec_ci.scanners.workflows.token_use import Use, scope_use
from aisec_ci.severity import Severity

MISSING_PERMISSIONS = Rule(
    id="workflows/missing-permissions",
    name="Workflow uses the default token permissions",
    short_description="No `permissions:` block, so jobs get the repository's default (often read-write) token.",
    severity=Severity.MEDIUM,
    what="Reports a workflow with no top-level `permissions:` in which at least one job sets none either. "
    "Reusable workflows that only run through `workflow_call` are skipped (the caller's permissions apply); "
    "for one that also has other triggers, the message says the default applies only on those.",
    why="Without a block, `GITHUB_TOKEN` gets the repository or organisation default, which is read-write on "
    "everything for repositories created before February 2023. Any compromised step, action or dependency "
    "can then push code, create releases or approve pull requests.",
    example="on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test",
    example_language="yaml",
    fix="Add `permissions: {}` (or `contents: read`) at the top of the workflow and grant write scopes to the "
    "single job that needs each of them.",
    tags=("CWE-250", "CWE-272", "ci"),
    precision="high",
)

EXCESSIVE_PERMISSIONS = Rule(
    id="workflows/excessive-permissions",
    name="Token permissions broader than needed",
    short_description="`write-all`, or write scopes granted to every job at the workflow level.",
    severity=Severity.MEDIUM,
    what="Reports `permissions: write-all` (high) anywhere, and write scopes set at the workflow level of a "
    "workflow with several jobs, where every job inherits them (medium; high under privileged triggers such "
    "as `pull_request_target`). A scope that every inheriting job visibly writes with (`actions/stale` in each "
    "job, `gh issue edit`, `git push` for contents) is not reported: there is no job to take it from.",
    why="The token is available to every step of every job it is granted to, including third-party actions "
    "and build tools. A write scope that one job needs should not be handed to the lint, test and docs jobs "
    "as well.",
    example="permissions: write-all",
    example_language="yaml",
    fix="Set `permissions: contents: read` at the top and move each write scope to the job that needs it.",
    tags=("CWE-250", "CWE-272", "ci"),
    precision="high",
)

ID_TOKEN_WORKFLOW_LEVEL = Rule(
    id="workflows/id-token-workflow-level",
    name="OIDC token granted to every job",
    short_description="`id-token: write` at the workflow level lets every job mint cloud credentials.",
    severity=Severity.MEDIUM,
    what="Reports `id-token: write` in the workflow-level `permissions:` block (and in jobs of workflows "
    "with privileged triggers such as `pull_request_target`).",
    why="With `id-token: write` a job can request an OIDC token and exchange it for cloud credentials "
    "(AWS, GCP, Azure, PyPI trusted publishing, Hugging Face, model registries). Granted at the top, every job "
    "and every action in it can do so, not just the publish or deploy job the cloud trust policy was "
    "written for.",
    example="permissions:\n  id-token: write\n  contents: read",
    example_language="yaml",
    fix="Grant `id-token: write` only in the job that authenticates to the cloud or publishes, and restrict the "
    "cloud side's trust policy to that workflow, branch and environment (`sub` claim).",
    tags=("CWE-250", "CWE-272", "ci"),
    precision="very-high",
)

UNUSED_WRITE_PERMISSION = Rule(
    id="workflows/unused-write-permission",
    name="Write scope granted to a job that cannot use it",
    short_description="A workflow-level write scope (`contents: write` ...) whose only job never uses the token.",
    severity=Severity.MEDIUM,
    what="Reports write scopes in the workflow-level `permissions:` of a single-job workflow when that job "
    "cannot use them: its steps are scripts that neither name the token (`secrets.GITHUB_TOKEN`, "
    "`github.token`) nor run `gh` or `git push`, and actions known not to write with it (checkout, setup, "
    "cache and artifact actions), or actions known to write other scopes only (`actions/stale` writes issues "
    "and pull requests, not contents). Jobs with an unknown action, a local action or a reusable workflow are "
    "given the benefit of the doubt. Workflows with several jobs are covered by "
    "`workflows/excessive-permissions`.",
    why="A write scope nobody uses is pure risk: a compromised dependency, build tool or action in the job "
    "gets a token that can push commits, cut releases or edit issues, for no benefit. These blocks are "
    "usually copied from another workflow and outlive the step that needed them.",
    example="on: pull_request\npermissions:\n  contents: write\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - uses: actions/checkout@v4\n      - run: pytest -q",
    example_language="yaml",
    fix="Lower the scope to `read` (or remove it); if a later change needs to write, grant the scope in the job "
    "that does it.",
    tags=("CWE-250", "CWE-272", "ci"),
    precision="high",
)

RULES = (MISSING_PERMISSIONS, EXCESSIVE_PERMISSIONS, ID_TOKEN_WORKFLOW_LEVEL, UNUSED_WRITE_PERMISSION)


def check(doc: WorkflowDoc) -> Iterator[Finding]:
    if doc.is_action or not doc.jobs:
        return
    privileged = sorted(doc.triggers.keys() & PRIVILEGED_TRIGGERS)
    top = doc.root.get("permissions")
    if top is None:
        bare = [job for job in doc.jobs if job.node.get("permissions") is None]
        if bare and not doc.only_workflow_call:
            first = next(iter(doc.root.pairs.values()))[0]
            names = ", ".join(f"`{j.id}`" for j in bare[:5]) + (" ..." if len(bare) > 5 else "")
            runs = "run with the repository's default token permissions"
            if "workflow_call" in doc.triggers:
                # Called, the workflow gets its caller's token; only its other triggers use the default.
                others = ", ".join(sorted(t for t in doc.triggers if t != "workflow_call"))
                runs = (
                    f"inherit the caller's token permissions when called through `workflow_call`, but on {others} "
                    "they run with the repository's default token permissions"
                )
            yield doc.finding(
                MISSING_PERMISSIONS,
                first,
                f"No `permissions:` block: job(s) {names} {runs}; "
                "add `permissions: contents: read` at the top and grant writes per job.",
                key="missing-permissions",
                properties={"jobs": [j.id for j in bare]},
            )
    else:
        yield from _block(doc, top, None, privileged)
    for job in doc.jobs:
        perms = job.node.get("permissions")
        if perms is not None:
            yield from _block(doc, perms, job.id, privileged)


def _block(doc: WorkflowDoc, perms: Node, job: str | None, privileged: list[str]) -> Iterator[Finding]:
    where = "at the workflow level" if job is None else f"in job `{job}`"
    scope_key = "workflow" if job is None else f"jobs.{job}"
    if perms.is_scalar:
        if perms.value.lower() == "write-all":
            yield doc.finding(
                EXCESSIVE_PERMISSIONS,
                perms,
                f"`permissions: write-all` {where} gives the token write access to every scope, "
                "including `id-token`; list only the scopes the job needs.",
                severity=Severity.HIGH,
                key=f"{scope_key}:write-all",
            )
        return
    if not perms.is_map:
        return
    for name, key, value in perms.entries():
        level = value.value.lower() if value.is_scalar else ""
        if name.lower() == "id-token" and level == "write" and (job is None or privileged):
            detail = (
                "every job can mint OIDC tokens for cloud credentials"
                if job is None
                else f"the workflow runs on {', '.join(privileged)}, which outsiders can trigger"
            )
            yield doc.finding(
                ID_TOKEN_WORKFLOW_LEVEL,
                key,
                f"`id-token: write` {where}: {detail}; grant it only to the job that authenticates or publishes.",
                severity=Severity.HIGH if privileged else ID_TOKEN_WORKFLOW_LEVEL.severity,
                key=f"{scope_key}:id-token",
            )
            continue
        if job is not None or level != "write":
            continue
        inheriting = [j for j in doc.jobs if j.node.get("permissions") is None]
        if len(doc.jobs) == 1 and inheriting and scope_use(doc, inheriting[0], name.lower()) is Use.NO:
            yield doc.finding(
                UNUSED_WRITE_PERMISSION,
                key,
                f"`{name}: write` is granted at the workflow level, but its only job `{inheriting[0].id}` never uses "
                "the token for it (no step names the token, runs `gh` or `git push`, or uses an action that writes "
                f"{name}); set it to `read`.",
                severity=Severity.HIGH if privileged else UNUSED_WRITE_PERMISSION.severity,
                key=f"{scope_key}:{name}:unused",
            )
            continue
        if inheriting and all(scope_use(doc, j, name.lower()) is Use.WRITES for j in inheriting):
            continue  # every job that gets the scope visibly writes with it (`actions/stale` in each ...)
        if len(doc.jobs) > 1:
            yield doc.finding(
                EXCESSIVE_PERMISSIONS,
                key,
                f"`{name}: write` is granted at the workflow level, so all {len(doc.jobs)} jobs get it; "
                "move it to the job that needs it.",
                severity=Severity.HIGH if privileged else EXCESSIVE_PERMISSIONS.severity,
                key=f"{scope_key}:{name}",
            )
