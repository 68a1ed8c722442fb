"""`COPY . .` of a build context that may hold secrets, history and notebooks."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aisec_ci.findings import Finding
from aisec_ci.roles import Role, builtin_role
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.dockerignore import Pattern, is_excluded, parse_dockerignore
from aisec_ci.scanners.docker.parser import Instruction
from aisec_ci.scanners.docker.remote_code import add_sources
from aisec_ci.severity import Severity
from aisec_ci.workspace.reading import UnreadableFile, format_size, read_bounded

BROAD_COPY = Rule(
    id="docker/broad-copy-context",
    name="Whole build context copied without a protective .dockerignore",
    short_description="`COPY . .` with no `.dockerignore`, or one that does not exclude .env/.git/notebooks/secrets.",
    severity=Severity.MEDIUM,
    what="Reports `COPY`/`ADD` of the whole build context (`.`, `./`, `*`) when the Dockerfile's directory has "
    "no `.dockerignore` (nor `<Dockerfile>.dockerignore`), or when its `.dockerignore` does not exclude `.git` "
    "and `.env`, or leaves in notebooks (`*.ipynb`) and secret files (`*.pem`, `*.key`, files of a "
    "`secrets/` directory other than source code and docs, `.aws/`, `kaggle.json` ...) that exist in the context. "
    "The build context is taken to be the "
    "Dockerfile's directory, or the nearest parent inside the scanned root that holds a `.dockerignore` "
    "(`docker build -f docker/Dockerfile .`). `COPY --exclude=` patterns count like .dockerignore lines.",
    why="Everything copied becomes part of a layer that anyone who can pull the image can read: `.env` "
    "files with API keys, the `.git` history (including secrets deleted from the working tree), notebooks "
    "with outputs that show credentials and customer data, cloud credentials and private keys.",
    example="# no .dockerignore next to the Dockerfile\nCOPY . /app",
    example_language="dockerfile",
    fix="Add a `.dockerignore` next to the Dockerfile, for example:\n\n```\n.git\n**/.env\n**/.env.*\n"
    "**/*.ipynb\n**/secrets\n**/*.pem\n**/*.key\n```\n\nor copy only what the image needs "
    "(`COPY src/ /app/src/`).",
    tags=("CWE-200", "CWE-538", "secrets"),
    precision="medium",
    references=("https://docs.docker.com/build/concepts/context/#dockerignore-files",),
)

RULES = (BROAD_COPY,)

_WHOLE_CONTEXT = frozenset({".", "./", "*", "./*", "/", "**"})
# Always expected in a .dockerignore that guards a whole-context copy.
_REQUIRED = (".git", ".env")
# Sensitive things that must be excluded when they exist in the context.
_SENSITIVE_NAMES = frozenset({".env", ".git", ".aws", ".ssh", ".netrc", ".pypirc", "kaggle.json", "credentials.json"})
# Directories whose files are taken for secrets, except source code and docs kept beside them
# (`samples/secret/secret.py` shows how to use a secret; it is not one).
_SECRET_DIRS = frozenset({"secrets", "secret"})
_NOT_SECRET_SUFFIXES = (
    ".py", ".pyi", ".js", ".ts", ".go", ".java", ".rs", ".rb", ".sh", ".md", ".rst", ".html", ".css",
)  # fmt: skip
_NOT_SECRET_FILES = frozenset({".gitkeep", ".gitignore", ".keep"})
_SENSITIVE_GLOBS = ("*.ipynb", "*.pem", "*.key", "id_rsa*", "id_ed25519*", "*.p12", "*.pfx", ".env.*")
_SAFE_ENV_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults")
_SKIP_DIRS = frozenset({"node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache", ".ipynb_checkpoints"})
_WALK_LIMIT = 4000
IGNORE_READ_LIMIT = 1024 * 1024
MAX_PATTERNS = 2000
"""Real .dockerignore files hold tens of lines; every sensitive path is matched against every pattern."""
_WALK_DEPTH = 4


@dataclass(frozen=True)
class BuildContext:
    """What matters about a Dockerfile's directory, read once per directory."""

    ignore_path: str | None
    patterns: tuple[Pattern, ...]
    sensitive: tuple[str, ...]
    """Sensitive paths present in the context (relative, `/`-separated)."""
    partial: str = ""
    """Why only part of the .dockerignore was used (too large, too many patterns, unreadable), or ''."""


