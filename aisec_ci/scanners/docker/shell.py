"""Split the shell text of a RUN instruction into simple commands.

Not a full POSIX shell parser: enough to see each command's words (quotes
removed), which commands share a pipeline, and where each starts, so rules
can ask "is this `apt-get install` with `-y`?" or "does a `curl` feed a
shell?". One left-to-right pass; command substitutions, backquotes and
`${...}` stay inside the word that holds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

# Words that open or close a compound command; the command proper follows them.
_RESERVED = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time"})
# Prefix commands that run the rest of their words as a command.
_WRAPPERS = frozenset({"sudo", "env", "command", "exec", "nohup", "nice", "stdbuf", "doas", "gosu", "su-exec"})
# Options of those wrappers that take a separate value.
_WRAPPER_VALUE_OPTS = {
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "nice": frozenset({"-n"}),
}
# `conda run -n env CMD` runs CMD inside an environment: the command proper follows.
_ENV_RUNNERS = frozenset({"conda", "mamba", "micromamba"})
_ENV_RUNNER_VALUE_OPTS = frozenset({"-n", "--name", "-p", "--prefix", "--cwd", "-r", "--root-prefix", "-a", "--attach"})
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ash", "ksh", "mksh", "busybox"})
_PLAIN = re.compile(r"[^\s'\"\\`$<>;&|()#]+")
MAX_SCRIPT = 512 * 1024
"""Longer RUN scripts are analysed up to this many characters (bounded time on huge files)."""


@dataclass
class Command:
    """One simple command: its words with leading assignments and wrappers removed."""

    words: list[str]
    """The effective command and its arguments, quotes removed."""
    offset: int
    """Offset of the command's first character in the analysed text."""
    assignments: dict[str, str] = field(default_factory=dict)
    """`NAME=value` words before the command (and those given to `env`)."""
    wrappers: list[str] = field(default_factory=list)
    """`sudo`, `env` ... that preceded the command."""
    raw_words: list[str] = field(default_factory=list)
    """Words as written (quotes kept), same length as `words`."""

    @property
    def name(self) -> str:
        """The program name without its directory (`/usr/bin/pip3` -> `pip3`)."""
        if not self.words:
            return ""
        return self.words[0].rsplit("/", 1)[-1]

    @property
    def args(self) -> list[str]:
        return self.words[1:]


@dataclass
class Pipeline:
    """Commands joined by `|`."""

    commands: list[Command]


@dataclass
class _Word:
    text: str
    raw: str
    offset: int


def parse_script(text: str) -> list[Pipeline]:
    """Split shell text into pipelines of simple commands."""
    if len(text) > MAX_SCRIPT:
        text = text[:MAX_SCRIPT]
    pipelines: list[Pipeline] = []
    current: list[Command] = []
    for words, sep in _tokenize(text):
        cmd = _make_command(words)
        if cmd is not None:
            current.append(cmd)
        if sep != "|" and current:
            pipelines.append(Pipeline(current))
            current = []
    if current:
        pipelines.append(Pipeline(current))
    return pipelines


def iter_commands(pipelines: list[Pipeline]) -> Iterator[Command]:
    for p in pipelines:
        yield from p.commands


def _make_command(words: list[_Word]) -> Command | None:
    i = 0
    n = len(words)
    assignments: dict[str, str] = {}
    wrappers: list[str] = []
    while i < n:
        w = words[i].text
        if w in _RESERVED:
            i += 1
            continue
        if _is_assignment(words[i]):
            name, _, value = w.partition("=")
            assignments[name] = value
            i += 1
            continue
        base = w.rsplit("/", 1)[-1]
        if base in _WRAPPERS:
            wrappers.append(base)
            i += 1
            value_opts = _WRAPPER_VALUE_OPTS.get(base, frozenset())
            while i < n and words[i].text.startswith("-") and words[i].text != "--":
                opt = words[i].text
                i += 1
                if opt in value_opts and i < n:
                    i += 1
            if i < n and words[i].text == "--":
                i += 1
            continue
        if base in _ENV_RUNNERS and i + 1 < n and words[i + 1].text == "run":
            wrappers.append(f"{base} run")
            i += 2
            while i < n and words[i].text.startswith("-") and words[i].text != "--":
                opt = words[i].text
                i += 1
                if opt in _ENV_RUNNER_VALUE_OPTS and i < n:
                    i += 1
            if i < n and words[i].text == "--":
                i += 1
            continue
        break
    if i >= n:
        if not assignments and not wrappers:
            return None
        return Command([], words[0].offset if words else 0, assignments, wrappers, [])
    rest = words[i:]
    return Command([w.text for w in rest], words[0].offset, assignments, wrappers, [w.raw for w in rest])


def _is_assignment(word: _Word) -> bool:
    name, eq, _ = word.raw.partition("=")
    return bool(eq) and name.isidentifier()


