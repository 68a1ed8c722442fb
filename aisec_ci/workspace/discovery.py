"""Find the files under a root, decide what each is, and say why any is skipped.

In a git work tree the listing is `git ls-files` (tracked plus untracked files
that .gitignore does not hide); elsewhere a walk that never enters a symlinked
directory. Every listed path then costs one `lstat` and, for a non-empty
regular file, one read of at most `HEAD_SIZE` bytes; nothing else touches the
disk, so 20,000 files are discovered and classified in a fraction of a second.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from aisec_ci.errors import UsageError
from aisec_ci.workspace.classify import HEAD_SIZE, KNOWN_BINARY_EXTENSIONS, ZIP_TAIL_SIZE, classify, zip_at_end
from aisec_ci.workspace.files import SkippedFile, SourceFile, report_path
from aisec_ci.workspace.gitdiff import (
    GitError,
    GitListing,
    ignored_paths,
    is_ignored_dir,
    is_work_tree,
    list_files,
    run_git,
)
from aisec_ci.workspace.globs import PatternSet, excluded_dir_reason
from aisec_ci.workspace.kinds import FileKind

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
"""Cap for every file the scanners read whole (text kinds)."""
DEFAULT_MAX_MODEL_SIZE = 8 * 1024**3
"""Cap for model files; their scanner streams them instead of reading them whole."""

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    # A path swapped for a symlink or a FIFO after the lstat must neither be
    # followed out of the root nor block the scan.
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
)


def format_size(size: int, *, whole: bool = False) -> str:
    """`212.0 MiB`; with whole=True an exact multiple prints without decimals (`10 MiB`)."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            if whole and size % factor == 0:
                return f"{size // factor} {unit}"
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"


@dataclass
class Workspace:
    """The files of one scan: what will be scanned and what was skipped, and why."""

    root: Path
    """Absolute, resolved directory every path is relative to."""
    files: list[SourceFile]
    """Regular files to scan, sorted by path, each with its kind."""
    skipped: list[SkippedFile]
    """Every path not scanned, with the reason, sorted by path."""
    is_git: bool
    """Whether the listing came from git (so .gitignore was honoured)."""

    def by_kind(self) -> dict[str, int]:
        """Number of files per kind value, sorted by kind."""
        counts = Counter(f.kind.value for f in self.files)
        return dict(sorted(counts.items()))


def _read_head(path: str) -> bytes:
    fd = os.open(path, _OPEN_FLAGS)
    try:
        return os.read(fd, HEAD_SIZE)
    finally:
        os.close(fd)


def _read_tail(path: str, size: int) -> bytes:
    fd = os.open(path, _OPEN_FLAGS)
    try:
        start = max(0, size - ZIP_TAIL_SIZE)
        return os.pread(fd, size - start, start)
    finally:
        os.close(fd)


def _special_file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"