def is_sensitive(name: str) -> bool:
    low = name.lower()
    if low.startswith(".env.") and low.endswith(_SAFE_ENV_SUFFIXES):
        return False
    return low in _SENSITIVE_NAMES or any(fnmatch.fnmatchcase(low, g) for g in _SENSITIVE_GLOBS)


def locate(dockerfile: Path, root: Path | None) -> tuple[Path, Path | None]:
    """(build context directory, .dockerignore that applies) for a Dockerfile.

    BuildKit first reads `<Dockerfile>.dockerignore` beside the Dockerfile, then
    `.dockerignore` at the root of the context. The context is taken to be the
    Dockerfile's directory; when that has no ignore file but a parent directory
    inside the scanned root has one, the Dockerfile is most likely built from
    there (`docker build -f docker/Dockerfile .`), so that directory is used.
    """
    directory = dockerfile.parent
    own = directory / f"{dockerfile.name}.dockerignore"
    if own.is_file() and _inside(own, root):
        return directory, own
    current = directory
    while True:
        candidate = current / ".dockerignore"
        if candidate.is_file() and _inside(candidate, root):
            return current, candidate
        if root is None or current == root or current.parent == current or not _inside(current.parent, root):
            return directory, None
        current = current.parent


def read_context(context_dir: Path, ignore_path: Path | None, sensitive: tuple[str, ...] | None = None) -> BuildContext:
    """Read the .dockerignore and list the sensitive files of a build context."""
    patterns: tuple[Pattern, ...] = ()
    shown: str | None = None
    partial = ""
    if ignore_path is not None:
        shown = ignore_path.name
        try:
            # Bounded and regular files only: discovery skips a 3 GB or FIFO .dockerignore, but
            # this read is by name and must not read it whole or block on it either.
            raw = read_bounded(ignore_path, IGNORE_READ_LIMIT + 1, truncate=True)
        except UnreadableFile as exc:
            raw = b""
            partial = f"{shown} could not be read ({exc.reason})"
        else:
            if len(raw) > IGNORE_READ_LIMIT:
                # The cut may fall inside a line: that last fragment is not a pattern.
                raw = raw[: raw.rfind(b"\n", 0, IGNORE_READ_LIMIT) + 1]
                partial = f"only the first {format_size(IGNORE_READ_LIMIT)} of {shown} was read"
        parsed = parse_dockerignore(raw.decode("utf-8", errors="replace"), MAX_PATTERNS)
        if len(parsed) > MAX_PATTERNS:
            parsed = parsed[:MAX_PATTERNS]
            partial = partial or f"only the first {MAX_PATTERNS:,} patterns of {shown} were used"
        patterns = tuple(parsed)
    if sensitive is None:
        sensitive = find_sensitive(context_dir)
    return BuildContext(shown, patterns, sensitive, partial)


def _inside(path: Path, root: Path | None) -> bool:
    if root is None:
        return True
    try:
        path.resolve().relative_to(root.resolve())
    except (OSError, ValueError):
        return False
    return True


def _is_secret_dir_file(name: str) -> bool:
    """Whether a file inside a `secrets/` directory is taken for a secret."""
    low = name.lower()
    if low in _NOT_SECRET_FILES or low.startswith(("readme", "license")):
        return False
    return not low.endswith(_NOT_SECRET_SUFFIXES)


