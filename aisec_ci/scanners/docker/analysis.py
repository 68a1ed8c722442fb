"""What the Dockerfile rules look at: the parsed file, its RUN commands with
their source lines, and a helper to build findings."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.parser import Dockerfile, Instruction, Stage, split_assignments
from aisec_ci.scanners.docker.redaction import redact_text
from aisec_ci.scanners.docker.shell import SHELLS, Command, Pipeline, inner_scripts, parse_script
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SourceFile

_NESTING = 3
_HEALTHCHECK_CMD = re.compile(r"\s*CMD\b\s*", re.IGNORECASE)
START_KEYWORDS = frozenset({"CMD", "ENTRYPOINT", "HEALTHCHECK"})
"""How deep `sh -c "$(...)"` nesting is followed."""
SNIPPET_MAX = 200


@dataclass
class RunCommand:
    """A simple command of a RUN instruction and where it sits."""

    cmd: Command
    line: int
    pipeline: Pipeline
    position: int
    """Index of `cmd` in its pipeline."""
    instruction: Instruction
    depth: int = 0
    """0 for the step's own commands, more inside `sh -c` scripts and substitutions."""

    @property
    def upstream(self) -> list[Command]:
        """Commands feeding this one through the pipe."""
        return self.pipeline.commands[: self.position]


@dataclass
class RunScript:
    """The shell of one RUN instruction (its shell-form text, exec form or heredoc bodies)."""

    instruction: Instruction
    commands: list[RunCommand] = field(default_factory=list)


def analyse_run(inst: Instruction) -> RunScript:
    """Every command a RUN step executes, with the source line of each.

    Heredoc bodies count as script only when the step's own command is a shell
    (or absent, `RUN <<EOF`); `RUN python3 <<EOF` feeds Python, not a shell.
    """
    script = RunScript(inst)
    if inst.json_args is not None:
        if inst.json_args:
            cmd = Command(list(inst.json_args), 0, raw_words=list(inst.json_args))
            _add(script, Pipeline([cmd]), inst.start_line, 0, inst)
        return script
    pipelines = parse_script(inst.args)
    head_runs_shell = True
    for p in pipelines:
        for pos, cmd in enumerate(p.commands):
            line = inst.line_of_args(cmd.offset)
            _add(script, p, line, 0, inst, pos)
            if cmd.words and cmd.name not in SHELLS:
                head_runs_shell = False
    if head_runs_shell:
        for doc in inst.heredocs:
            for p in parse_script(doc.body):
                for pos, cmd in enumerate(p.commands):
                    _add(script, p, doc.line_at(cmd.offset), 0, inst, pos)
    return script


def start_command(inst: Instruction) -> Instruction | None:
    """The command a CMD, ENTRYPOINT or `HEALTHCHECK CMD` runs, shaped so `analyse_run` reads it.

    Heredocs never belong to these instructions, and a health check's
    command starts after its `CMD` word (`HEALTHCHECK NONE` runs nothing).
    """
    if inst.keyword in ("CMD", "ENTRYPOINT"):
        return replace(inst, heredocs=())
    if inst.keyword != "HEALTHCHECK":
        return None
    m = _HEALTHCHECK_CMD.match(inst.args)
    if m is None:
        return None
    rest = inst.args[m.end() :]
    json_args: list[str] | None = None
    if rest.lstrip().startswith("["):
        try:
            decoded: object = json.loads(rest)
        except ValueError:
            decoded = None
        if isinstance(decoded, list) and all(isinstance(v, str) for v in decoded):
            json_args = decoded
    return replace(inst, args=rest, args_offset=inst.args_offset + m.end(), json_args=json_args, heredocs=())


def _add(script: RunScript, p: Pipeline, line: int, depth: int, inst: Instruction, pos: int | None = None) -> None:
    if pos is None:
        for k in range(len(p.commands)):
            _add(script, p, line, depth, inst, k)
        return
    cmd = p.commands[pos]
    script.commands.append(RunCommand(cmd, line, p, pos, inst, depth))
    if depth >= _NESTING:
        return
    for inner in inner_scripts(cmd):
        for ip in parse_script(inner):
            _add(script, ip, line, depth + 1, inst)


