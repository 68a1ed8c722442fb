"""Everything aisec-ci asks git: the file listing, revisions, changed files and lines.

git runs with settings that keep a scanned repository from running code or
bending the output: `core.fsmonitor` off (a hostile `.git/config` could name a
program), no external diff drivers or textconv filters, explicit diff prefixes
and context (user config may change both), no pager, no prompts, no optional
index locks, and `-z` output wherever git offers it. A revision or range a user
gives is refused when it starts with `-`, and every git command line that
carries one puts `--end-of-options` before it, so user input never becomes a
git option (git 2.30 or later: rev-parse learned `--end-of-options` in 2.30,
the other commands in 2.24).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aisec_ci.errors import UsageError
from aisec_ci.workspace.files import report_path
from aisec_ci.workspace.globs import in_excluded_dir

GIT_TIMEOUT = 300
"""Seconds before a git command is abandoned (a huge repository on a slow disk)."""

_GIT_BASE = ("git", "-c", "core.quotepath=off", "-c", "core.fsmonitor=false", "--no-pager")
_DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--relative",
    "-M",
    "--ignore-submodules=all",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
_SHALLOW_HINT = "the clone is shallow: fetch the history you compare against (actions/checkout: fetch-depth: 0)"


class GitError(Exception):
    """git is missing, failed, or timed out; the message is one line."""


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_OPTIONAL_LOCKS": "0",
            "GIT_PAGER": "cat",
        }
    )
    env.pop("GIT_EXTERNAL_DIFF", None)
    return env


def git_argv(*args: str) -> list[str]:
    """A git command line with the protective settings above (for callers that stream)."""
    return [*_GIT_BASE, *args]


def git_env() -> dict[str, str]:
    """The environment every git process of a scan runs with."""
    return _git_env()


def run_git(root: Path, *args: str, stdin: bytes | None = None, ok_codes: tuple[int, ...] = (0,)) -> bytes:
    """Run git in `root` and return its stdout; GitError on any failure
    (an exit status outside `ok_codes`)."""
    import subprocess  # here: a scan with --no-git (or of a plain directory) never starts a process

    try:
        proc = subprocess.run(
            git_argv(*args),
            cwd=root,
            input=stdin,
            capture_output=True,
            env=_git_env(),
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {GIT_TIMEOUT} s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    if proc.returncode not in ok_codes:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        first = message[0] if message else f"exit status {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {first}")
    return proc.stdout


@dataclass
class GitListing:
    """What `git ls-files` says about the tree under a root (paths relative to it)."""

    tracked: list[str] = field(default_factory=list)
    """Tracked paths in the index, submodules excluded (file-system encoding)."""
    submodules: list[str] = field(default_factory=list)
    """Gitlink entries: submodule directories."""
    untracked: list[str] = field(default_factory=list)
    """Untracked files not ignored by .gitignore / info/exclude / core.excludesFile."""
    nested_repos: list[str] = field(default_factory=list)
    """Untracked directories holding their own repository (git lists them, not their files)."""

    def is_empty(self) -> bool:
        return not (self.tracked or self.submodules or self.untracked or self.nested_repos)


def list_files(root: Path) -> GitListing:
    """Tracked plus untracked-not-ignored files under `root` (GitError when not a work tree)."""
    listing = GitListing()
    staged = run_git(root, "ls-files", "-z", "--cached", "--stage")
    seen: set[bytes] = set()
    for entry in staged.split(b"\0"):
        meta, tab, raw = entry.partition(b"\t")
        # An unmerged path appears once per conflict stage.
        if not tab or raw in seen:
            continue
        seen.add(raw)
        path = os.fsdecode(raw)
        if meta.startswith(b"160000"):
            listing.submodules.append(path)
        else:
            listing.tracked.append(path)
    others = run_git(root, "ls-files", "-z", "--others", "--exclude-standard")
    for raw in others.split(b"\0"):
        if not raw:
            continue
        if raw.endswith(b"/"):
            listing.nested_repos.append(os.fsdecode(raw[:-1]))
        else:
            listing.untracked.append(os.fsdecode(raw))
    return listing


def is_work_tree(root: Path) -> bool:
    """Whether `root` lies inside a git work tree (False when git is missing)."""
    try:
        return run_git(root, "rev-parse", "--is-inside-work-tree").strip() == b"true"
    except GitError:
        return False


def ignored_paths(root: Path, paths: Sequence[str]) -> set[str]:
    """Those of `paths` (relative to `root`, file-system encoding) that
    .gitignore, info/exclude or core.excludesFile hide; GitError on failure."""
    if not paths:
        return set()
    names = b"\0".join(os.fsencode(p) for p in paths) + b"\0"
    # Exit status 1 only says that none of them is ignored.
    out = run_git(root, "check-ignore", "--stdin", "-z", stdin=names, ok_codes=(0, 1))
    return {os.fsdecode(raw) for raw in out.split(b"\0") if raw}


def is_ignored_dir(root: Path) -> bool:
    """Whether .gitignore hides `root` itself (git then lists nothing under it)."""
    try:
        run_git(root, "check-ignore", "-q", ".")
    except GitError:
        return False
    return True


def validate_revision(rev: str, option: str | None = None) -> None:
    """UsageError, naming `option` when given, unless `rev` could only ever be a
    revision or range: not empty, no leading `-` (git would read an option), no
    whitespace or control characters (no ref name holds them)."""
    problem = None
    if not rev:
        problem = "it is empty"
    elif rev.startswith("-"):
        problem = "it starts with '-'"
    elif any(ch.isspace() or ord(ch) < 0x20 or ch == "\x7f" for ch in rev):
        problem = "it holds whitespace or control characters"
    if problem is not None:
        where = f"{option} {rev!r}" if option else repr(rev)
        raise UsageError(f"{where}: invalid git revision ({problem})")


def is_shallow(root: Path) -> bool:
    """Whether the repository at `root` is a shallow clone (False when unknown)."""
    try:
        return run_git(root, "rev-parse", "--is-shallow-repository").strip() == b"true"
    except GitError:
        return False


def resolve_revision(root: Path, rev: str, option: str | None = None) -> str:
    """The full commit SHA `rev` names in the repository at `root`.

    UsageError, naming the revision (and `option`, when given), when it is
    malformed, unknown, or `root` is not in a git repository; a shallow clone
    gets a hint to fetch history.
    """
    validate_revision(rev, option)
    where = f"{option} {rev!r}" if option else f"revision {rev!r}"
    if not is_work_tree(root):
        raise UsageError(f"cannot resolve {where}: {root} is not inside a git work tree")
    try:
        out = run_git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    except GitError:
        message = f"unknown git revision {rev!r} in {root}"
        if option:
            message = f"{option}: {message}"
        if is_shallow(root):
            message += f"; {_SHALLOW_HINT}"
        raise UsageError(message) from None
    sha = out.decode("ascii", "replace").strip()
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", sha):
        raise UsageError(f"git revision {rev!r} did not resolve to a commit")
    return sha


_RANGE_SEPARATOR = re.compile(r"\.\.\.?")


def check_range(root: Path, text: str, option: str) -> None:
    """UsageError, naming `option`, unless git resolves the revision range
    `text` (`main..HEAD`, `v1.0...feature`, `HEAD~5`) in the repository at `root`."""
    validate_revision(text, option)
    for end in _RANGE_SEPARATOR.split(text, maxsplit=1):
        if end.startswith("-"):
            raise UsageError(f"{option} {text!r}: invalid git revision range ({end!r} starts with '-')")
    if not is_work_tree(root):
        raise UsageError(f"{option} {text!r} needs a git repository: {root} is not inside a git work tree")
    try:
        run_git(root, "rev-list", "--max-count=1", "--end-of-options", text, "--")
    except GitError:
        unknown = [
            end
            for end in _RANGE_SEPARATOR.split(text, maxsplit=1)
            if end and not _resolves(root, end.removesuffix("^!").removesuffix("^@"))
        ]
        what = f"unknown git revision {unknown[0]!r}" if unknown else "git cannot resolve this revision range"
        message = f"{option} {text!r}: {what} in {root}"
        if is_shallow(root):
            message += f"; {_SHALLOW_HINT}"
        raise UsageError(message) from None


def _resolves(root: Path, rev: str) -> bool:
    try:
        run_git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    except GitError:
        return False
    return True


def _diff_endpoints(root: Path, base: str, head: str | None) -> list[str]:
    """The commits to diff: from the merge base of `base` and `head` (what a
    pull request shows as its own changes) to `head`, or to the working tree
    when head is None. Without a merge base (unrelated or truncated history)
    the diff starts at `base` itself."""
    base_sha = resolve_revision(root, base)
    head_sha = resolve_revision(root, head) if head is not None else None
    try:
        start = run_git(root, "merge-base", "--end-of-options", base_sha, head_sha or "HEAD").decode("ascii").strip()
    except GitError:
        start = base_sha
    return [start] if head_sha is None else [start, head_sha]


def _untracked(root: Path) -> list[str]:
    try:
        return list_files_untracked(root)
    except GitError as exc:
        raise UsageError(str(exc)) from None


def list_files_untracked(root: Path) -> list[str]:
    """Untracked, not-ignored files under `root` (file-system encoding)."""
    out = run_git(root, "ls-files", "-z", "--others", "--exclude-standard")
    return [os.fsdecode(raw) for raw in out.split(b"\0") if raw and not raw.endswith(b"/")]


def changed_files(root: Path, base: str, head: str | None = None) -> list[str]:
    """Paths (relative to `root`, sorted) added, modified, renamed or copied
    between `base` and `head`; deleted files are left out.

    With head None the comparison is with the working tree, and untracked
    files that .gitignore does not hide count as changed: they are new.
    """
    endpoints = _diff_endpoints(root, base, head)
    try:
        out = run_git(
            root, "diff", "--name-only", "-z", "--diff-filter=d", *_DIFF_OPTIONS, "--end-of-options", *endpoints, "--"
        )
    except GitError as exc:
        raise UsageError(str(exc)) from None
    paths = {os.fsdecode(raw) for raw in out.split(b"\0") if raw}
    if head is None:
        paths.update(_untracked(root))
    return sorted(report_path(p) for p in paths)


_HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_C_ESCAPES = {
    ord("a"): 7,
    ord("b"): 8,
    ord("t"): 9,
    ord("n"): 10,
    ord("v"): 11,
    ord("f"): 12,
    ord("r"): 13,
    ord('"'): 34,
    ord("\\"): 92,
}


def _unquote(raw: bytes) -> tuple[bytes, bytes]:
    """Split one path token off `raw`: git C-quotes names with `"`, `\\` or
    control characters even when core.quotepath is off. Returns (path, rest)."""
    if not raw.startswith(b'"'):
        return raw, b""
    out = bytearray()
    i = 1
    while i < len(raw):
        c = raw[i]
        if c == 0x22:
            return bytes(out), raw[i + 1 :]
        if c == 0x5C and i + 1 < len(raw):
            nxt = raw[i + 1]
            if 0x30 <= nxt <= 0x37:
                out.append(int(raw[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            out.append(_C_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out), b""


def _header_path(rest: bytes) -> bytes | None:
    """New-side path from `diff --git a/X b/X` when X is the same on both sides
    (binary or mode-only changes have no `+++` line to read it from)."""
    if rest.startswith(b'"'):
        _, tail = _unquote(rest)
        new, _ = _unquote(tail.lstrip(b" "))
        return new[2:] if new.startswith(b"b/") else None
    half = (len(rest) - 5) // 2
    candidate = rest[2 : 2 + half]
    if rest == b"a/" + candidate + b" b/" + candidate:
        return candidate
    return None


@dataclass
class _FileDiff:
    header_path: bytes | None
    new_path: bytes | None = None
    renamed_to: bytes | None = None
    deleted: bool = False
    lines: list[int] = field(default_factory=list)

    def path(self) -> bytes | None:
        return self.new_path or self.renamed_to or self.header_path


def _ranges(lines: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for number in sorted(set(lines)):
        if ranges and ranges[-1][1] == number - 1:
            ranges[-1] = (ranges[-1][0], number)
        else:
            ranges.append((number, number))
    return ranges


def parse_patch(patch: bytes) -> dict[str, list[tuple[int, int]]]:
    """Added/modified line ranges per new path from a `git diff -U0` patch."""
    files: list[_FileDiff] = []
    current: _FileDiff | None = None
    old_left = new_left = 0
    new_line = 0
    for line in patch.split(b"\n"):
        if current is not None and (old_left > 0 or new_left > 0):
            # Inside a hunk: the header's counts say how many lines belong to it,
            # so a content line that looks like a header is never taken for one.
            marker = line[:1]
            if marker == b"+":
                current.lines.append(new_line)
                new_line += 1
                new_left -= 1
            elif marker == b"-":
                old_left -= 1
            elif marker == b" ":
                new_line += 1
                new_left -= 1
                old_left -= 1
            continue
        if line.startswith(b"diff --git "):
            current = _FileDiff(header_path=_header_path(line[len(b"diff --git ") :]))
            files.append(current)
            continue
        if current is None or line.startswith(b"\\"):
            continue
        if line.startswith(b"@@ "):
            match = _HUNK.match(line)
            if match is None:
                continue
            old_count, new_start, new_count = match.groups()
            old_left = int(old_count) if old_count is not None else 1
            new_line = int(new_start)
            new_left = int(new_count) if new_count is not None else 1
        elif line.startswith(b"+++ "):
            target = line[4:]
            if target == b"/dev/null":
                current.deleted = True
            else:
                path, _ = _unquote(target.rstrip(b"\t"))
                current.new_path = path[2:] if path.startswith(b"b/") else path
        elif line.startswith((b"rename to ", b"copy to ")):
            current.renamed_to, _ = _unquote(line.split(b" to ", 1)[1])
        elif line.startswith(b"deleted file mode"):
            current.deleted = True
    result: dict[str, list[tuple[int, int]]] = {}
    for diff in files:
        raw = diff.path()
        if diff.deleted or raw is None:
            continue
        result[report_path(os.fsdecode(raw))] = _ranges(diff.lines)
    return result


_COUNT_LINES_LIMIT = 64 * 1024 * 1024
"""Untracked files larger than this are not read to count their lines: no
scanner reads a text file that large, so their ranges are never consulted."""


def _whole_file_ranges(path: Path) -> list[tuple[int, int]]:
    count = 0
    last = b"\n"
    try:
        if path.stat().st_size > _COUNT_LINES_LIMIT:
            return []
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                if b"\0" in chunk:
                    return []
                count += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return []
    if last != b"\n":
        count += 1
    return [(1, count)] if count else []


def changed_lines(root: Path, base: str, head: str | None = None) -> dict[str, list[tuple[int, int]]]:
    """Added or modified line ranges (1-based, inclusive, in the new version)
    per changed path relative to `root`, sorted by path.

    Renamed files are keyed by their new path; binary files and files whose
    only change is a rename or mode map to []; deleted files are absent. With
    head None, untracked not-ignored files are new: their every line counts.
    """
    endpoints = _diff_endpoints(root, base, head)
    try:
        patch = run_git(
            root, "diff", "-U0", "--inter-hunk-context=0", *_DIFF_OPTIONS, "--end-of-options", *endpoints, "--"
        )
    except GitError as exc:
        raise UsageError(str(exc)) from None
    result = parse_patch(patch)
    if head is None:
        for path in _untracked(root):
            # Dependency trees nobody ignored (an un-ignored venv) are never scanned, and a
            # symlink is never followed: neither is read.
            full = root / path
            ranges = [] if in_excluded_dir(path) or full.is_symlink() else _whole_file_ranges(full)
            result[report_path(path)] = ranges
    return dict(sorted(result.items()))
