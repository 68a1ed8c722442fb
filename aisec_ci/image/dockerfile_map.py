"""Tracing an image's layers back to the Dockerfile lines that made them.

Every layer has a history entry (those without `empty_layer`), and its
`created_by` is the instruction as the builder ran it: BuildKit writes
`RUN /bin/sh -c pip install x # buildkit` or `COPY app /app # buildkit`, the
classic builder `/bin/sh -c pip install x` and `/bin/sh -c #(nop) COPY
file:<hash> in /app`. Layers are matched to the final stage's RUN, COPY and
ADD instructions from the top of the image down, by command text (whitespace
ignored) or, for COPY and ADD, by keyword and destination. A layer that matches
nothing came with the base image: its findings point at the `FROM` line, which
is where the fix (a newer base) goes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aisec_ci.image.source import history_layers
from aisec_ci.scanners.docker.parser import Dockerfile, Instruction, parse

_BUILDKIT_SUFFIX = " # buildkit"
_SHELL_PREFIXES = ("/bin/sh -c ", "/bin/bash -c ", "/bin/bash -o pipefail -c ", "/bin/sh -o pipefail -c ")
# BuildKit prefixes a RUN that saw build args with their count and values: `RUN |2 A=1 B=2 /bin/sh -c ...`.
_ARGS_PREFIX_RE = re.compile(r"^\|\d+(?: \S+=\S*)* ")
_LAYER_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})


@dataclass(frozen=True)
class Origin:
    line: int
    end_line: int
    instruction: str
    """The instruction as written (first line), for messages."""
    from_base: bool = False
    """True: the layer came with the base image (the finding points at FROM)."""


class DockerfileMap:
    def __init__(self, path: str, text: str, config: Mapping[str, Any], layer_count: int) -> None:
        self.path = path
        self.notes: list[str] = []
        self.dockerfile: Dockerfile = parse(text)
        self._lines = text.splitlines()
        stage = self.dockerfile.final_stage
        self._stage_instructions: list[Instruction] = []
        self._from: Instruction | None = None
        if stage is None:
            self.notes.append(f"image: {path} has no FROM; findings stay on the image's own paths")
            self._layers: dict[int, Origin] = {}
            return
        chain = list(reversed(self.dockerfile.stage_chain(stage)))
        self._from = chain[0].from_instruction
        for st in chain:
            self._stage_instructions.extend(st.instructions)
        self._layers = self._match(config, layer_count)

    # --- layers ----------------------------------------------------------
    def _match(self, config: Mapping[str, Any], layer_count: int) -> dict[int, Origin]:
        history = history_layers(dict(config))
        if len(history) != layer_count:
            self.notes.append(
                f"image: the image history names {len(history)} layers but the image has {layer_count}; "
                f"findings are traced to {self.path} only through its FROM line"
            )
            history = []
        made = [i for i in self._stage_instructions if i.keyword in _LAYER_KEYWORDS]
        out: dict[int, Origin] = {}
        pointer = len(made)
        for layer in range(len(history), 0, -1):
            command = _normalise_history(str(history[layer - 1].get("created_by") or ""))
            for j in range(pointer - 1, -1, -1):
                if _same(command, made[j]):
                    out[layer] = self._origin(made[j])
                    pointer = j
                    break
        return out

    def _origin(self, inst: Instruction, from_base: bool = False) -> Origin:
        first = self._lines[inst.start_line - 1].strip() if 0 < inst.start_line <= len(self._lines) else inst.keyword
        return Origin(inst.start_line, inst.end_line, first, from_base)

    def layer(self, index: int) -> Origin | None:
        """Where layer `index` (1-based) came from: its instruction, else the FROM line."""
        found = self._layers.get(index)
        if found is not None:
            return found
        return self._origin(self._from, from_base=True) if self._from is not None else None

    # --- config ----------------------------------------------------------
    def user(self) -> Origin | None:
        users = [i for i in self._stage_instructions if i.keyword == "USER"]
        if users:
            return self._origin(users[-1])
        return self._origin(self._from) if self._from is not None else None

    def expose(self, port: int) -> Origin | None:
        for inst in reversed(self._stage_instructions):
            if inst.keyword == "EXPOSE" and any(w.split("/")[0] == str(port) for w in inst.args.split()):
                return self._origin(inst)
        return self.base()

    def env(self, name: str) -> Origin | None:
        for inst in reversed(self._stage_instructions):
            if inst.keyword in ("ENV", "ARG") and re.search(rf"(?:^|\s){re.escape(name)}(?:[=\s]|$)", inst.args):
                return self._origin(inst)
        return self.base()

    def base(self) -> Origin | None:
        return self._origin(self._from) if self._from is not None else None


def _normalise_history(created_by: str) -> str:
    text = created_by.strip()
    if text.endswith(_BUILDKIT_SUFFIX):
        text = text[: -len(_BUILDKIT_SUFFIX)]
    if text.startswith("RUN "):
        text = _ARGS_PREFIX_RE.sub("", text[4:])
        for prefix in _SHELL_PREFIXES:
            if text.startswith(prefix):
                return "RUN " + _squash(text[len(prefix) :])
        return "RUN " + _squash(text)
    # The classic builder writes a RUN that saw build args as `|1 A=b /bin/sh -c ...` too.
    text = _ARGS_PREFIX_RE.sub("", text)
    if text.startswith("/bin/sh -c #(nop) "):
        return _squash(text[len("/bin/sh -c #(nop) ") :])
    for prefix in _SHELL_PREFIXES:
        if text.startswith(prefix):
            return "RUN " + _squash(text[len(prefix) :])
    return _squash(text)


def _same(command: str, inst: Instruction) -> bool:
    if inst.keyword == "RUN":
        if not command.startswith("RUN "):
            return False
        # BuildKit records a heredoc RUN by its first line only, which `args` holds too.
        body = " ".join(inst.json_args) if inst.json_args and not inst.heredocs else inst.args
        mine = _squash(body)
        theirs = command[4:]
        return mine == theirs or (len(mine) > 12 and (mine in theirs or theirs in mine))
    keyword, _, rest = command.partition(" ")
    if keyword != inst.keyword:
        return False
    words = inst.args.split()
    dest = rest.split()
    if not words or not dest:
        return False
    # `COPY app /app` (BuildKit) or `COPY file:3a9c… in /app` / `COPY dir:… in /app` (classic): the
    # destination is the last word either way.
    return _squash(inst.args) == _squash(rest) or words[-1].rstrip("/") == dest[-1].rstrip("/")


def _squash(text: str) -> str:
    return " ".join(text.replace("\\\n", " ").split())