def _tokenize(text: str) -> Iterator[tuple[list[_Word], str]]:
    """Yield (words, separator) per simple command; separator is `|`, `;`, `&&`, ... or ''."""
    words: list[_Word] = []
    buf: list[str] = []
    start = -1
    in_word = False
    skip_next_word = False
    i = 0
    n = len(text)

    def end_word(pos: int) -> None:
        nonlocal buf, in_word, skip_next_word
        if in_word:
            if skip_next_word:
                skip_next_word = False
            else:
                words.append(_Word("".join(buf), text[start:pos], start))
        buf = []
        in_word = False

    while i < n:
        m = _PLAIN.match(text, i)
        if m is not None:
            # Fast path: a run of characters with no shell meaning.
            if not in_word:
                in_word = True
                start = i
            buf.append(m.group())
            i = m.end()
            continue
        ch = text[i]
        if ch in " \t\r":
            end_word(i)
            i += 1
            continue
        if ch == "\n":
            end_word(i)
            yield words, "\n"
            words = []
            i += 1
            continue
        if ch in "<>":
            if ch == "<" and i + 1 < n and text[i + 1] == "(" and not in_word:
                # Process substitution `<(cmd)` is a word (a file name) holding a command.
                j = _balanced_end(text, i + 1)
                words.append(_Word(text[i:j], text[i:j], i))
                i = j
                continue
            # A redirection: drop a pending fd number, then the operator and its target.
            if in_word and "".join(buf).isdigit():
                buf = []
                in_word = False
            else:
                end_word(i)
            j = i
            while j < n and text[j] in "<>&-":
                j += 1
            i = j
            # The target (a file, an fd, a heredoc delimiter) is not an argument.
            skip_next_word = True
            continue
        if ch in ";&|()":
            end_word(i)
            j = i + 1
            if j < n and text[j] in "&|;" and ch in "&|;":
                j += 1
            yield words, text[i:j]
            words = []
            i = j
            continue
        if ch == "\\" and i + 1 < n and text[i + 1] == "\n":
            # A line continuation joins words; it never starts one.
            i += 2
            continue
        if not in_word:
            if ch == "#":
                while i < n and text[i] != "\n":
                    i += 1
                continue
            in_word = True
            start = i
        if ch == "\\":
            if i + 1 < n:
                buf.append(text[i + 1])
            i += 2
            continue
        if ch == "'":
            j = text.find("'", i + 1)
            j = n if j < 0 else j
            buf.append(text[i + 1 : j])
            i = j + 1
            continue
        if ch == '"':
            i = _double_quoted(text, i + 1, buf)
            continue
        if ch == "`":
            j = _backquote_end(text, i + 1)
            buf.append(text[i:j])
            i = j
            continue
        if ch == "$" and i + 1 < n and text[i + 1] in "({":
            j = _balanced_end(text, i + 1)
            buf.append(text[i:j])
            i = j
            continue
        buf.append(ch)
        i += 1
    end_word(n)
    if words:
        yield words, ""


def _double_quoted(text: str, i: int, buf: list[str]) -> int:
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            return i + 1
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "\n":
                i += 2
                continue
            buf.append(nxt if nxt in '"\\$`' else ch + nxt)
            i += 2
            continue
        if ch == "$" and i + 1 < n and text[i + 1] in "({":
            j = _balanced_end(text, i + 1)
            buf.append(text[i:j])
            i = j
            continue
        if ch == "`":
            j = _backquote_end(text, i + 1)
            buf.append(text[i:j])
            i = j
            continue
        buf.append(ch)
        i += 1
    return n


def _backquote_end(text: str, i: int) -> int:
    n = len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "`":
            return i + 1
        i += 1
    return n


def _balanced_end(text: str, i: int) -> int:
    """End (exclusive) of the bracketed span opening at `text[i]` (`(` or `{`)."""
    open_ch = text[i]
    close_ch = ")" if open_ch == "(" else "}"
    depth = 0
    n = len(text)
    quote = ""
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch == "\\":
            i += 2
            continue
        elif ch in "'\"":
            quote = ch
        elif ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def inner_scripts(cmd: Command) -> list[str]:
    """Scripts a command runs in a nested shell: `sh -c '...'`, `$(...)` and `<(...)` words."""
    out: list[str] = []
    script_index = -1
    if cmd.name in SHELLS and cmd.name != "busybox":
        args = cmd.args
        for k, a in enumerate(args):
            if a == "-c" or (a.startswith("-") and not a.startswith("--") and "c" in a[1:]):
                if k + 1 < len(args):
                    out.append(args[k + 1])
                    script_index = k + 2
                break
    for idx, w in enumerate(cmd.words):
        if idx == script_index:
            # Its substitutions are found when the script itself is parsed.
            continue
        pos = w.find("$(")
        while pos >= 0:
            end = _balanced_end(w, pos + 1)
            out.append(w[pos + 2 : end - 1])
            pos = w.find("$(", end)
        if w.startswith("<(") and w.endswith(")"):
            out.append(w[2:-1])
    return out
