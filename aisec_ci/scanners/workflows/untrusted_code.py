"""Privileged triggers and pull request code run under them (G2, G3: "pwn requests")."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.workflows.expressions import all_refs, find_expressions
from aisec_ci.scanners.workflows.model import Job, Step, WorkflowDoc
from aisec_ci.severity import Severity

DANGEROUS_TRIGGER = Rule(
    id="workflows/dangerous-trigger",
    name="Privileged trigger reachable from forks",
    short_description="`pull_request_target` or `workflow_run` runs with secrets on events outsiders cause.",
    severity=Severity.LOW,
    what="Reports workflows triggered by `pull_request_target` or `workflow_run`. Both run in the context "
    "of the base repository, with its secrets and a token that can write, in reaction to a pull request "
    "from any fork.",
    why="These triggers are safe only while no step touches the pull request's code, artifacts or text. "
    "One later edit (a checkout of the head, a build, an expanded title) turns the workflow into a way for "
    "anyone to steal secrets. This is a review marker; `workflows/untrusted-checkout` and "
    "`workflows/template-injection` report the concrete mistakes.",
    example="on:\n  pull_request_target:\n    types: [labeled]",
    example_language="yaml",
    fix="Use `pull_request` (no secrets, read-only token) unless the job truly needs write access. If it does, "
    "never check out or run the pull request's code in that workflow, and keep its permissions minimal.",
    tags=("CWE-829", "ci"),
    precision="medium",
    references=("https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/",),
)

UNTRUSTED_CHECKOUT = Rule(
    id="workflows/untrusted-checkout",
    name="Pull request code checked out under a privileged trigger",
    short_description="A `pull_request_target`/`workflow_run`/`issue_comment` job checks out or downloads "
    "code from the pull request.",
    severity=Severity.HIGH,
    what="Finds jobs of privileged workflows (`pull_request_target`, `workflow_run`, `issue_comment`) that "
    "fetch the pull request's head (`actions/checkout` with a head ref or repository, `gh pr checkout`, "
    "`git fetch ... pull/N/head`) or download artifacts of the triggering run. A job that only runs once the "
    "pull request is merged (`if: github.event.pull_request.merged == true`, or `needs:` a job that fails "
    "unless it is merged) is not reported: its head is then code the maintainers merged.",
    why="The job has the base repository's secrets and a write token. Once the fork's code is on disk, any "
    "build, test, install or script step runs the attacker's code with those privileges (a 'pwn request'); "
    "artifacts from a `workflow_run` are equally attacker-made.",
    example="on: pull_request_target\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n"
    "      - run: npm install && npm test",
    example_language="yaml",
    fix="Run untrusted code in a `pull_request` workflow (no secrets), and pass results to a privileged "
    "`workflow_run` job only as data that is validated, never executed. If a privileged job must look at "
    "the code, do not run it and set `persist-credentials: false`.",
    tags=("CWE-829", "CWE-94", "ci"),
    precision="high",
    references=("https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/",),
)

SPOOFABLE_BOT_CHECK = Rule(
    id="workflows/spoofable-bot-check",
    name="Bot check on github.actor",
    short_description="An `if:` trusts `github.actor == '...[bot]'`, which an outsider can make true.",
    severity=Severity.MEDIUM,
    what="Reports `if:` conditions of jobs and steps that compare `github.actor` or `github.triggering_actor` "
    "with a bot account (`dependabot[bot]`, `renovate[bot]`, ...) in workflows that pull requests trigger.",
    why="`github.actor` is whoever caused the latest event, not who wrote the pull request. An attacker can "
    "get the bot to act on their pull request (for example by asking Dependabot to rebase it), and the "
    "privileged steps reserved for the bot then run on the attacker's code.",
    example="on: pull_request_target\njobs:\n  automerge:\n    if: github.actor == 'dependabot[bot]'",
    example_language="yaml",
    fix="Check the pull request's author instead: `github.event.pull_request.user.login == 'dependabot[bot]'`, "
    "and keep the privileged job away from the pull request's code.",
    tags=("CWE-290", "ci"),
    precision="high",
)

RULES = (DANGEROUS_TRIGGER, UNTRUSTED_CHECKOUT, SPOOFABLE_BOT_CHECK)
_BOT_CHECK = re.compile(
    r"github\.(?:actor|triggering_actor)\s*==\s*'[^']*\[bot\]'|'[^']*\[bot\]'\s*==\s*github\.(?:actor|triggering_actor)",
    re.IGNORECASE,
)
_BOT_TRIGGERS = frozenset({"pull_request", "pull_request_target", "workflow_run", "issue_comment"})

_CHECKOUT_TRIGGERS = frozenset({"pull_request_target", "workflow_run", "issue_comment"})
# Expression contexts that name the pull request's head (its code, not the base branch).
_HEAD_REFS = (
    "github.head_ref",
    "github.event.pull_request.head.",
    "github.event.workflow_run.head_",
    "github.event.workflow_run.pull_requests",
    "github.event.issue.number",
    "github.event.pull_request.number",
    "github.event.number",
    "github.event.workflow_run.id",
)
_RUN_FETCH = re.compile(
    r"\bgh\s+pr\s+checkout\b|\bgit\s+(?:fetch|pull|checkout|switch)\b[^\n]*(?:pull/|refs/pull|\$\{\{)"
    r"|\bhub\s+pr\s+checkout\b"
)
_ARTIFACT_ACTIONS = frozenset({"actions/download-artifact", "dawidd6/action-download-artifact"})


def check(doc: WorkflowDoc) -> Iterator[Finding]:
    if doc.is_action:
        return
    for trigger in ("pull_request_target", "workflow_run"):
        key = doc.trigger_keys.get(trigger)
        if key is not None:
            yield doc.finding(
                DANGEROUS_TRIGGER,
                key,
                f"`{trigger}` runs with the repository's secrets and a write token on events from forks; "
                "make sure no step checks out, builds or echoes the pull request's content.",
                key=f"trigger:{trigger}",
            )
    yield from _bot_checks(doc)
    triggers = sorted(doc.triggers.keys() & _CHECKOUT_TRIGGERS)
    if not triggers:
        return
    jobs = {job.id: job for job in doc.jobs}
    for job in doc.jobs:
        last_exec = max((s.index for s in job.steps if _executes(s)), default=-1)
        last_workspace_exec = max((s.index for s in job.steps if _executes_workspace_files(s)), default=-1)
        last_env_write = max((s.index for s in job.steps if _writes_job_env(s)), default=-1)
        merged_job = _merged_before(job, jobs, set())
        for step in job.steps:
            reason = _fetches_head(step, doc)
            if reason is None:
                continue
            # A merged pull request's head is code the maintainers reviewed and merged: not a pwn request.
            if merged_job or _requires_merged(step.node.text("if")) or _gated_in_job(job, step):
                continue
            artifact = step.uses is not None and step.uses.slug in _ARTIFACT_ACTIONS
            if artifact:
                # An artifact is files, not a checkout: it harms only when a later step runs files
                # of the workspace it landed in (a build, `./script`, a local action) or feeds it into
                # $GITHUB_ENV/$GITHUB_PATH. Reading it as data (a PR number, a SARIF log) is the
                # documented safe way to publish results of fork pull requests.
                runs_code = step.index < last_workspace_exec
                as_data = not runs_code and step.index >= last_env_write
            else:
                runs_code, as_data = step.index < last_exec, False
            guarded = _same_repo_only(job.node.text("if")) or _same_repo_only(step.node.text("if"))
            severity = Severity.CRITICAL if runs_code else Severity.HIGH
            if guarded:
                severity = Severity.MEDIUM
            if as_data:
                severity = Severity.LOW
            yield doc.finding(
                UNTRUSTED_CHECKOUT,
                step.anchor(),
                f"Step '{step.name}' (job `{job.id}`) {reason} in a workflow triggered by "
                f"{', '.join(triggers)}, which runs with secrets and a write token"
                + ("; later steps then execute it" if runs_code else "")
                + (
                    "; no later step runs files from the workspace or writes $GITHUB_ENV, so it is read as data: "
                    "keep validating what you read from it"
                    if as_data
                    else ""
                )
                + (" (an `if:` limits it to pull requests from this repository; keep that guard)." if guarded else "."),
                severity=severity,
                key=f"{doc.step_key(step)}:untrusted-checkout",
                properties={"triggers": triggers, "runs_code": runs_code, "same_repo_guard": guarded},
                profile="strict" if as_data else "",
            )


# `if:` guards that keep a job to pull requests whose head lives in the base repository (no forks).
_SAME_REPO_GUARD = re.compile(
    r"head\.repo\.full_name\s*==\s*github\.repository\b|github\.repository\s*==\s*github\.event\."
    r"(?:pull_request|workflow_run)\.head(?:_repository|\.repo)\.full_name|head(?:_repository|\.repo)\.fork\s*==\s*false"
    r"|!\s*github\.event\.pull_request\.head\.repo\.fork",
    re.IGNORECASE,
)


def _same_repo_only(condition: str | None) -> bool:
    # Only a guard that must hold (not one side of an `||`) keeps forks out.
    if not condition or "||" in condition:
        return False
    return _SAME_REPO_GUARD.search(condition) is not None


# `if:` conditions that only hold once the pull request is merged.
_MERGED_GUARD = re.compile(
    r"(?<![!\w.])github\.event\.pull_request\.merged\b(?!\s*(?:==\s*(?:false|'false')|!=))"
    r"|github\.event\.pull_request\.merged_at\s*!=\s*null",
    re.IGNORECASE,
)
# A script step that looks the merge state up and fails the job when the pull request is not merged
# (`gh pr view --json mergedAt` ... `exit 1`, github-script `if (!pr.merged) core.setFailed(...)`).
_MERGED_WORD = re.compile(r"merged", re.IGNORECASE)
_FAILS = re.compile(r"\bexit\s+[1-9]|\bsetFailed\s*\(|\bthrow\b")
# A job with one of these in its `if:` runs even when a job it needs failed.
_RUNS_ANYWAY = re.compile(r"\b(?:always|failure|cancelled)\s*\(", re.IGNORECASE)


def _requires_merged(condition: str | None) -> bool:
    # Like the same-repository guard, only a condition that must hold counts.
    if not condition or "||" in condition:
        return False
    return _MERGED_GUARD.search(condition) is not None


def _merge_check(step: Step) -> bool:
    """Whether the step fails when the pull request is not merged (a gate for what follows)."""
    if (step.node.text("continue-on-error") or "false").lower() != "false":
        return False
    script = step.run
    uses = step.uses
    if script is None and uses is not None and uses.kind == "repo" and uses.slug == "actions/github-script":
        script = step.input("script")
    if script is None or not script.is_scalar:
        return False
    return _MERGED_WORD.search(script.value) is not None and _FAILS.search(script.value) is not None


def _gated_in_job(job: Job, step: Step) -> bool:
    return any(_merge_check(s) for s in job.steps if s.index < step.index and s.node.get("if") is None)


def _merged_before(job: Job, jobs: dict[str, Job], seen: set[str]) -> bool:
    """Whether `job` only runs once the pull request is merged: its `if:`, or a job it needs that checks it."""
    if _requires_merged(job.node.text("if")):
        return True
    if _RUNS_ANYWAY.search(job.node.text("if") or ""):
        return False
    needs = job.node.get("needs")
    names = [needs.value] if needs is not None and needs.is_scalar else []
    if needs is not None and needs.is_seq:
        names = [n.value for n in needs.items if n.is_scalar]
    for name in names:
        other = jobs.get(name)
        if other is None or name in seen:
            continue
        seen.add(name)
        if any(_merge_check(s) and s.node.get("if") is None for s in other.steps):
            return True
        if _merged_before(other, jobs, seen):
            return True
    return False


def _head_expression(text: str) -> str | None:
    for expr in find_expressions(text):
        for ref in all_refs(expr.body):
            if ref.startswith(_HEAD_REFS) or ref in {"github.head_ref"}:
                return ref
    return None


def _fetches_head(step: Step, doc: WorkflowDoc) -> str | None:
    uses = step.uses
    if uses is not None and uses.kind == "repo":
        if uses.slug == "actions/checkout":
            for name in ("ref", "repository"):
                node = step.input(name)
                if node is not None and node.is_scalar:
                    ref = _head_expression(node.value)
                    if ref is not None or "refs/pull/" in node.value:
                        return f"checks out the pull request head (`{name}:` uses `{ref or node.value}`)"
            return None
        if uses.slug in _ARTIFACT_ACTIONS and "workflow_run" in doc.triggers:
            node = step.input("run-id") or step.input("run_id") or step.input("workflow_conclusion")
            if node is not None and node.is_scalar and "workflow_run" in node.value:
                return "downloads artifacts made by the triggering (untrusted) run"
        return None
    run = step.run
    if run is not None:
        m = _RUN_FETCH.search(run.value)
        if m is not None:
            line = run.value[m.start() : run.value.find("\n", m.start()) if "\n" in run.value[m.start() :] else None]
            if "pr checkout" in m.group(0) or "pull/" in line or _head_expression(line):
                return f"fetches the pull request head (`{line.strip()[:80]}`)"
    return None


def _executes(step: Step) -> bool:
    """Whether a step can run code from the working tree (a script, or any non-checkout action)."""
    if step.run is not None:
        return True
    uses = step.uses
    if uses is None:
        return False
    return uses.kind == "local" or uses.slug not in {"actions/checkout", "actions/upload-artifact"}


# Actions that only move or read files: they run nothing an artifact could replace.
_DATA_ACTIONS = frozenset(
    {
        "actions/checkout",
        "actions/upload-artifact",
        "actions/download-artifact",
        "dawidd6/action-download-artifact",
        "actions/cache",
        "github/codeql-action/upload-sarif",
    }
)
# A script that runs files of the working tree: a relative path, a project build or test tool,
# an interpreter given a file, `source`.
_WORKSPACE_EXEC = re.compile(
    r"(?:^|[\s;&|(`])(?:\./|\.\./|(?:ba|z)?sh\s+(?!-c\b)[\w./-]|python3?\s+(?!-c\b|-m\s+pip\b)[\w./-]"
    r"|node\s+[\w./-]|make\b|cmake\b|npm\s|npx\s|yarn\b|pnpm\s|pip3?\s+install\b|uv\s+(?:run|sync|pip)\b"
    r"|poetry\s|go\s+(?:run|build|test|generate)\b|cargo\s|mvn\b|gradle\b|tox\b|nox\b|pytest\b|pre-commit\b"
    r"|docker\s+(?:build|compose)\b|source\s|\.\s+[\w./-])",
    re.MULTILINE,
)


def _executes_workspace_files(step: Step) -> bool:
    """Whether a step runs files of the working tree, which a downloaded artifact may have replaced."""
    if step.run is not None:
        return _WORKSPACE_EXEC.search(step.run.value) is not None
    uses = step.uses
    if uses is None:
        return False
    return uses.kind == "local" or uses.action not in _DATA_ACTIONS


def _writes_job_env(step: Step) -> bool:
    return step.run is not None and ("GITHUB_ENV" in step.run.value or "GITHUB_PATH" in step.run.value)


def _bot_checks(doc: WorkflowDoc) -> Iterator[Finding]:
    triggers = sorted(doc.triggers.keys() & _BOT_TRIGGERS)
    if not triggers:
        return
    privileged = [t for t in triggers if t != "pull_request"]
    holders = [(f"job `{job.id}`", job.node) for job in doc.jobs]
    holders += [(f"step '{step.name}'", step.node) for step in doc.all_steps()]
    for where, node in holders:
        cond = node.get("if")
        if cond is None or not cond.is_scalar:
            continue
        m = _BOT_CHECK.search(cond.value)
        if m is None:
            continue
        yield doc.finding(
            SPOOFABLE_BOT_CHECK,
            node.key_node("if") or cond,
            f"The `if:` of {where} trusts `{m.group(0)}`; github.actor is whoever triggered the latest event, "
            "so an outsider can make it a bot. Check `github.event.pull_request.user.login` instead.",
            severity=Severity.HIGH if privileged else SPOOFABLE_BOT_CHECK.severity,
            key=f"{where}:bot-check",
        )
