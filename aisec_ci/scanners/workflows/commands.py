"""What `run:` steps execute and how the runner is told to behave: remote scripts piped into a shell,
re-enabled workflow commands, untrusted text in the environment file (G13, G14, and the `curl | sh` gap)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.workflows.contexts import Tier, classify
from aisec_ci.scanners.workflows.expressions import find_expressions
from aisec_ci.scanners.workflows.loader import Node
from aisec_ci.scanners.workflows.model import PRIVILEGED_TRIGGERS, Step, WorkflowDoc
from aisec_ci.severity import Severity

CURL_PIPE_SHELL = Rule(
    id="workflows/curl-pipe-shell",
    name="Remote script piped into a shell",
    short_description="A `run:` step downloads a script and executes it without checking it.",
    severity=Severity.MEDIUM,
    what="Finds `curl`/`wget` output piped into `sh`, `bash`, `zsh`, `python` or `sudo sh`, and the "
    '`bash <(curl ...)` / `sh -c "$(curl ...)"` forms, in workflow and composite action `run:` steps.',
    why="Whatever the server (or anyone who compromises it or the DNS path) returns at that moment runs on "
    "the runner with the job's secrets and token. Nothing pins or verifies what was executed, so the build "
    "is neither reproducible nor auditable.",
    example="- run: curl -sSL https://install.example.com/setup.sh | bash",
    example_language="yaml",
    fix="Use a pinned action or package, or download the script at a fixed version, verify its SHA-256 "
    "(`echo '<sha256>  setup.sh' | sha256sum -c -`) and then run the file.",
    tags=("CWE-494", "CWE-829", "supply-chain", "ci"),
    precision="high",
)

INSECURE_COMMANDS = Rule(
    id="workflows/insecure-commands",
    name="Deprecated set-env/add-path commands re-enabled",
    short_description="`ACTIONS_ALLOW_UNSECURE_COMMANDS` turns on `::set-env` and `::add-path` again.",
    severity=Severity.HIGH,
    what="Reports `ACTIONS_ALLOW_UNSECURE_COMMANDS` set to a true value in a workflow, job, step or "
    "composite action `env:`.",
    why="GitHub disabled `::set-env::` and `::add-path::` in 2020 (CVE-2020-15228) because any process that "
    "prints to the log, such as a test printing a PR title or a file name, can set `LD_PRELOAD`, `PATH` or "
    "`NODE_OPTIONS` for the following steps and so run code with the job's privileges.",
    example="env:\n  ACTIONS_ALLOW_UNSECURE_COMMANDS: true",
    example_language="yaml",
    fix="Remove the variable and write to the `$GITHUB_ENV` and `$GITHUB_PATH` files instead; update actions "
    "that still need the old commands.",
    tags=("CWE-77", "CWE-94", "ci"),
    precision="very-high",
    references=("https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/",),
)

GITHUB_ENV_WRITE = Rule(
    id="workflows/github-env-injection",
    name="Untrusted text written to GITHUB_ENV or GITHUB_PATH",
    short_description="A privileged workflow writes pull request or issue text into `$GITHUB_ENV`/`$GITHUB_PATH`.",
    severity=Severity.HIGH,
    what="Finds `run:` steps of workflows triggered by `pull_request_target`, `workflow_run`, `issue_comment`, "
    "`issues` or discussions that append to `$GITHUB_ENV` or `$GITHUB_PATH` a value taken from an "
    "environment variable that holds attacker-controlled text (a title, body, comment, fork branch name).",
    why="Each line of `$GITHUB_ENV` becomes an environment variable for the rest of the job. Text with a "
    "newline can add `BASH_ENV`, `LD_PRELOAD` or `NODE_OPTIONS`, so the next step runs the attacker's "
    "code with the workflow's secrets and write token, even though no `${{ }}` is expanded in a script.",
    example="on: issue_comment\njobs:\n  a:\n    steps:\n      - env:\n"
    "          BODY: ${{ github.event.comment.body }}\n"
    '        run: echo "COMMENT=$BODY" >> "$GITHUB_ENV"',
    example_language="yaml",
    fix="Do not move untrusted text into the environment file. Pass it as a step `env:` value where it is "
    "needed, or write it to a file and read it as data; if it must go to `$GITHUB_ENV`, use a random "
    "heredoc delimiter and strip newlines first.",
    tags=("CWE-77", "CWE-94", "ci"),
    precision="medium",
)

RULES = (CURL_PIPE_SHELL, INSECURE_COMMANDS, GITHUB_ENV_WRITE)

_FETCH = r"(?:curl|wget|iwr|invoke-webrequest)\b"
_SHELL = (
    r"(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+\S+=\S*\s+)*(?:/usr/bin/|/bin/)?(?:ba|z|da|k|fi)?sh\b"
    r"|python[0-9.]*\b|perl\b|ruby\b|node\b|iex\b|invoke-expression\b"
)
_PIPE = re.compile(rf"\b{_FETCH}[^|\n;&]*\|\s*(?:{_SHELL})", re.IGNORECASE)
_SUBST = re.compile(
    rf"(?:\b(?:ba|z)?sh\s+(?:-\w+\s+)*<\(\s*{_FETCH}|\b(?:ba|z)?sh\s+-c\s+[\"']?\$\(\s*{_FETCH}"
    rf"|\beval\s+[\"']?\$\(\s*{_FETCH})",
    re.IGNORECASE,
)
_ENV_FILE_WRITE = re.compile(
    r">>?\s*[\"']?\$\{?(?:GITHUB_ENV|GITHUB_PATH)\b|\$env:GITHUB_(?:ENV|PATH)\b", re.IGNORECASE
)
_TRUTHY = frozenset({"true", "1", "yes", "on"})


def check(doc: WorkflowDoc) -> Iterator[Finding]:
    source = doc.file.text
    for step in doc.all_steps():
        run = step.run
        if run is None:
            continue
        text = run.value.replace("\\\n", " ")
        for m in list(_PIPE.finditer(text)) + list(_SUBST.finditer(text)):
            command = m.group(0).strip()
            line, column = _locate(source, run, command.split()[0])
            yield doc.finding(
                CURL_PIPE_SHELL,
                run,
                f"Step '{step.name}' pipes a downloaded script into an interpreter (`{command[:80]}`); "
                "download a pinned version, verify its checksum, then run it.",
                key=f"{doc.step_key(step)}:{command}",
                line=line,
                column=column,
            )
    yield from _insecure_commands(doc)
    yield from _env_file_writes(doc)


def _tainted_env(doc: WorkflowDoc, step: Step) -> dict[str, str]:
    """Step, job and workflow env names whose value expands attacker-controlled text -> that context."""
    scopes = [step.node.get("env")]
    if step.job is not None:
        scopes += [step.job.node.get("env"), doc.root.get("env")]
    out: dict[str, str] = {}
    for scope in reversed(scopes):
        if scope is None or not scope.is_map:
            continue
        for name, _, value in scope.entries():
            ref = next(
                (
                    r
                    for e in (find_expressions(value.value) if value.is_scalar else [])
                    for r in e.refs
                    if classify(r) is Tier.ATTACKER
                ),
                None,
            )
            if ref is not None:
                out[name] = ref
            else:
                out.pop(name, None)
    return out


def _env_file_writes(doc: WorkflowDoc) -> Iterator[Finding]:
    if doc.is_action or not doc.triggers.keys() & PRIVILEGED_TRIGGERS:
        return
    source = doc.file.text
    for step in doc.all_steps():
        run = step.run
        if run is None or _ENV_FILE_WRITE.search(run.value) is None:
            continue
        tainted = _tainted_env(doc, step)
        if not tainted:
            continue
        for line in run.value.splitlines():
            if _ENV_FILE_WRITE.search(line) is None:
                continue
            used = next((n for n in tainted if re.search(rf"\${{?{re.escape(n)}\b", line)), None)
            if used is None:
                continue
            at, column = _locate(source, run, line.strip())
            yield doc.finding(
                GITHUB_ENV_WRITE,
                run,
                f"Step '{step.name}' writes `${used}` (from `{tainted[used]}`) to the environment file of a "
                f"workflow triggered by {', '.join(sorted(doc.triggers.keys() & PRIVILEGED_TRIGGERS))}; a "
                "newline in that text sets arbitrary variables such as BASH_ENV for later steps.",
                key=f"{doc.step_key(step)}:github-env:{used}",
                line=at,
                column=column,
                properties={"variable": used, "context": tainted[used]},
            )


def _locate(source: str, node: Node, needle: str) -> tuple[int, int]:
    raw = source[node.start : node.end]
    pos = raw.find(needle)
    if pos == -1:
        return node.line, node.column
    nl = raw.count("\n", 0, pos)
    return node.line + nl, (node.column + pos if nl == 0 else pos - raw.rfind("\n", 0, pos))


def _env_blocks(doc: WorkflowDoc) -> Iterator[tuple[Node, str]]:
    top = doc.root.get("env")
    if top is not None:
        yield top, "the workflow"
    for job in doc.jobs:
        env = job.node.get("env")
        if env is not None:
            yield env, f"job `{job.id}`"
        container = job.node.get("container")
        cenv = container.get("env") if container is not None and container.is_map else None
        if cenv is not None:
            yield cenv, f"the container of job `{job.id}`"
    for step in doc.all_steps():
        env = step.node.get("env")
        if env is not None:
            yield env, f"step '{step.name}'"


def _insecure_commands(doc: WorkflowDoc) -> Iterator[Finding]:
    for env, where in _env_blocks(doc):
        if not env.is_map:
            continue
        for name, key, value in env.entries():
            if name.upper() != "ACTIONS_ALLOW_UNSECURE_COMMANDS":
                continue
            if value.is_scalar and (value.value.strip().lower() in _TRUTHY or "${{" in value.value):
                yield doc.finding(
                    INSECURE_COMMANDS,
                    key,
                    f"`ACTIONS_ALLOW_UNSECURE_COMMANDS` is enabled in {where}: any log line can then set "
                    "environment variables and PATH for later steps.",
                    key=f"{where}:insecure-commands",
                )