class _Discovery:
    """One discovery run: the filters, the caps and what has been found so far."""

    def __init__(
        self,
        root: Path,
        *,
        include: PatternSet,
        exclude: PatternSet,
        max_file_size: int,
        max_model_size: int,
        only_paths: frozenset[str] | None,
    ) -> None:
        self.root = root
        self.root_str = str(root)
        self.root_prefix = self.root_str.rstrip(os.sep) + os.sep
        self.include = include
        self.exclude = exclude
        self.max_file_size = max_file_size
        self.max_model_size = max_model_size
        self.only_paths = only_paths
        self.files: list[SourceFile] = []
        self.skipped: list[SkippedFile] = []
        self.excluded_dirs: dict[str, str] = {}
        self._dir_cache: dict[str, str | None] = {}
        self._real_dirs: dict[str, bool] = {"": True}

    # -- listing ---------------------------------------------------------------

    def walk(self) -> Iterator[str]:
        """Relative paths of every non-directory entry, never entering symlinked
        or excluded directories (excluded ones are remembered once)."""
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            abs_dir = f"{self.root_prefix}{rel_dir}" if rel_dir else self.root_str
            try:
                entries = os.scandir(abs_dir)
            except OSError as exc:
                if not rel_dir:
                    raise UsageError(f"cannot read directory {self.root}: {exc.strerror or exc}") from None
                self.skip(f"{rel_dir}/", f"unreadable directory: {exc.strerror or exc}")
                continue
            with entries:
                for entry in entries:
                    rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    reason = excluded_dir_reason(entry.name)
                    if not is_dir:
                        if reason is not None and entry.name == ".git":
                            # A worktree's or submodule's `.git` file points at its metadata.
                            self.skip(rel, "version control metadata")
                        else:
                            yield rel
                        continue
                    if reason is None:
                        stack.append(rel)
                    else:
                        self.excluded_dirs[rel] = reason

    def special_files(self, listing: GitListing) -> list[str]:
        """FIFOs, sockets and devices git would list if it listed them.

        `git ls-files` names regular files and symlinks only, so without this a
        FIFO would vanish from the report in a git work tree. The directories
        that hold listed paths are read once each (one `scandir`, no `stat`);
        a directory git listed nothing in is entered only when git does not
        ignore it, and each special file found must not be ignored either.
        """
        known = {""}
        for rel in (*listing.tracked, *listing.untracked):
            slash = rel.rfind("/")
            while slash > 0 and rel[:slash] not in known:
                rel = rel[:slash]
                known.add(rel)
                slash = rel.rfind("/")
        units = {*listing.submodules, *listing.nested_repos}
        found: list[str] = []
        level = sorted(known)
        while level:
            unknown: list[str] = []
            for rel_dir in level:
                self._special_entries(rel_dir, known, units, found, unknown)
            try:
                ignored = ignored_paths(self.root, unknown)
            except GitError:
                break  # without git's answer an ignored data directory could be walked whole
            level = [d for d in unknown if d not in ignored]
        if not found:
            return []
        try:
            ignored = ignored_paths(self.root, found)
        except GitError:
            ignored = set()
        return sorted(rel for rel in found if rel not in ignored)

    def _special_entries(
        self, rel_dir: str, known: set[str], units: set[str], found: list[str], unknown: list[str]
    ) -> None:
        if not self._dir_is_real(rel_dir):
            return  # a tracked directory replaced by a symlink is not followed
        abs_dir = f"{self.root_prefix}{rel_dir}" if rel_dir else self.root_str
        try:
            entries = os.scandir(abs_dir)
        except OSError:
            return  # the files git listed in it report their own trouble
        with entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if rel not in known and rel not in units and excluded_dir_reason(entry.name) is None:
                            unknown.append(rel)
                    elif not (entry.is_file(follow_symlinks=False) or entry.is_symlink()):
                        found.append(rel)
                except OSError:
                    continue

    def excluded_ancestor(self, rel: str) -> str | None:
        """The shallowest default-excluded directory containing `rel`, if any."""
        slash = rel.rfind("/")
        if slash < 0:
            return None
        directory = rel[:slash]
        if directory in self._dir_cache:
            return self._dir_cache[directory]
        found = self.excluded_ancestor(directory)
        if found is None:
            reason = excluded_dir_reason(directory[directory.rfind("/") + 1 :])
            if reason is not None:
                found = directory
                self.excluded_dirs.setdefault(directory, reason)
        self._dir_cache[directory] = found
        return found

    def is_excluded_dir(self, rel: str) -> bool:
        """Whether directory `rel` is, or lies under, a default-excluded directory."""
        return self.excluded_ancestor(rel + "/") is not None

    def under_symlinked_dir(self, rel: str) -> bool:
        """Whether a directory on the way to `rel` is now a symlink.

        git lists index paths without looking at the working tree, so a
        tracked `conf/app.yaml` whose `conf` was replaced by a link to `/etc`
        would otherwise be read through it. One lstat per directory, memoised.
        """
        directory = rel[: rel.rfind("/")] if "/" in rel else ""
        return not self._dir_is_real(directory)

    def _dir_is_real(self, directory: str) -> bool:
        known = self._real_dirs.get(directory)
        if known is not None:
            return known
        parent = directory[: directory.rfind("/")] if "/" in directory else ""
        real = self._dir_is_real(parent)
        if real:
            try:
                real = not stat.S_ISLNK(os.lstat(self.root_prefix + directory).st_mode)
            except OSError:
                # Missing directories are fine here: the file's own lstat reports them.
                real = True
        self._real_dirs[directory] = real
        return real

    # -- per path --------------------------------------------------------------

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append(SkippedFile(report_path(path), reason))

    def pattern_reason(self, shown: str) -> str | None:
        """Why the include/exclude patterns drop this path, or None."""
        pattern = self.exclude.matching(shown)
        if pattern is not None:
            return f"excluded by pattern {pattern!r}"
        if self.include and self.include.matching(shown) is None:
            return "not matched by --include"
        return None

    def add_directory_entry(self, rel: str, reason: str) -> None:
        """A directory git reports as a unit (submodule, nested repository)."""
        if self.only_paths is not None:
            return
        shown = report_path(rel)
        self.skip(rel + "/", self.pattern_reason(shown + "/") or reason)

    def examine(self, rel: str, *, tracked: bool, from_git: bool = False) -> None:
        shown = report_path(rel)
        if self.only_paths is not None and shown not in self.only_paths:
            return
        if self.excluded_ancestor(rel) is not None:
            return
        reason = self.pattern_reason(shown)
        if reason is not None:
            self.skipped.append(SkippedFile(shown, reason))
            return
        if from_git and self.under_symlinked_dir(rel):
            self.skipped.append(SkippedFile(shown, "inside a symlinked directory (not followed)"))
            return
        abspath = self.root_prefix + rel
        try:
            st = os.lstat(abspath)
        except FileNotFoundError:
            gone = "deleted from the working tree (tracked by git)" if tracked else "vanished during discovery"
            self.skipped.append(SkippedFile(shown, gone))
            return
        except OSError as exc:
            self.skipped.append(SkippedFile(shown, f"unreadable: {exc.strerror or exc}"))
            return
        mode = st.st_mode
        if stat.S_ISREG(mode):
            self.examine_regular(shown, abspath, st.st_size)
        elif stat.S_ISLNK(mode):
            self.skipped.append(SkippedFile(shown, self.symlink_reason(abspath)))
        elif stat.S_ISDIR(mode):
            # git lists a file here, but the working tree now has a directory.
            self.skipped.append(SkippedFile(shown + "/", "directory where git tracks a file"))
        else:
            self.skipped.append(SkippedFile(shown, f"not a regular file ({_special_file_type(mode)})"))

    def examine_regular(self, shown: str, abspath: str, size: int) -> None:
        head = b""
        if size:
            try:
                head = _read_head(abspath)
            except FileNotFoundError:
                self.skipped.append(SkippedFile(shown, "vanished during discovery"))
                return
            except OSError as exc:
                self.skipped.append(SkippedFile(shown, f"unreadable: {exc.strerror or exc}"))
                return
        kind = classify(shown, head)
        if kind is FileKind.BINARY and size > 22 and shown.rpartition(".")[2].lower() not in KNOWN_BINARY_EXTENSIONS:
            # A zip with other bytes before its first member is found from its end, as zip readers find it.
            try:
                if zip_at_end(head if size <= len(head) else _read_tail(abspath, size)):
                    kind = FileKind.MODEL
            except OSError:
                pass  # the scanners report an unreadable file themselves
        cap = self.max_model_size if kind is FileKind.MODEL else self.max_file_size
        if size > cap:
            self.skipped.append(
                SkippedFile(shown, f"larger than the {format_size(cap, whole=True)} cap ({format_size(size)})")
            )
            return
        if kind is FileKind.BINARY:
            if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                reason = "UTF-16 text (not scanned; save it as UTF-8)"
            else:
                reason = "binary file"
            self.skipped.append(SkippedFile(shown, reason))
            return
        self.files.append(SourceFile(path=shown, abspath=Path(abspath), kind=kind, size=size, limit=cap))

    def symlink_reason(self, abspath: str) -> str:
        try:
            target = os.stat(abspath)
        except FileNotFoundError:
            return "broken symlink"
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "symlink loop"
            return f"unreadable symlink: {exc.strerror or exc}"
        real = os.path.realpath(abspath)
        if real != self.root_str and not real.startswith(self.root_prefix):
            return "symlink to a path outside the root"
        if stat.S_ISDIR(target.st_mode):
            return "symlink to a directory inside the root (not entered)"
        return "symlink inside the root (target scanned at its own path)"

    def finish(self, is_git: bool) -> Workspace:
        for directory, reason in self.excluded_dirs.items():
            prefix = report_path(directory) + "/"
            # In a changed-files run only directories that hold a requested path matter.
            if self.only_paths is None or any(p.startswith(prefix) for p in self.only_paths):
                self.skipped.append(SkippedFile(prefix, reason))
        self.files.sort(key=lambda f: f.path)
        self.skipped.sort(key=lambda s: (s.path, s.reason))
        return Workspace(root=self.root, files=self.files, skipped=self.skipped, is_git=is_git)