@dataclass
class DockerContext:
    """One Dockerfile being checked."""

    file: SourceFile
    dockerfile: Dockerfile
    options: Mapping[str, Any]
    _snippets: dict[int, str] = field(default_factory=dict, repr=False)
    _inherited_memo: dict[tuple[int, str], bool] = field(default_factory=dict, repr=False)

    @cached_property
    def runs(self) -> list[RunScript]:
        """Every RUN (and ONBUILD RUN) in file order."""
        out: list[RunScript] = []
        for inst in self.dockerfile.instructions:
            if inst.keyword == "RUN":
                out.append(analyse_run(inst))
            elif inst.keyword == "ONBUILD" and inst.inner is not None and inst.inner.keyword == "RUN":
                out.append(analyse_run(inst.inner))
        return out

    @cached_property
    def start_scripts(self) -> list[RunScript]:
        """What CMD, ENTRYPOINT and HEALTHCHECK run when a container starts, in file order.

        Kept apart from `runs`: build-time rules (package pinning, caches) do not
        apply to them, but a download piped into a shell or an unverified TLS
        connection is as dangerous at start-up as during the build.
        """
        out: list[RunScript] = []
        for inst in self.dockerfile.instructions:
            target = inst.inner if inst.keyword == "ONBUILD" else inst
            if target is None or target.keyword not in START_KEYWORDS:
                continue
            command = start_command(target)
            if command is not None:
                out.append(analyse_run(command))
        return out

    @cached_property
    def final_chain(self) -> list[Stage]:
        """The final stage and the stages it builds on: what ends up in the shipped image."""
        final = self.dockerfile.final_stage
        return self.dockerfile.stage_chain(final) if final else []

    @cached_property
    def final_stage_indexes(self) -> frozenset[int]:
        return frozenset(s.index for s in self.final_chain)

    @cached_property
    def final_runs_service(self) -> bool:
        """Whether the shipped image starts something (CMD/ENTRYPOINT), as opposed to a
        development or tool image that is only used interactively or as a base."""
        return any(i.keyword in ("CMD", "ENTRYPOINT") for s in self.final_chain for i in s.instructions)

    @cached_property
    def _defined(self) -> dict[int, dict[str, int]]:
        """Per stage: each ENV/ARG name and the line where it is first set."""
        out: dict[int, dict[str, int]] = {}
        for stage in self.dockerfile.stages:
            names: dict[str, int] = {}
            for inst in stage.instructions:
                if inst.keyword in ("ENV", "ARG"):
                    for name, _, _ in split_assignments(inst.args, legacy=inst.keyword == "ENV"):
                        names.setdefault(name, inst.start_line)
            out[stage.index] = names
        return out

    def defined_before(self, inst: Instruction, name: str) -> bool:
        """Whether ENV/ARG `name` is set before `inst` in its stage or the stages it builds on."""
        if inst.stage < 0:
            return False
        line = self._defined.get(inst.stage, {}).get(name)
        if line is not None and line < inst.start_line:
            return True
        return self._inherited(inst.stage, name)

    def _inherited(self, index: int, name: str) -> bool:
        """Whether a stage that stage `index` builds on sets `name`. Remembered per (stage, name),
        so a long chain of stages is walked once per name rather than once per instruction."""
        memo = self._inherited_memo
        stages = self.dockerfile.stages
        path: list[int] = []
        current = index
        while (current, name) not in memo:
            parent = stages[current].parent
            # A parent is always an earlier stage; the comparison also rules out any cycle.
            if parent is None or parent >= current:
                memo[(current, name)] = False
                break
            path.append(current)
            current = parent
        for walked in reversed(path):
            parent = stages[walked].parent
            assert parent is not None
            memo[(walked, name)] = name in self._defined.get(parent, {}) or memo[(parent, name)]
        return memo[(index, name)]

    @cached_property
    def _instruction_starts(self) -> list[int]:
        return [inst.start_line for inst in self.dockerfile.instructions]

    def instruction_at(self, line: int) -> Instruction | None:
        """The instruction whose lines (continuations and heredoc bodies included) hold `line`;
        for `ONBUILD RUN ...` that is the ONBUILD."""
        k = bisect.bisect_right(self._instruction_starts, line) - 1
        if k < 0:
            return None
        inst = self.dockerfile.instructions[k]
        return inst if line <= inst.end_line else None

    def in_final_image(self, inst: Instruction) -> bool:
        return inst.stage in self.final_stage_indexes

    def snippet(self, line: int) -> str:
        cached = self._snippets.get(line)
        if cached is None:
            cached = self._snippets[line] = self._make_snippet(line)
        return cached

    def _make_snippet(self, line: int) -> str:
        # Redact a window a little wider than what is shown, so a cut never splits a
        # credential the patterns would have recognised, and a huge line costs nothing.
        text = redact_text(self.file.line(line).strip()[: SNIPPET_MAX * 3])
        return text if len(text) <= SNIPPET_MAX else text[: SNIPPET_MAX - 3] + "..."

    def finding(
        self,
        rule: Rule,
        line: int,
        message: str,
        *,
        end_line: int | None = None,
        severity: Severity | None = None,
        snippet: str | None = None,
        key: str = "",
        properties: dict[str, Any] | None = None,
    ) -> Finding:
        return Finding(
            rule_id=rule.id,
            severity=severity if severity is not None else rule.severity,
            message=message,
            path=self.file.path,
            start_line=line,
            end_line=end_line if end_line is not None and end_line > line else None,
            snippet=self.snippet(line) if snippet is None else snippet,
            key=key,
            properties=properties or {},
        )
