"""A Dockerfile parser that keeps every instruction's source lines.

It follows the BuildKit frontend's reading of a Dockerfile: parser directives
(`# escape=`, `# syntax=`) only before anything else, the escape character
ending a line continues the instruction, comment and blank lines inside a
continuation are dropped, heredocs (`<<EOF`, `<<-EOF`, quoted names) follow
their instruction, JSON (exec) form is recognised only when the arguments
are a valid JSON array of strings. One pass over the lines, so time is linear
in the size of the file.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from functools import cached_property

# Instructions Docker knows; anything else makes `docker build` fail.
KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
# Only these take heredocs (BuildKit ignores `<<` elsewhere).
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
# Instructions whose leading `--name[=value]` words are flags.
FLAG_INSTRUCTIONS = frozenset({"FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"})

_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$")
# `<<` not part of `<<<`; optional `-`; optional quotes around the word.
_HEREDOC_RE = re.compile(r"(?<!<)<<(?!<)(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_.-]*)\2")


@dataclass(frozen=True)
class Heredoc:
    """A here-document attached to a RUN/COPY/ADD instruction."""

    name: str
    body: str
    start_line: int
    """Line of the first body line (the line after the instruction, or after the previous heredoc)."""
    end_line: int
    """Line of the terminator."""

    def line_at(self, offset: int) -> int:
        """Line number of character `offset` of `body`."""
        return self.start_line + bisect.bisect_left(self._breaks, max(0, offset))

    @cached_property
    def _breaks(self) -> list[int]:
        # Found once: counting newlines from the start for every command of a long heredoc
        # would cost the body's length per finding.
        return [m.start() for m in re.finditer("\n", self.body)]


@dataclass
class Instruction:
    """One Dockerfile instruction with its place in the file."""

    keyword: str
    """Upper-case instruction name as written (may be unknown)."""
    raw: str
    """Everything after the keyword, continuation lines joined, flags included."""
    start_line: int
    end_line: int
    """Last line of the instruction including any heredoc bodies."""
    flags: dict[str, list[str]] = field(default_factory=dict)
    """`--name=value` flags (BuildKit names, lower-case); a bare flag maps to ['']."""
    args: str = ""
    """`raw` without the leading flags."""
    args_offset: int = 0
    """Offset of `args` inside `raw`."""
    json_args: list[str] | None = None
    """The exec form's array when `args` is a valid JSON array of strings."""
    heredocs: tuple[Heredoc, ...] = ()
    stage: int = -1
    """Index of the build stage (-1: before the first FROM)."""
    inner: Instruction | None = None
    """For ONBUILD: the instruction it registers."""
    _offsets: list[int] = field(default_factory=list, repr=False)
    _lines: list[int] = field(default_factory=list, repr=False)

    @property
    def known(self) -> bool:
        return self.keyword in KNOWN_INSTRUCTIONS

    def flag(self, name: str) -> str | None:
        values = self.flags.get(name)
        return values[-1] if values else None

    def line_of_raw(self, offset: int) -> int:
        """Source line of character `offset` of `raw`."""
        if not self._offsets:
            return self.start_line
        i = bisect.bisect_right(self._offsets, offset) - 1
        return self._lines[max(i, 0)]

    def line_of_args(self, offset: int) -> int:
        return self.line_of_raw(self.args_offset + offset)


@dataclass
class Stage:
    """One `FROM` and the instructions up to the next one."""

    index: int
    base: str
    """The image as written after ARG substitution (`python:3.11-slim`, `builder`, `scratch`)."""
    base_raw: str
    """The image as written in the file."""
    name: str | None
    """The `AS` alias, lower-cased."""
    from_instruction: Instruction
    instructions: list[Instruction] = field(default_factory=list)
    parent: int | None = None
    """Index of an earlier stage this one builds on (`FROM builder`)."""
    unresolved: bool = False
    """The base still holds a variable with no known value."""
    platform: str | None = None