def _normalise_only_paths(only_paths: Collection[str]) -> frozenset[str]:
    normalised = set()
    for path in only_paths:
        while path.startswith("./"):
            path = path[2:]
        normalised.add(path)
    return frozenset(normalised)


def single_file_base(path: Path, *, use_git: bool) -> tuple[Path, str]:
    """Where a scan of one file is rooted, and the file's path there.

    In a git work tree that is the repository's top level: the file is classified by its place
    in the repository (`.github/workflows/ci.yml` is a workflow, not generic YAML), reported
    under its repository path, and the repository's `.aisec.yml` applies. Elsewhere it is the
    file's own directory."""
    absolute = Path(os.path.abspath(path))
    parent = absolute.parent.resolve()
    if use_git:
        try:
            top = run_git(parent, "rev-parse", "--show-toplevel").decode("utf-8", "surrogateescape").strip()
        except (GitError, OSError):
            top = ""
        if top:
            toplevel = Path(top).resolve()
            try:
                return toplevel, (parent / absolute.name).relative_to(toplevel).as_posix()
            except ValueError:
                pass  # a symlinked parent that leaves the repository: scan it where it is
    return parent, absolute.name


def scan_root_of(path: Path, *, use_git: bool = True) -> Path:
    """The directory a scan of `path` (a directory or one file) is rooted at."""
    if path.is_dir():
        return path
    return single_file_base(path, use_git=use_git)[0]


