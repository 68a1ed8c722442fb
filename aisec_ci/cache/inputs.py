"""What a cached result depends on: file contents, and what scanners read beside the file.

A file's result is a function of its content, its path, kind and size cap, the scanners
and their settings (`run_digest`), and, for four scanners, of other files:

- kubernetes: whether a kustomization anywhere in the tree (or beside the file) names it
  as a patch, and which images kustomizations retag: the kustomization files found by
  the same walk the scanner makes; for a file with a ClusterRole that may read Secrets,
  the kubebuilder RBAC markers of the tree's Go code;
- docker: a Dockerfile's build context (its .dockerignore and the sensitive file names
  present, git-ignored ones included, found by the scanner's own functions); a compose
  file's `extends:` bases (every other YAML file of the workspace);
- workflows: the local actions a workflow calls (every action.yml of the workspace);
- models: where an ONNX model's external data leads (the symlinks beside the model).

A scanner that is in neither table below (a plugin) may read anything: files it wants
are never cached. Repository-level passes are keyed on every input they read
(`repository_key`). Contents are identified by SHA-256; the stat signature of a file
(size, times, inode) only saves re-reading a file whose signature is unchanged since it
was hashed, as git's index does, and is recorded only for files last modified well
before the scan started (a change within the file system's timestamp granularity would
otherwise go unseen). The cache keeps digests of paths, never the paths themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from aisec_ci.budget import FileBudget
from aisec_ci.scanners.base import ScanContext, Scanner
from aisec_ci.workspace.discovery import Workspace
from aisec_ci.workspace.files import SourceFile, path_bytes
from aisec_ci.workspace.kinds import FileKind

PURE_SCANNERS = frozenset({"code", "cloud", "deps", "secrets"})
"""Scanners whose `scan_file` reads nothing but the file (deps does all its work in the
repository pass)."""
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
_SETTLE_NS = 2_000_000_000
"""A stat signature is trusted only for files last changed this long before the scan (FAT
has 2 s timestamps; ext4's move in timer ticks)."""
_ABSENT = "-"
_KUSTOMIZATION_READ_LIMIT = 1_000_000
_KUSTOMIZE_WALK_LIMIT = 20_000
_DB_ENTRY_LIMIT = 200_000


def digest_text(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(str(part).encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()


def _signature(st: os.stat_result) -> bytes:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}".encode()


class ContentDigests:
    """SHA-256 of files by absolute path, re-read only when their stat signature changed."""

    def __init__(self, started_ns: int) -> None:
        self.known: dict[bytes, tuple[bytes, bytes]] = {}
        """Path digest -> (signature, content digest) from the cache file."""
        self.fresh: dict[bytes, tuple[bytes, bytes]] = {}
        """Signatures to record: files hashed in this run that had settled."""
        self.seen: set[bytes] = set()
        self.hashed = 0
        self._settled_before = started_ns - _SETTLE_NS
        self._memo: dict[tuple[str, int | None], tuple[str, bytes] | None] = {}

    def of(self, abspath: str, limit: int | None, *, record: bool = True) -> tuple[str, bytes] | None:
        """(hex digest, signature) of a regular file of at most `limit` bytes; None for
        anything else (gone, not regular, too large, changing while read)."""
        memo_key = (abspath, limit)
        if memo_key in self._memo:
            return self._memo[memo_key]
        result = self._of(abspath, limit, record)
        self._memo[memo_key] = result
        return result

    def signature(self, abspath: str) -> bytes | None:
        try:
            st = os.lstat(abspath)
        except OSError:
            return None
        return _signature(st) if stat.S_ISREG(st.st_mode) else None

    def _of(self, abspath: str, limit: int | None, record: bool) -> tuple[str, bytes] | None:
        # Stored by a digest of the path: a path may hold a token (a directory named after one).
        key = hashlib.blake2b(os.fsencode(abspath), digest_size=16).digest()
        try:
            st = os.lstat(abspath)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or (limit is not None and st.st_size > limit):
            return None
        signature = _signature(st)
        if record:
            self.seen.add(key)
        known = self.known.get(key)
        if known is not None and known[0] == signature:
            return known[1].hex(), signature
        digest = self._read(abspath, signature, limit)
        if digest is None:
            return None
        self.hashed += 1
        # A write within the same timestamp tick as the hashing would leave the signature as it
        # is; a file last modified well before the scan started cannot be caught in that tick.
        if record and st.st_mtime_ns < self._settled_before:
            self.fresh[key] = (signature, digest)
        return digest.hex(), signature

    @staticmethod
    def _read(abspath: str, signature: bytes, limit: int | None) -> bytes | None:
        try:
            fd = os.open(abspath, _OPEN_FLAGS)
        except OSError:
            return None
        try:
            h = hashlib.sha256()
            total = 0
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                total += len(chunk)
                if limit is not None and total > limit:
                    return None
                h.update(chunk)
            st = os.fstat(fd)
            # Changed while it was read (or replaced since the lstat): not a content to key on.
            if not stat.S_ISREG(st.st_mode) or _signature(st) != signature:
                return None
            return h.digest()
        except OSError:
            return None
        finally:
            os.close(fd)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def run_digest(specs: Sequence[tuple[type[Scanner], ScanContext]], budget: FileBudget) -> str:
    """Everything of the run's settings that reaches a scanner or the per-file engine."""
    settings = [
        {
            "scanner": cls.name,
            "options": ctx.options,
            "offline": ctx.offline,
            "env": sorted(ctx.env.items()),
            "switches": ctx.rule_switches,
        }
        for cls, ctx in sorted(specs, key=lambda spec: spec[0].name)
    ]
    limits = [budget.seconds, budget.memory, budget.max_findings_per_file, budget.max_findings_per_rule]
    return digest_text(_canonical(settings), _canonical(limits))


class Neighbourhood:
    """What scanners read beside the files of one workspace, computed once per run."""

    def __init__(self, ws: Workspace, digests: ContentDigests, record: bool) -> None:
        self.ws = ws
        self.root = ws.root
        self.digests = digests
        self.record = record
        self._kustomizations: str | None = None
        self._markers: str | None = None
        self._local: dict[str, str] = {}
        self._contexts: dict[str, str] = {}
        self._sensitive: dict[str, tuple[str, ...]] = {}
        self._yaml: str | None = None
        self._actions: str | None = None
        self._links: list[tuple[str, str]] | None = None
        self._extras: dict[str, Callable[[SourceFile, ScanContext], str | None]] = {
            "kubernetes": self._kubernetes,
            "docker": self._docker,
            "workflows": self._workflows,
            "models": self._models,
        }

    # --- files ---------------------------------------------------------------

    def content(self, abspath: str | os.PathLike[str], limit: int | None) -> str:
        """A file's digest, or a marker for a file that is absent or not read."""
        got = self.digests.of(os.fspath(abspath), limit, record=self.record)
        return got[0] if got is not None else _ABSENT

    def files_digest(self, files: Iterable[SourceFile]) -> str | None:
        """Paths, kinds and contents of `files`; None when one cannot be read."""
        parts = []
        for f in sorted(files, key=lambda f: f.path):
            got = self.digests.of(str(f.abspath), file_limit(f), record=self.record)
            if got is None:
                return None
            parts.append(f"{f.path}\0{f.kind.value}\0{got[0]}")
        return digest_text(*parts)

    def extra(self, name: str, ctx: ScanContext, sf: SourceFile) -> str | None:
        """What scanner `name`'s result for `sf` depends on besides the file; None: unknown."""
        if name in PURE_SCANNERS:
            return ""
        compute = self._extras.get(name)
        return compute(sf, ctx) if compute is not None else None

    # --- kubernetes ------------------------------------------------------------

    def _kubernetes(self, sf: SourceFile, ctx: ScanContext) -> str | None:
        directory = os.path.dirname(str(sf.abspath))
        extra = f"{self.kustomizations()}:{self.local_kustomizations(directory)}"
        if self._may_read_secrets_cluster_wide(sf):
            # A ClusterRole reading Secrets is judged by the repository's kubebuilder RBAC markers.
            extra += f":{self.secret_markers()}"
        return extra

    @staticmethod
    def _may_read_secrets_cluster_wide(sf: SourceFile) -> bool:
        had = sf.has_content
        try:
            data = sf.data
        except OSError:
            return True  # unknown: key on the markers too
        finally:
            if not had:
                # Read here only for this test: the parent holds every file of the run, so keeping
                # the bytes would keep every manifest of a warm run in memory.
                sf.release()
        return b"ClusterRole" in data and b"secrets" in data

    def secret_markers(self) -> str:
        """The kubebuilder markers the kubernetes scanner reads (rbac_markers.py), as it sees them."""
        if self._markers is None:
            from aisec_ci.scanners.kubernetes.rbac_markers import secret_reads_declared

            self._markers = repr(secret_reads_declared(self.root))
        return self._markers

    def kustomizations(self) -> str:
        """The kustomization files the kubernetes scanner's walk finds, with their contents."""
        if self._kustomizations is None:
            from aisec_ci.scanners.common.treewalk import walk_tree
            from aisec_ci.scanners.kubernetes.manifests import KUSTOMIZATION_NAMES

            parts = []
            root = str(self.root)
            walked = 0
            # The walker manifests._kustomization_dirs uses: same order, same skips, same bound.
            for base, names in walk_tree(root, _KUSTOMIZE_WALK_LIMIT):
                walked += 1
                if any(n in KUSTOMIZATION_NAMES for n in names):
                    parts.append(f"{os.path.relpath(base, root)}\0{self.local_kustomizations(base)}")
            if walked >= _KUSTOMIZE_WALK_LIMIT:
                parts.append("walk bound reached")
            self._kustomizations = digest_text(*parts)
        return self._kustomizations

    def local_kustomizations(self, directory: str) -> str:
        if directory not in self._local:
            from aisec_ci.scanners.kubernetes.manifests import KUSTOMIZATION_NAMES

            parts = []
            for name in KUSTOMIZATION_NAMES:
                path = os.path.join(directory, name)
                if os.path.islink(path):
                    continue  # never read by the scanner
                parts.append(f"{name}={self.content(path, _KUSTOMIZATION_READ_LIMIT)}")
            self._local[directory] = ",".join(parts)
        return self._local[directory]

    # --- docker ----------------------------------------------------------------

    def _docker(self, sf: SourceFile, ctx: ScanContext) -> str | None:
        if sf.kind is FileKind.DOCKERFILE:
            if not ctx.options.get("check_build_context", True):
                return ""
            return self._build_context(str(sf.abspath))
        if sf.kind is FileKind.COMPOSE:
            return self._other_yaml()
        return ""

    def _build_context(self, abspath: str) -> str:
        from aisec_ci.scanners.docker import context_copy

        directory = os.path.dirname(abspath)
        own = f"{abspath}.dockerignore"
        cache_key = own if os.path.lexists(own) else directory
        if cache_key not in self._contexts:
            context_dir, ignore = context_copy.locate(Path(abspath), self.root)
            where = str(context_dir)
            if where not in self._sensitive:
                self._sensitive[where] = context_copy.find_sensitive(context_dir)
            ignore_part = (
                f"{os.path.relpath(ignore, self.root)}={self.content(ignore, None)}" if ignore is not None else _ABSENT
            )
            self._contexts[cache_key] = digest_text(
                os.path.relpath(where, self.root), ignore_part, *self._sensitive[where]
            )
        return self._contexts[cache_key]

    def _other_yaml(self) -> str | None:
        if self._yaml is None:
            bases = [f for f in self.ws.files if f.kind is not FileKind.COMPOSE and f.path.endswith((".yml", ".yaml"))]
            self._yaml = self.files_digest(bases) or _ABSENT
        return None if self._yaml == _ABSENT else self._yaml

    # --- workflows -------------------------------------------------------------

    def _workflows(self, sf: SourceFile, ctx: ScanContext) -> str | None:
        if self._actions is None:
            actions = [f for f in self.ws.files if posixpath.basename(f.path) in ("action.yml", "action.yaml")]
            self._actions = self.files_digest(actions) or _ABSENT
        return None if self._actions == _ABSENT else self._actions

    # --- models ----------------------------------------------------------------

    def _models(self, sf: SourceFile, ctx: ScanContext) -> str | None:
        if self._links is None:
            self._links = []
            for s in self.ws.skipped:
                path = self.root / os.fsdecode(path_bytes(s.path.rstrip("/")))
                try:
                    target = os.readlink(path)
                except OSError:
                    continue
                self._links.append((s.path, target))
        prefix = posixpath.dirname(sf.path)
        prefix = f"{prefix}/" if prefix else ""
        return digest_text(*(f"{p}\0{t}" for p, t in self._links if p.startswith(prefix)))


def file_limit(sf: SourceFile) -> int:
    """The most the engine reads of this file (SourceFile.data's bound)."""
    from aisec_ci.workspace.reading import DEFAULT_READ_LIMIT

    return sf.limit or max(sf.size, DEFAULT_READ_LIMIT)


# --- repository passes ---------------------------------------------------------


def repository_key(name: str, ctx: ScanContext, near: Neighbourhood, run: str) -> str | None:
    """The digest of everything scanner `name`'s whole-tree pass reads; None: not cached."""
    if name == "kubernetes":
        files = [f for f in near.ws.files if f.kind in (FileKind.KUBERNETES, FileKind.HELM_TEMPLATE)]
        contents = near.files_digest(files)
        if contents is None:
            return None
        local = sorted({near.local_kustomizations(os.path.dirname(str(f.abspath))) for f in files})
        return digest_text("kubernetes", run, contents, near.kustomizations(), *local)
    if name == "deps":
        return _deps_key(ctx, near, run)
    return None


_DEPS_NAMES = frozenset(
    {
        "pyproject.toml",
        "setup.cfg",
        "go.mod",
        "go.sum",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "Cargo.lock",
    }
)
_DEPS_SUFFIXES = (".txt", ".in", ".cfg", ".toml", ".lock")


def _deps_key(ctx: ScanContext, near: Neighbourhood, run: str) -> str | None:
    """The deps pass audits against a database: only a local one (--offline) is a fixed input.
    Not cached when it writes an SBOM (a side effect) or asks safety (a server, even local)."""
    options, env = ctx.options, ctx.env
    if not ctx.offline or options.get("sbom") or env.get("AISEC_DEPS_SBOM"):
        return None
    if "safety" in (options.get("sources") or ()):
        return None
    from aisec_ci.scanners.deps.audit import configured_databases, default_databases
    from aisec_ci.scanners.deps.collect import MANIFEST_KINDS
    from aisec_ci.scanners.deps.locks import has_lock_beside

    # Manifests, the project files markers are read from, and what `-r`/`-c` lines include.
    files = [
        f
        for f in near.ws.files
        if f.kind in MANIFEST_KINDS or posixpath.basename(f.path) in _DEPS_NAMES or f.path.endswith(_DEPS_SUFFIXES)
    ]
    contents = near.files_digest(files)
    if contents is None:
        return None
    # A lock file beside a manifest changes what is reported, git-ignored or not.
    dirs = sorted({posixpath.dirname(f.path) for f in files if f.kind in MANIFEST_KINDS})
    locks = [f"{d}={has_lock_beside(near.root, posixpath.join(d, 'x'), [])}" for d in dirs]
    database = options.get("database") or env.get("AISEC_OSV_DB")
    # Every database the audit reads: the configured ones, or each ecosystem's `db update` archive.
    paths = configured_databases(database, near.root) if database else default_databases(env)
    identities = [_database_identity(path) for path in paths]
    if any(i is None for i in identities):
        return None
    return digest_text("deps", run, contents, *locks, *(f"{p}\0{i}" for p, i in zip(paths, identities, strict=True)))


def _database_identity(path: Path) -> str | None:
    """Size and modification time of an offline database (a file, or a directory of OSV JSON):
    actions/cache restores both, so a restored database is the same one (hashing a 100 MB
    archive on every run would cost more than the audit it saves)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return _ABSENT
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return f"{st.st_size}:{st.st_mtime_ns}"
    parts: list[str] = []
    for base, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            if len(parts) >= _DB_ENTRY_LIMIT:
                return None
            entry = os.path.join(base, name)
            try:
                st = os.lstat(entry)
            except OSError:
                return None
            parts.append(f"{os.path.relpath(entry, path)}\0{st.st_size}:{st.st_mtime_ns}")
    return digest_text(*parts)


def scanner_extras(near: Neighbourhood, wanting: Sequence[tuple[Scanner, ScanContext]], sf: SourceFile) -> str | None:
    """The extras of every scanner that wants `sf`, or None when one of them is unknown."""
    parts = []
    for scanner, ctx in wanting:
        extra = near.extra(scanner.name, ctx, sf)
        if extra is None:
            return None
        parts.append(f"{scanner.name}={extra}")
    return ";".join(parts)
