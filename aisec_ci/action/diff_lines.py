"""Which lines of a pull request a review comment may point at.

GitHub accepts a review comment only on a line of the pull request's diff
(anything else is 422 "line must be part of the diff", and one such comment
rejects the whole review). The right side of each hunk holds the head's line
numbers of context and added lines; we comment only on added lines, the ones
the pull request adds or changes. The diff comes from `pulls/list-files`
(each file's `patch`, hunks only) or, when the API cannot give it, from git.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aisec_ci.workspace.gitdiff import GitError, run_git

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
MAX_LISTED_FILES = 3000
"""`pulls/list-files` answers at most this many files; a longer diff needs git for the rest."""


@dataclass(frozen=True)
class FileDiff:
    """One file's right side: added lines with their text, and the context lines around them."""

    added: Mapping[int, str] = field(default_factory=dict)
    """Head line number -> the line's text (without its newline)."""
    context: frozenset[int] = frozenset()
    """Head line numbers shown as unchanged context inside a hunk."""

    def commentable(self, line: int) -> bool:
        return line in self.added or line in self.context


def parse_patch(patch: str) -> FileDiff:
    """The right side of a unified diff's hunks (a `diff-entry.patch`: hunks without file headers)."""
    added: dict[int, str] = {}
    context: set[int] = set()
    right: int | None = None
    for raw in patch.split("\n"):
        m = _HUNK.match(raw)
        if m is not None:
            right = int(m.group(1))
            continue
        if right is None or not raw:
            # Before the first hunk (git's file headers), or the empty tail after the last newline.
            continue
        mark, text = raw[0], raw[1:]
        if mark == "+":
            added[right] = text
            right += 1
        elif mark == " ":
            context.add(right)
            right += 1
        # "-" lines live on the left side only; "\ No newline at end of file" is no line at all.
    return FileDiff(added, frozenset(context))


def diff_from_files(entries: Iterable[Mapping[str, Any]]) -> dict[str, FileDiff]:
    """Per path, the right side of `pulls/list-files` entries. A removed file has no right
    side, and a file without `patch` (binary, or a diff too large to show) has no lines to
    comment on, so neither is listed."""
    out: dict[str, FileDiff] = {}
    for entry in entries:
        name, patch = entry.get("filename"), entry.get("patch")
        if not isinstance(name, str) or entry.get("status") == "removed" or not isinstance(patch, str):
            continue
        out[name] = parse_patch(patch)
    return out


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _unquote_path(text: str) -> str:
    """A path as git prints it in diff headers: C-quoted when it holds unusual bytes."""
    if not (text.startswith('"') and text.endswith('"')):
        return text
    body, out, i = text[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, ord(nxt)))
            i += 2
            continue
        out += ch.encode("utf-8")
        i += 1
    return out.decode("utf-8", "surrogateescape")


def split_git_diff(text: str) -> dict[str, FileDiff]:
    """Per path (the new name), the right side of `git diff` output."""
    out: dict[str, FileDiff] = {}
    chunks = re.split(r"^(?=diff --git )", text, flags=re.MULTILINE)
    for chunk in chunks:
        path: str | None = None
        for line in chunk.split("\n"):
            if line.startswith("@@"):
                break
            if line.startswith("+++ "):
                target = _unquote_path(line[4:].rstrip("\t"))
                path = target[2:] if target.startswith("b/") else None  # /dev/null: deleted
        if path is not None:
            out[path] = parse_patch(chunk)
    return out


def diff_from_git(root: Path, base: str, head: str) -> dict[str, FileDiff] | None:
    """The pull request's diff as GitHub computes it (merge base to head), from the local
    repository; None when git cannot tell (a commit is missing)."""
    try:
        start = run_git(root, "merge-base", base, head).decode("ascii", "replace").strip() or base
    except GitError:
        # A shallow clone has no history to find the merge base in; the base itself is the
        # closest answer (it differs only where the base branch moved since the fork point).
        start = base
    try:
        raw = run_git(
            root,
            "-c",
            "core.quotePath=false",
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "-M",
            "--unified=3",
            start,
            head,
        )
    except GitError:
        return None
    return split_git_diff(raw.decode("utf-8", "surrogateescape"))