def discover(
    root: Path,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    max_model_size: int = DEFAULT_MAX_MODEL_SIZE,
    use_git: bool = True,
    only_paths: Collection[str] | None = None,
) -> Workspace:
    """List, classify and filter the files under `root`.

    `root` may be a directory or a single regular file; a file is scanned
    alone, its path relative to its parent directory. In a git work tree (and
    with `use_git`) the listing is tracked plus untracked-not-ignored files;
    when git is missing or refuses the repository (for example "dubious
    ownership"), or `root` itself is git-ignored, the tree is walked instead
    and `is_git` is False.

    `include`/`exclude` are gitignore-style patterns relative to the root. A
    file matching an exclude pattern, or no include pattern, is listed as
    skipped with that reason.

    `only_paths` restricts the run to those root-relative paths (the changed
    files of a pull request). Paths outside it are not part of this run, so
    they are dropped silently rather than reported as skipped.

    Raises UsageError when `root` does not exist or is neither a directory
    nor a regular file.
    """
    given = Path(root)
    try:
        st = os.stat(given)
    except FileNotFoundError:
        raise UsageError(f"path does not exist: {given}") from None
    except OSError as exc:
        raise UsageError(f"cannot access {given}: {exc.strerror or exc}") from None

    single: str | None = None
    if stat.S_ISDIR(st.st_mode):
        base = given.resolve()
    elif stat.S_ISREG(st.st_mode):
        base, single = single_file_base(given, use_git=use_git)
    else:
        raise UsageError(f"not a directory or regular file: {given}")

    run = _Discovery(
        base,
        include=PatternSet(include, option="--include"),
        exclude=PatternSet(exclude, option="--exclude"),
        max_file_size=max_file_size,
        max_model_size=max_model_size,
        only_paths=None if only_paths is None else _normalise_only_paths(only_paths),
    )

    if single is not None:
        run.examine(single, tracked=False)
        return run.finish(is_git=use_git and is_work_tree(base))

    if use_git:
        try:
            listing: GitListing | None = list_files(base)
        except GitError:
            listing = None
        if listing is not None and listing.is_empty() and is_ignored_dir(base):
            # The user named a directory git ignores (build/, data/): scan what is there.
            listing = None
        if listing is not None:
            for rel in listing.tracked:
                run.examine(rel, tracked=True, from_git=True)
            for rel in listing.untracked:
                run.examine(rel, tracked=False, from_git=True)
            if run.only_paths is None:
                for rel in run.special_files(listing):
                    run.examine(rel, tracked=False, from_git=True)
            for rel in listing.submodules:
                if not run.is_excluded_dir(rel):
                    run.add_directory_entry(rel, "git submodule (not scanned; scan it in its own repository)")
            for rel in listing.nested_repos:
                if not run.is_excluded_dir(rel):
                    run.add_directory_entry(rel, "nested git repository (not scanned)")
            return run.finish(is_git=True)

    for rel in run.walk():
        run.examine(rel, tracked=False)
    return run.finish(is_git=False)
