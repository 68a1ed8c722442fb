"""File roles: what part a file plays in its repository (source, test, fixture, docs, vendored,
generated, release copy), so a finding in a documentation sample or a frozen release bundle is not
weighed like one in the code that ships.

A role comes from, in order: the config's `roles:` globs, the repository's `.gitattributes`
(`linguist-vendored`, `linguist-generated`, `linguist-documentation`: GitHub's own convention, the
one code-scanning users already set), then the built-in path conventions below, and last a
"generated" marker in the file's first bytes. Everything else is source.

The path rules look at directory names and file names only, so they cost a few set lookups per
file; they run once per file of the scan.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aisec_ci.workspace.kinds import DEPENDENCY_KINDS, FileKind
from aisec_ci.workspace.reading import UnreadableFile, read_bounded

if TYPE_CHECKING:
    import pathspec

    from aisec_ci.workspace.discovery import Workspace
    from aisec_ci.workspace.files import SourceFile


class Role(str, enum.Enum):
    """The value is what reports print and what config names."""

    SOURCE = "source"
    TEST = "test"
    FIXTURE = "fixture"
    DOCS = "docs"
    VENDORED = "vendored"
    GENERATED = "generated"
    RELEASE = "release"

    def __str__(self) -> str:
        return self.value


ROLE_NAMES = tuple(r.value for r in Role)

# Directory names, lower-cased. Precedence between families is the order of `_DIR_ROLES`:
# `tests/fixtures/x.yaml` is a fixture, `docs/examples/tests/x.py` a test.
_VENDORED_DIRS = frozenset(
    {
        "third_party",
        "third-party",
        "thirdparty",
        "3rdparty",
        "vendor",
        "vendored",
        "vendors",
        "node_modules",
        "bower_components",
        "site-packages",
        "swagger-ui",
        "swagger-ui-dist",
    }
)
_GENERATED_DIRS = frozenset({"generated", "__generated__", "gen-py", "zz_generated"})
_FIXTURE_DIRS = frozenset(
    {
        "testdata",
        "test_data",
        "test-data",
        "test_files",
        "testfiles",
        "fixtures",
        "fixture",
        "__fixtures__",
        "golden",
        "goldens",
        "golden_files",
        "mocks",
        "mock",
        "__mocks__",
        "__snapshots__",
        "snapshots",
        "resources_test",
    }
)
_TEST_DIRS = frozenset(
    {
        "test",
        "tests",
        "testing",
        "__tests__",
        "e2e",
        "e2e_test",
        "e2e-test",
        "e2e_tests",
        "integration_test",
        "integration_tests",
        "integration-tests",
        "unittests",
        "unit_tests",
        # Development and CI tooling: what runs there is never shipped either.
        "benchmark",
        "benchmarks",
        "perf-tests",
        ".devcontainer",
        "hack",
        "kind",  # local kind clusters
    }
)
# A kustomize overlay for tests or local development (`overlays/test-modelcache`, `overlays/dev`).
_DEV_OVERLAY = re.compile(r"(?:^|[._-])(?:test|tests|e2e|dev|development|local|ci|kind)(?:[._-]|$)")
_DOCS_DIRS = frozenset(
    {
        "docs",
        "doc",
        "documentation",
        "samples",
        "sample",
        "examples",
        "example",
        "tutorials",
        "tutorial",
        "demo",
        "demos",
        "cookbook",
        "quickstart",
        "site",
        "website",
        "proposals",
        "design",
    }
)
# Directories whose versioned children are frozen copies of a release (kserve's `install/v0.11.0/`).
_RELEASE_PARENTS = frozenset({"install", "installs", "release", "releases", "dist", "archive", "archived"})
_VERSION_DIR = re.compile(r"^v?\d+(?:\.\d+)+(?:[-+._][0-9a-z.-]+)?$")
# A directory named like `v0.20.0` anywhere is a release copy; `3.11/` alone may be a variant
# (docker-library style), so a bare number counts only under a release parent.
_TAGGED_VERSION_DIR = re.compile(r"^v\d+\.\d+\.\d+(?:[-+.][0-9a-z.-]+)?$")

_DIR_ROLES: tuple[tuple[Role, frozenset[str]], ...] = (
    (Role.VENDORED, _VENDORED_DIRS),
    (Role.GENERATED, _GENERATED_DIRS),
    (Role.FIXTURE, _FIXTURE_DIRS),
    (Role.TEST, _TEST_DIRS),
    (Role.DOCS, _DOCS_DIRS),
)

_TEST_FILE = re.compile(
    r"^(?:test_.+\.py|.+_test\.(?:py|go)|conftest\.py|.+\.(?:test|spec)\.[cm]?[jt]sx?)$",
    re.IGNORECASE,
)
# `Dockerfile.test`, `Dockerfile.conformance`, `docker-compose.e2e.yml`, `values-test.yaml`.
_TEST_NAME_TOKEN = re.compile(r"(?:^|[._-])(?:test|tests|e2e|conformance)(?:[._-]|$)", re.IGNORECASE)
_FIXTURE_FILE = re.compile(r"(?:^|[._-])(?:golden|mock|fixture)(?:[._-]|$)", re.IGNORECASE)
_VENDORED_FILE = re.compile(r"\.(?:min|bundle)\.(?:js|css|mjs|cjs)$|^jquery[.-]", re.IGNORECASE)
_GENERATED_FILE = re.compile(
    r"(?:^zz_generated.*|.+\.pb\.go|.+_pb2(?:_grpc)?\.pyi?|.+\.pb\.gw\.go|.+_generated\.go|.+\.generated\.[a-z]+)$",
    re.IGNORECASE,
)
_DOCS_EXTENSIONS = frozenset({"md", "markdown", "rst", "adoc", "asciidoc"})

# Markers tools write in the first lines of what they generate. Lock files say "@generated"
# too (Poetry, Cargo), but a vulnerable pin in a lock file is what ships: the caller does not
# look for markers in dependency manifests.
_GENERATED_MARKERS = (
    re.compile(rb"Code generated .{0,200}DO NOT EDIT", re.IGNORECASE),
    re.compile(rb"(?:^|[\s#/*'\"-])DO NOT EDIT(?:[\s.!:,]|$)"),
    re.compile(rb"@generated\b"),
    re.compile(rb"^# PIPELINE DEFINITION\s*$", re.MULTILINE),
)
MARKER_BYTES = 1024
"""Only the first bytes are searched: a marker is a header, not something quoted in the body."""


def has_generated_marker(head: bytes) -> bool:
    window = head[:MARKER_BYTES]
    return any(p.search(window) for p in _GENERATED_MARKERS)


def builtin_role(path: str) -> Role:
    """The role the path conventions alone give `path` (`/`-separated, repository-relative)."""
    parts = path.lower().split("/")
    name = parts[-1]
    dirs = parts[:-1]
    if name.startswith(".yarn") or (len(dirs) >= 2 and dirs[-2:] == [".yarn", "releases"]):
        return Role.VENDORED
    if ".github" in dirs:
        # Workflows and actions run with the repository's token and secrets, whatever their name
        # (`test-job.yaml`, `e2e-test.yml`) and wherever a checkout of them sits (a monorepo's
        # subproject, a corpus of copies): source. CI's helper images and scripts are not.
        at = dirs.index(".github")
        if at + 1 < len(dirs) and dirs[at + 1] in ("workflows", "actions"):
            return Role.SOURCE
        if at == 0:
            return Role.TEST
    if _VENDORED_FILE.search(name):
        return Role.VENDORED
    for i, d in enumerate(dirs):
        if i > 0 and dirs[i - 1] == "overlays" and _DEV_OVERLAY.search(d):
            return Role.TEST
        if _TAGGED_VERSION_DIR.match(d) or (i > 0 and dirs[i - 1] in _RELEASE_PARENTS and _VERSION_DIR.match(d)):
            return Role.RELEASE
    found: Role | None = None
    rank = len(_DIR_ROLES)
    for d in dirs:
        for i, (role, names) in enumerate(_DIR_ROLES):
            if i < rank and d in names:
                found, rank = role, i
                break
    if found is not None and rank <= 2:  # vendored, generated, fixture beat any file-name rule
        return found
    if _GENERATED_FILE.match(name):
        return Role.GENERATED
    if _FIXTURE_FILE.search(name.rpartition(".")[0] or name) and found in (None, Role.TEST, Role.DOCS):
        # `golden.yaml`, `mock_server.py` (only as a whole word: `mockingbird.py` is not one)
        return Role.FIXTURE
    if found is not None:
        return found
    if _TEST_FILE.match(name) or _TEST_NAME_TOKEN.search(name):
        return Role.TEST
    if name.rpartition(".")[2] in _DOCS_EXTENSIONS and "." in name:
        return Role.DOCS
    return Role.SOURCE


# --- .gitattributes -------------------------------------------------------------------------

_LINGUIST_ROLES = {
    "linguist-vendored": Role.VENDORED,
    "linguist-generated": Role.GENERATED,
    "linguist-documentation": Role.DOCS,
}
MAX_GITATTRIBUTES_BYTES = 1024 * 1024


@dataclass(frozen=True)
class _AttrLine:
    directory: str
    """Directory of the .gitattributes file, `` for the root, else `a/b/`."""
    spec: pathspec.GitIgnoreSpec
    role: Role
    value: bool
    """True sets the role; False (`-linguist-vendored`, `=false`) says the file is not that."""


def _attr_value(token: str) -> tuple[str, bool] | None:
    """(attribute, set?) of one gitattributes token, or None when it is not a linguist role."""
    if token.startswith(("-", "!")):
        name, value = token[1:], False
    elif "=" in token:
        name, _, raw = token.partition("=")
        value = raw.strip().lower() not in ("false", "0", "no", "off")
    else:
        name, value = token, True
    return (name, value) if name in _LINGUIST_ROLES else None


def parse_gitattributes(text: str, directory: str = "") -> list[_AttrLine]:
    """The linguist role lines of one .gitattributes file in `directory` (`` or `a/b/`)."""
    import pathspec

    out: list[_AttrLine] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, *tokens = line.split()
        attrs = [a for a in (_attr_value(t) for t in tokens) if a is not None]
        if not attrs or pattern.startswith("!"):  # git ignores negative patterns in attributes
            continue
        try:
            spec = pathspec.GitIgnoreSpec.from_lines([pattern])
        except (ValueError, TypeError):
            continue
        for name, value in attrs:
            out.append(_AttrLine(directory, spec, _LINGUIST_ROLES[name], value))
    return out


# --- the classifier ---------------------------------------------------------------------------


@dataclass
class RoleClassifier:
    """Assigns a role to each path of one scan."""

    overrides: Sequence[tuple[Role, pathspec.GitIgnoreSpec]] = ()
    """Config `roles: <role>: paths:` globs, first match wins (in ROLE order)."""
    attributes: list[_AttrLine] = field(default_factory=list)
    """.gitattributes lines, root first, then deeper files: later lines win, as in git."""
    notes: list[str] = field(default_factory=list)

    def explicit(self, path: str) -> Role | None:
        """The role config globs or .gitattributes give `path`, or None: the conventions decide."""
        for role, spec in self.overrides:
            if spec.match_file(path):
                return role
        return self._attribute_role(path)

    def role(self, path: str, *, generated_marker: bool = False) -> Role:
        explicit = self.explicit(path)
        if explicit is not None:
            return explicit
        role = builtin_role(path)
        if role is Role.SOURCE and generated_marker:
            return Role.GENERATED
        return role

    def _attribute_role(self, path: str) -> Role | None:
        decided: dict[Role, bool] = {}
        for line in self.attributes:
            if line.directory and not path.startswith(line.directory):
                continue
            if line.spec.match_file(path[len(line.directory) :]):
                decided[line.role] = line.value
        if not decided:
            return None
        for role in (Role.VENDORED, Role.GENERATED, Role.DOCS):
            if decided.get(role):
                return role
        # Only negations (`docs/api/** -linguist-documentation`): the file is what its own
        # conventions say, minus the negated roles, which fall back to source.
        builtin = builtin_role(path)
        return Role.SOURCE if decided.get(builtin) is False else None


def build_classifier(
    root: Path, gitattributes_paths: Iterable[str], globs: Mapping[str, Sequence[str]]
) -> RoleClassifier:
    """A classifier for the scan of `root`: the config's `roles:` globs (role -> patterns) and
    the `.gitattributes` files among the scanned paths. An unreadable .gitattributes is named
    in a note, never fatal."""
    import pathspec

    overrides = [
        (Role(name), pathspec.GitIgnoreSpec.from_lines(list(patterns)))
        for name in ROLE_NAMES
        if (patterns := globs.get(name))
    ]
    classifier = RoleClassifier(overrides=overrides)
    for rel in sorted(gitattributes_paths, key=lambda p: (p.count("/"), p)):
        try:
            text = read_bounded(root / rel, MAX_GITATTRIBUTES_BYTES).decode("utf-8", "replace")
        except (OSError, UnreadableFile) as exc:
            classifier.notes.append(f"{rel}: not read for file roles ({exc})")
            continue
        directory = rel.rpartition("/")[0]
        classifier.attributes.extend(parse_gitattributes(text, directory + "/" if directory else ""))
    return classifier


# Dependency manifests and lock files say "@generated" (Poetry, Cargo) but are what ships.
_NO_MARKER_KINDS = DEPENDENCY_KINDS | {FileKind.MODEL, FileKind.BINARY}


def file_roles(ws: Workspace, globs: Mapping[str, Sequence[str]], notes: list[str]) -> Callable[[str], Role]:
    """The role of each path of the scan of `ws`, as a function. Only files that have findings
    are asked about, so nothing is read (not even .gitattributes) until the first one is: a scan
    without findings pays nothing, and a file's first bytes are read for a generated marker, or a
    manifest for what it deploys, only when it has findings."""
    classifier: RoleClassifier | None = None
    own_kinds: set[tuple[str, str]] | None = None
    files = {f.path: f for f in ws.files}

    def role_of(path: str) -> Role:
        nonlocal classifier, own_kinds
        if classifier is None:
            attributes = [p for p in files if p.rpartition("/")[2] == ".gitattributes"]
            if ".gitattributes" not in attributes and (ws.root / ".gitattributes").is_file():
                attributes.append(".gitattributes")  # the root's, even when include/exclude left it out
            classifier = build_classifier(ws.root, attributes, globs)
            notes.extend(classifier.notes)
        explicit = classifier.explicit(path)
        if explicit is not None:
            return explicit
        role = builtin_role(path)
        sf = files.get(path)
        if role is not Role.SOURCE or sf is None:
            return role
        if sf.kind not in _NO_MARKER_KINDS and _marked(sf.abspath):
            return Role.GENERATED
        if sf.kind is FileKind.KUBERNETES:
            try:
                data = read_bounded(sf.abspath, MAX_CRD_BYTES)
            except OSError:
                return role
            if own_kinds is None:
                own_kinds = custom_kinds_defined_in(ws.files)
            if own_kinds and instantiates_only(data, own_kinds):
                return Role.DOCS
            return _demo_or_dev(data) or role
        return role

    return role_of


# --- samples of the repository's own custom resources ------------------------------------------
# An operator repository (kuberay, kserve, training-operator ...) defines its custom resources
# with CRDs, and ships the operator as Deployments, RBAC and those CRDs. A manifest holding only
# instances of its own custom resources (a RayCluster, an InferenceService) is a sample of how
# to use them, wherever it sits: the kubebuilder layout puts them in config/samples, but many
# repositories keep them elsewhere. Config `roles: source: paths:` says otherwise for a file.

_TOP_KIND = re.compile(rb"^kind:[ \t]*[\"']?([A-Za-z][A-Za-z0-9]*)", re.MULTILINE)
_TOP_GROUP = re.compile(rb"^apiVersion:[ \t]*[\"']?([A-Za-z0-9.-]+)/", re.MULTILINE)
_CRD_GROUP = re.compile(rb"^[ \t]+group:[ \t]*[\"']?([A-Za-z0-9.-]+)", re.MULTILINE)
_NAMES_BLOCK = re.compile(rb"^([ \t]*)names:[ \t]*\r?\n((?:\1[ \t]+.*\r?\n?)+)", re.MULTILINE)
_NAMES_KIND = re.compile(rb"^[ \t]+kind:[ \t]*[\"']?([A-Za-z][A-Za-z0-9]*)", re.MULTILINE)
MAX_CRD_BYTES = 16 * 1024 * 1024
_YAML_KINDS = frozenset({FileKind.KUBERNETES, FileKind.YAML, FileKind.HELM_TEMPLATE})


def _documents(data: bytes) -> list[bytes]:
    """The non-blank documents of a YAML stream, without their `---` separator lines. bytes.find
    runs at memchr speed; a `^---` regex tries every position of a megabyte schema."""
    docs: list[bytes] = []
    begin = 3 if data.startswith(b"---") else 0
    while True:
        at = data.find(b"\n---", begin)
        doc = data[begin : len(data) if at < 0 else at + 1]
        if doc.strip():
            docs.append(doc)
        if at < 0:
            return docs
        end = data.find(b"\n", at + 4)  # the rest of the separator line (`--- # comment`)
        if end < 0:
            return docs
        begin = end + 1


def custom_kinds_defined_in(files: Iterable[SourceFile]) -> set[tuple[str, str]]:
    """(group, kind) of every CustomResourceDefinition in the repository's own source files:
    CRDs copied in for tests or from third parties (Knative's, Istio's) define no own kinds."""
    kinds: set[tuple[str, str]] = set()
    for f in files:
        if f.kind not in _YAML_KINDS or f.size > MAX_CRD_BYTES or builtin_role(f.path) is not Role.SOURCE:
            continue
        try:
            head = read_bounded(f.abspath, 4096, truncate=True)
            if b"CustomResourceDefinition" not in head:
                continue
            data = read_bounded(f.abspath, MAX_CRD_BYTES)
        except OSError:
            continue
        for doc in _documents(data):
            if b"CustomResourceDefinition" not in doc:
                continue
            group, names = _CRD_GROUP.search(doc), _NAMES_BLOCK.search(doc)
            kind = _NAMES_KIND.search(names.group(2)) if names else None
            if group and kind:
                kinds.add((group.group(1).decode("ascii"), kind.group(1).decode("ascii")))
    return kinds


# Kinds that run something of their own: a manifest with one of them deploys more than a sample.
_WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "ReplicationController"}
)


def instantiates_only(data: bytes, kinds: set[tuple[str, str]]) -> bool:
    """Whether the manifest `data` instantiates one of `kinds`, with nothing beside it but the
    objects such a sample brings along (its ConfigMap, ServiceAccount, RBAC, Service), and no
    workload of its own."""
    found = set()
    for doc in _documents(data):
        group, kind = _TOP_GROUP.search(doc), _TOP_KIND.search(doc)
        if kind is None:
            continue
        found.add((group.group(1).decode("ascii") if group else "", kind.group(1).decode("ascii")))
    return bool(found & kinds) and not any(kind in _WORKLOAD_KINDS for _, kind in found - kinds)


def _marked(path: Path) -> bool:
    try:
        return has_generated_marker(read_bounded(path, MARKER_BYTES, truncate=True))
    except OSError:
        return False  # the scanners report an unreadable file themselves


# --- demo and development deployments ----------------------------------------------------------
# A manifest that names what it deploys a demo (`historyserver-demo`) or puts it in a development
# namespace (`minio-dev`, `azurite-dev`) says what it is, wherever the file sits.
_DEMO_TOKEN = re.compile(r"(?:^|[._-])(?:demo|example|sample|tutorial|playground|sandbox)(?:[._-]|$)")
_DEV_TOKEN = re.compile(r"(?:^|[._-])(?:dev|development|local)(?:[._-]|$)")
MAX_DEMO_BYTES = 1024 * 1024


def demo_or_dev_role(path: Path) -> Role | None:
    """DOCS when every workload of the manifest at `path` is named as a demo, TEST when every one
    runs in a development namespace, else None."""
    try:
        return _demo_or_dev(read_bounded(path, MAX_DEMO_BYTES))
    except OSError:
        return None


def _demo_or_dev(data: bytes) -> Role | None:
    """`demo_or_dev_role` of a manifest's bytes. Only small manifests are parsed (a demo is a
    page of YAML)."""
    from aisec_ci.yamlfile.stream import YamlError
    from aisec_ci.yamlfile.values import YMap, load_documents

    if len(data) > MAX_DEMO_BYTES:
        return None
    try:
        docs = load_documents(data.decode("utf-8", "replace"), max_documents=50)
    except YamlError:
        return None
    names: list[tuple[str, str]] = []
    for doc in docs:
        value = doc.value
        if not isinstance(value, YMap) or value.get("kind") not in _WORKLOAD_KINDS:
            continue
        meta = value.get("metadata")
        name = str(meta.get("name") or "") if isinstance(meta, YMap) else ""
        namespace = str(meta.get("namespace") or "") if isinstance(meta, YMap) else ""
        names.append((name.lower(), namespace.lower()))
    if not names:
        return None
    if all(_DEMO_TOKEN.search(n) or _DEMO_TOKEN.search(ns) for n, ns in names):
        return Role.DOCS
    if all(_DEV_TOKEN.search(ns) for _, ns in names):
        return Role.TEST
    return None