def find_sensitive(directory: Path) -> tuple[str, ...]:
    """Sensitive files under `directory`, bounded in depth and count, not following symlinks.

    A `secrets/` directory is not named itself: its files are, when they are not
    source code or docs, so the report lists what would actually leak.
    """
    found: list[str] = []
    seen = 0
    stack: list[tuple[Path, str, int, bool]] = [(directory, "", 0, False)]
    while stack and seen < _WALK_LIMIT:
        path, rel, depth, in_secret_dir = stack.pop()
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > _WALK_LIMIT:
                break
            child = f"{rel}/{entry.name}" if rel else entry.name
            if is_sensitive(entry.name):
                found.append(child)
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir and depth + 1 < _WALK_DEPTH and entry.name not in _SKIP_DIRS:
                secret_dir = in_secret_dir or entry.name.lower() in _SECRET_DIRS
                stack.append((Path(entry.path), child, depth + 1, secret_dir))
            elif not is_dir and in_secret_dir and _is_secret_dir_file(entry.name):
                found.append(child)
    return tuple(sorted(found))


def copies_whole_context(inst: Instruction) -> bool:
    if inst.keyword not in ("COPY", "ADD") or inst.flag("from") is not None or inst.heredocs:
        return False
    return any(src.strip() in _WHOLE_CONTEXT for src, _ in add_sources(inst))


def check(ctx: DockerContext, build_context: BuildContext | None) -> Iterator[Finding]:
    if build_context is None:
        return
    # What the .dockerignore alone leaves in: the same for every whole-context copy without
    # --exclude, so it is matched once, not once per COPY instruction.
    shared: tuple[list[str], list[str]] | None = None
    for inst in ctx.dockerfile.instructions:
        if not copies_whole_context(inst):
            continue
        # `COPY --exclude=PATTERN` (Dockerfile syntax 1.7) filters this copy like .dockerignore lines.
        excludes = parse_dockerignore("\n".join(inst.flags.get("exclude", [])))
        if build_context.ignore_path is None and not excludes:
            yield ctx.finding(
                BROAD_COPY,
                inst.start_line,
                f"`{inst.keyword} {inst.args.strip()}` copies the whole build context and there is no "
                ".dockerignore beside the Dockerfile; .env files, .git history and notebooks go into the image.",
                key="broad-copy:no-dockerignore",
                properties={"dockerignore": None},
            )
            return
        if excludes:
            missing, present = _left_in(build_context, list(build_context.patterns) + excludes)
        else:
            if shared is None:
                shared = _left_in(build_context, list(build_context.patterns))
            missing, present = shared
        if not missing and not present:
            continue
        shown = ", ".join((missing + present)[:8])
        more = len(missing) + len(present) - 8
        guard = build_context.ignore_path or "its --exclude list"
        properties: dict[str, object] = {
            "dockerignore": build_context.ignore_path,
            "not_excluded": missing + present,
        }
        partial = ""
        if build_context.partial:
            partial = f" ({build_context.partial})"
            properties["dockerignore_partial"] = build_context.partial
        yield ctx.finding(
            BROAD_COPY,
            inst.start_line,
            f"`{inst.keyword} {inst.args.strip()}` copies the whole build context but {guard} "
            f"does not exclude {shown}{f' and {more} more' if more > 0 else ''}{partial}.",
            key="broad-copy:weak-dockerignore:" + ",".join(missing + present),
            properties=properties,
        )
        return


def _left_in(build_context: BuildContext, patterns: list[Pattern]) -> tuple[list[str], list[str]]:
    """(required entries not excluded, sensitive paths present and not excluded)."""
    missing = [p for p in _REQUIRED if not is_excluded(p, patterns)]
    present = [
        p
        for p in build_context.sensitive
        # A sample or test notebook or key (`samples/core/caching.ipynb`, `tests/data/key.pem`) is
        # published with the repository already; what an image must not take is the real ones.
        if p not in missing and builtin_role(p) is Role.SOURCE and not is_excluded(p, patterns)
    ]
    return missing, present
