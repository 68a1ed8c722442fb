"""A read-only view of a workflow or action file: triggers, jobs, steps, `uses:` references.

Checks work on this view instead of raw YAML so that each knows the job and
the triggers a step runs under, and every finding can point at a node.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.workflows.loader import Node, is_false
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SourceFile

# Triggers that run with the base repository's secrets and a write token while
# reacting to something an outsider did (opened a fork PR, wrote a comment).
PRIVILEGED_TRIGGERS = frozenset(
    {"pull_request_target", "workflow_run", "issue_comment", "issues", "discussion", "discussion_comment"}
)
# Triggers through which an outsider's pull request makes the workflow run at all.
PULL_REQUEST_TRIGGERS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment", "issue_comment"}
)
FIRST_PARTY_OWNERS = frozenset({"actions", "github"})
SNIPPET_MAX = 200
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class UsesRef:
    """A parsed `uses:` value."""

    raw: str
    kind: str
    """`local` (./path), `docker` (docker://image) or `repo` (owner/repo[/path]@ref)."""
    owner: str = ""
    repo: str = ""
    path: str = ""
    ref: str = ""
    image: str = ""

    @property
    def slug(self) -> str:
        """`owner/repo`, lower-case (GitHub names are case-insensitive)."""
        return f"{self.owner}/{self.repo}".lower()

    @property
    def action(self) -> str:
        """`owner/repo[/path]`, lower-case, without the ref."""
        return (self.slug + ("/" + self.path if self.path else "")).lower()

    @property
    def pinned_to_sha(self) -> bool:
        return bool(_FULL_SHA.match(self.ref.lower()))

    @property
    def is_reusable_workflow(self) -> bool:
        return "/.github/workflows/" in "/" + self.path or self.path.startswith(".github/workflows/")

    def major_version(self) -> int | None:
        m = re.match(r"^v?(\d+)", self.ref)
        return int(m.group(1)) if m else None


def _live(node: Node) -> bool:
    """A job or step mapping that can run: `if: false` disables it for good, so checks skip it."""
    return node.is_map and not is_false(node.get("if"))


def parse_uses(raw: str) -> UsesRef:
    text = raw.strip()
    if text.startswith("./") or text.startswith(".\\") or text == ".":
        return UsesRef(raw=text, kind="local", path=text)
    if text.lower().startswith("docker://"):
        return UsesRef(raw=text, kind="docker", image=text[len("docker://") :])
    name, _, ref = text.partition("@")
    parts = name.split("/")
    owner = parts[0] if parts else ""
    repo = parts[1] if len(parts) > 1 else ""
    path = "/".join(parts[2:])
    return UsesRef(raw=text, kind="repo", owner=owner, repo=repo, path=path, ref=ref)


@dataclass(eq=False)
class Step:
    node: Node
    index: int
    job: Job | None
    """None for a composite action's step."""

    @cached_property
    def uses(self) -> UsesRef | None:
        raw = self.node.text("uses")
        return parse_uses(raw) if raw else None

    @property
    def run(self) -> Node | None:
        run = self.node.get("run")
        return run if run is not None and run.is_scalar else None

    @property
    def name(self) -> str:
        return self.node.text("name") or self.node.text("id") or self.node.text("uses") or f"step {self.index + 1}"

    @property
    def with_(self) -> Node | None:
        w = self.node.get("with")
        return w if w is not None and w.is_map else None

    def input(self, key: str) -> Node | None:
        w = self.with_
        return w.get(key) if w is not None else None

    def anchor(self) -> Node:
        """Where to point for the step as a whole: its `uses:`/`run:` key, else the step."""
        for key in ("uses", "run"):
            k = self.node.key_node(key)
            if k is not None:
                return k
        return self.node


@dataclass(eq=False)
class Job:
    id: str
    key: Node
    node: Node
    steps: list[Step] = field(default_factory=list)
    cache: dict[str, object] = field(default_factory=dict)
    """Per-job facts that several steps ask for, computed once."""

    @property
    def uses(self) -> UsesRef | None:
        raw = self.node.text("uses")
        return parse_uses(raw) if raw else None


@dataclass(eq=False)
class WorkflowDoc:
    """One workflow (`is_action` False) or action metadata file (`is_action` True)."""

    file: SourceFile
    root: Node
    is_action: bool
    options: Mapping[str, Any]
    triggers: dict[str, Node | None] = field(default_factory=dict)
    """Event name (lower-case) -> its configuration node (None for `on: push`)."""
    trigger_keys: dict[str, Node] = field(default_factory=dict)
    """Event name -> the node naming it, for findings."""
    jobs: list[Job] = field(default_factory=list)
    action_steps: list[Step] = field(default_factory=list)
    _step_ids: dict[int, dict[str, Step]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, file: SourceFile, root: Node, is_action: bool, options: Mapping[str, Any]) -> WorkflowDoc:
        doc = cls(file=file, root=root, is_action=is_action, options=options)
        if is_action:
            runs = root.get("runs")
            steps = runs.get("steps") if runs is not None else None
            if steps is not None and steps.is_seq:
                doc.action_steps = [Step(n, i, None) for i, n in enumerate(x for x in steps.items if _live(x))]
            return doc
        doc._read_triggers()
        jobs = root.get("jobs")
        if jobs is not None and jobs.is_map:
            for name, key, value in jobs.entries():
                if not _live(value):
                    continue
                job = Job(id=name, key=key, node=value)
                steps = value.get("steps")
                if steps is not None and steps.is_seq:
                    job.steps = [Step(n, i, job) for i, n in enumerate(x for x in steps.items if _live(x))]
                doc.jobs.append(job)
        return doc

    def _read_triggers(self) -> None:
        # Under YAML 1.1 `on` is a boolean; composing keeps the key's text, but accept `true` too.
        on = self.root.get("on")
        if on is None:
            on = self.root.get("true") or self.root.get("True")
        if on is None:
            return
        if on.is_scalar:
            self.triggers[on.value.lower()] = None
            self.trigger_keys[on.value.lower()] = on
        elif on.is_seq:
            for item in on.items:
                if item.is_scalar:
                    self.triggers[item.value.lower()] = None
                    self.trigger_keys[item.value.lower()] = item
        elif on.is_map:
            for name, key, value in on.entries():
                self.triggers[name.lower()] = value
                self.trigger_keys[name.lower()] = key

    # --- derived facts ---------------------------------------------------
    @property
    def privileged_triggers(self) -> list[str]:
        return sorted(t for t in self.triggers if t in PRIVILEGED_TRIGGERS)

    @property
    def only_workflow_call(self) -> bool:
        return bool(self.triggers) and set(self.triggers) <= {"workflow_call"}

    def all_steps(self) -> Iterator[Step]:
        if self.is_action:
            yield from self.action_steps
        for job in self.jobs:
            yield from job.steps

    # --- findings ----------------------------------------------------------
    def finding(
        self,
        rule: Rule,
        node: Node,
        message: str,
        *,
        severity: Severity | None = None,
        key: str = "",
        properties: dict[str, Any] | None = None,
        line: int | None = None,
        column: int | None = None,
        snippet: str | None = None,
        profile: str = "",
    ) -> Finding:
        start = line if line is not None else node.line
        text = snippet if snippet is not None else self.file.line(start).strip()
        if len(text) > SNIPPET_MAX:
            text = text[: SNIPPET_MAX - 3] + "..."
        return Finding(
            rule_id=rule.id,
            severity=severity if severity is not None else rule.severity,
            message=message,
            path=self.file.path,
            start_line=start,
            end_line=start,
            start_column=column if column is not None else node.column,
            snippet=text,
            key=key,
            properties=properties or {},
            profile=profile,
        )

    def step_by_id(self, job: Job | None, step_id: str) -> Step | None:
        """The step of `job` (or of the composite action) whose `id:` is `step_id` (case-insensitive)."""
        index = self._step_ids.get(id(job))
        if index is None:
            steps = job.steps if job is not None else self.action_steps
            index = {}
            for step in steps:
                index.setdefault((step.node.text("id") or "").lower(), step)
            self._step_ids[id(job)] = index
        return index.get(step_id.lower())

    def job_key(self, job: Job | None) -> str:
        return f"jobs.{job.id}" if job is not None else "runs"

    def step_key(self, step: Step) -> str:
        ident = step.node.text("id") or step.node.text("name") or step.node.text("uses") or str(step.index)
        return f"{self.job_key(step.job)}.steps.{ident}"
