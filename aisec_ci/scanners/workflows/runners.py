"""Where jobs run: self-hosted runners reachable from outsiders' pull requests (G16)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.workflows.loader import Node
from aisec_ci.scanners.workflows.model import PULL_REQUEST_TRIGGERS, WorkflowDoc
from aisec_ci.severity import Severity

SELF_HOSTED_PR = Rule(
    id="workflows/self-hosted-runner",
    name="Self-hosted runner on a pull request trigger",
    short_description="A job that pull requests can trigger runs on a self-hosted runner.",
    severity=Severity.HIGH,
    what="Reports jobs whose `runs-on` names the `self-hosted` label (or a label listed in the "
    "`self_hosted_labels` option, such as your GPU runner labels) in workflows triggered by "
    "`pull_request`, `pull_request_target`, `pull_request_review(_comment)` or `issue_comment`.",
    why="In a public repository anyone can open a pull request, and the workflow then runs their code on your "
    "machine. Self-hosted runners are not wiped between jobs, often sit inside the private network, and "
    "GPU training boxes usually hold cached model weights, datasets and cloud credentials: one fork PR can "
    "persist on the host and reach all of it.",
    example="on: pull_request\njobs:\n  gpu-tests:\n    runs-on: [self-hosted, gpu]",
    example_language="yaml",
    fix="Run pull request jobs on GitHub-hosted runners, or use ephemeral, isolated self-hosted runners "
    "(one job per VM) and require approval for workflows from outside collaborators.",
    tags=("CWE-250", "CWE-284", "ci"),
    precision="medium",
    references=(
        "https://docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners/"
        "about-self-hosted-runners#self-hosted-runner-security",
    ),
)

RULES = (SELF_HOSTED_PR,)


def _labels(runs_on: Node) -> list[str]:
    if runs_on.is_map:
        labels = runs_on.get("labels")
        group = runs_on.text("group")
        out = labels.as_strings() if labels is not None else []
        return out + ([f"group:{group}"] if group else [])
    return runs_on.as_strings()


_MATRIX_REF = re.compile(r"\$\{\{\s*matrix\.([A-Za-z0-9_\-]+)\s*\}\}")


def _matrix_labels(job: Node, runs_on: Node) -> list[str]:
    """Labels that a `${{ matrix.x }}` in `runs-on` can take, from literal matrix values and includes."""
    names = {m.group(1) for text in _labels(runs_on) for m in _MATRIX_REF.finditer(text)}
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if strategy is not None else None
    if not names or matrix is None or not matrix.is_map:
        return []
    values: list[Node] = []
    for name in names:
        direct = matrix.get(name)
        if direct is not None and direct.is_seq:
            values.extend(direct.items)
        include = matrix.get("include")
        if include is not None and include.is_seq:
            values.extend(v for item in include.items if (v := item.get(name)) is not None)
    out: list[str] = []
    for value in values:
        out.extend(value.as_strings() if not value.is_map else _labels(value))
    return out


def check(doc: WorkflowDoc) -> Iterator[Finding]:
    if doc.is_action:
        return
    triggers = sorted(doc.triggers.keys() & PULL_REQUEST_TRIGGERS)
    if not triggers:
        return
    extra = {label.lower() for label in doc.options.get("self_hosted_labels", ())}
    for job in doc.jobs:
        runs_on = job.node.get("runs-on")
        if runs_on is None:
            continue
        labels = [label.strip().lower() for label in _labels(runs_on) + _matrix_labels(job.node, runs_on)]
        hits = [label for label in labels if label == "self-hosted" or label in extra]
        if not hits:
            continue
        yield doc.finding(
            SELF_HOSTED_PR,
            job.node.key_node("runs-on") or runs_on,
            f"Job `{job.id}` runs on a self-hosted runner (`{hits[0]}`) and the workflow is triggered by "
            f"{', '.join(triggers)}: a pull request from a fork can run code on that machine.",
            key=f"jobs.{job.id}:self-hosted",
            properties={"labels": labels, "triggers": triggers},
        )