@dataclass
class Dockerfile:
    """A parsed Dockerfile."""

    instructions: list[Instruction]
    stages: list[Stage]
    directives: dict[str, str]
    escape: str
    global_args: dict[str, str | None]
    """ARGs declared before the first FROM and their defaults (None: no default)."""
    problems: list[tuple[int, str]] = field(default_factory=list)
    """(line, message) for syntax the builder would reject."""

    @property
    def final_stage(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def stage_chain(self, stage: Stage) -> list[Stage]:
        """`stage` and the stages it builds on, nearest first."""
        chain = [stage]
        seen = {stage.index}
        cur = stage
        while cur.parent is not None and cur.parent not in seen:
            cur = self.stages[cur.parent]
            seen.add(cur.index)
            chain.append(cur)
        return chain

    def root_base(self, stage: Stage) -> Stage:
        """The stage of `stage`'s chain that starts from an external image."""
        return self.stage_chain(stage)[-1]


def parse(text: str) -> Dockerfile:
    """Parse Dockerfile source text. Never raises on malformed input: problems are recorded."""
    lines = text.splitlines()
    directives, first = _read_directives(lines)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        escape = "\\"
    instructions: list[Instruction] = []
    problems: list[tuple[int, str]] = []
    n = len(lines)
    i = first
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts: list[str] = []
        offsets: list[int] = []
        line_numbers: list[int] = []
        length = 0
        cur = line.lstrip()
        while True:
            body, continued = _strip_continuation(cur, escape)
            offsets.append(length)
            line_numbers.append(i + 1)
            parts.append(body)
            length += len(body)
            if not continued:
                break
            # Continue with the next line that is neither blank nor a comment.
            i += 1
            while i < n:
                s = lines[i].strip()
                if s and not s.startswith("#"):
                    break
                i += 1
            if i >= n:
                break
            cur = lines[i]
        joined = "".join(parts)
        keyword, rest_offset = _split_keyword(joined)
        inst = Instruction(
            keyword=keyword.upper(),
            raw=joined[rest_offset:],
            start_line=start + 1,
            end_line=i + 1 if i < n else n,
        )
        inst._offsets = [max(o - rest_offset, 0) for o in offsets]
        inst._lines = line_numbers
        i += 1
        if inst.keyword in HEREDOC_INSTRUCTIONS or (
            inst.keyword == "ONBUILD" and _split_keyword(inst.raw)[0].upper() in HEREDOC_INSTRUCTIONS
        ):
            i = _read_heredocs(inst, lines, i, problems)
        _finish(inst)
        if inst.keyword == "ONBUILD":
            inst.inner = _onbuild_inner(inst)
        if not inst.known:
            problems.append((inst.start_line, f"unknown instruction {keyword!r}"))
        instructions.append(inst)
    stages, global_args = _build_stages(instructions, problems)
    return Dockerfile(instructions, stages, directives, escape, global_args, problems)


def _read_directives(lines: list[str]) -> tuple[dict[str, str], int]:
    """Parser directives: `# key=value` lines at the very top; the first other line ends them."""
    directives: dict[str, str] = {}
    i = 0
    for i, line in enumerate(lines):
        m = _DIRECTIVE_RE.match(line.strip())
        if not m or not line.strip():
            return directives, i
        key = m.group(1).lower()
        if key in directives or key not in _DIRECTIVES:
            # An unknown or repeated directive is a comment, and a comment ends the directives.
            return directives, i
        directives[key] = m.group(2)
    return directives, len(lines)


def _strip_continuation(line: str, escape: str) -> tuple[str, bool]:
    """(line without a trailing escape, whether it continues)."""
    end = len(line.rstrip(" \t"))
    if end and line[end - 1] == escape:
        # An escaped escape (`\\`) at the end is a literal, not a continuation.
        k = end - 1
        count = 0
        while k >= 0 and line[k] == escape:
            count += 1
            k -= 1
        if count % 2 == 1:
            return line[: end - 1], True
    return line, False


def _split_keyword(text: str) -> tuple[str, int]:
    """The first word and the offset where its arguments start."""
    s = text.lstrip()
    lead = len(text) - len(s)
    j = 0
    while j < len(s) and not s[j].isspace():
        j += 1
    k = j
    while k < len(s) and s[k].isspace():
        k += 1
    return s[:j], lead + k


def _read_heredocs(inst: Instruction, lines: list[str], i: int, problems: list[tuple[int, str]]) -> int:
    """Consume the bodies of the heredocs named in `inst`; return the next line index.

    An unterminated heredoc is reported and not consumed: the lines after it are
    parsed as instructions again, so one stray `<<` cannot hide the rest of the file.
    """
    docs: list[Heredoc] = []
    for m in _HEREDOC_RE.finditer(inst.raw):
        strip_tabs = m.group(1) == "-"
        name = m.group(3)
        body: list[str] = []
        begin = i
        terminated = False
        while i < len(lines):
            candidate = lines[i].lstrip("\t") if strip_tabs else lines[i]
            if candidate.rstrip("\r") == name:
                terminated = True
                break
            body.append(candidate)
            i += 1
        if not terminated:
            problems.append((inst.start_line, f"heredoc {name!r} is not terminated"))
            i = begin
            break
        docs.append(Heredoc(name, "\n".join(body), begin + 1, i + 1))
        inst.end_line = i + 1
        i += 1
    inst.heredocs = tuple(docs)
    return i


def _finish(inst: Instruction) -> None:
    """Split leading flags from the arguments and recognise the JSON form."""
    raw = inst.raw
    pos = 0
    if inst.keyword in FLAG_INSTRUCTIONS:
        n = len(raw)
        while pos < n and raw.startswith("--", pos):
            j = pos
            quote = ""
            while j < n and (quote or not raw[j].isspace()):
                ch = raw[j]
                if quote:
                    if ch == quote:
                        quote = ""
                elif ch in "\"'":
                    quote = ch
                j += 1
            word = raw[pos + 2 : j]
            name, _, value = word.partition("=")
            inst.flags.setdefault(name.lower(), []).append(unquote(value))
            while j < n and raw[j].isspace():
                j += 1
            pos = j
    inst.args_offset = pos
    inst.args = raw[pos:].rstrip()
    stripped = inst.args.strip()
    if stripped.startswith("["):
        try:
            decoded: object = json.loads(stripped)
        except ValueError:
            decoded = None
        if isinstance(decoded, list) and all(isinstance(v, str) for v in decoded):
            inst.json_args = decoded


def _onbuild_inner(inst: Instruction) -> Instruction:
    keyword, off = _split_keyword(inst.raw)
    inner = Instruction(
        keyword=keyword.upper(),
        raw=inst.raw[off:],
        start_line=inst.start_line,
        end_line=inst.end_line,
        heredocs=inst.heredocs,
    )
    inner._offsets = [max(o - off, 0) for o in inst._offsets]
    inner._lines = list(inst._lines)
    _finish(inner)
    return inner


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


# --- stages and variable substitution ---------------------------------------

_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def substitute(text: str, env: dict[str, str | None]) -> tuple[str, bool]:
    """Expand `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` from `env`.

    Returns the text and whether every variable had a value. Unknown variables
    are left as written so callers can still show them.
    """
    complete = True

    def repl(m: re.Match[str]) -> str:
        nonlocal complete
        name = m.group(1) or m.group(4)
        op = m.group(2)
        word = m.group(3) or ""
        value = env.get(name)
        known = name in env and value is not None
        if op in (":-", "-"):
            if known and (value or op == "-"):
                return value or ""
            return word
        if op in (":+", "+"):
            return word if known and (value or op == "+") else ""
        if not known:
            complete = False
            return m.group(0)
        return value or ""

    return _VAR_RE.sub(repl, text), complete


def split_assignments(text: str, *, legacy: bool = True) -> list[tuple[str, str | None, int]]:
    """Split `ENV`/`ARG`/`LABEL` arguments into (name, value, offset) triples.

    Handles `k=v k2="v 2"` and, with `legacy`, the old `ENV key value` form.
    A name written without `=` has the value None (an `ARG` without default).
    """
    words = split_words(text)
    if not words:
        return []
    first_word, first_off = words[0]
    if legacy and "=" not in first_word and len(words) > 1:
        # Legacy form: the first word is the name, the rest of the line is the value.
        rest = text[first_off + len(first_word) :].strip()
        return [(first_word, unquote(rest), first_off)]
    out: list[tuple[str, str | None, int]] = []
    for word, off in words:
        name, eq, value = word.partition("=")
        out.append((name, unquote(value) if eq else None, off))
    return out


def split_words(text: str) -> list[tuple[str, int]]:
    """Whitespace-separated words, keeping quoted spans (and backslash escapes) inside one word."""
    words: list[tuple[str, int]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start = i
        quote = ""
        while i < n and (quote or not text[i].isspace()):
            ch = text[i]
            if ch == "\\" and i + 1 < n:
                i += 2
                continue
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            i += 1
        words.append((text[start:i], start))
    return words


def _build_stages(
    instructions: list[Instruction], problems: list[tuple[int, str]]
) -> tuple[list[Stage], dict[str, str | None]]:
    stages: list[Stage] = []
    global_args: dict[str, str | None] = {}
    aliases: dict[str, int] = {}
    current: Stage | None = None
    for inst in instructions:
        if inst.keyword == "FROM":
            words = inst.args.split()
            base_raw = words[0] if words else ""
            name: str | None = None
            if len(words) >= 3 and words[1].lower() == "as":
                name = words[2].lower()
            elif len(words) not in (0, 1):
                problems.append((inst.start_line, "FROM takes an image and an optional `AS name`"))
            if not words:
                problems.append((inst.start_line, "FROM without an image"))
            base, complete = substitute(base_raw, global_args)
            parent: int | None = None
            key = base.lower()
            if key in aliases:
                parent = aliases[key]
            elif key.isdigit() and int(key) < len(stages):
                parent = int(key)
            current = Stage(
                index=len(stages),
                base=base,
                base_raw=base_raw,
                name=name,
                from_instruction=inst,
                parent=parent,
                unresolved=not complete,
                platform=inst.flag("platform"),
            )
            inst.stage = current.index
            stages.append(current)
            if name:
                aliases[name] = current.index
            continue
        if current is None:
            if inst.keyword == "ARG":
                for arg_name, value, _ in split_assignments(inst.args, legacy=False):
                    global_args[arg_name] = value
            continue
        inst.stage = current.index
        if inst.inner is not None:
            inst.inner.stage = current.index
        current.instructions.append(inst)
    return stages, global_args
