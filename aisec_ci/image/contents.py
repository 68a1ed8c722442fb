"""What the image scan does with each file of each layer, as the layer streams past.

Four kinds of files matter and are read (bounded); every other file is passed
over without being read beyond what the tar stream has to skip:
- package databases (dpkg, apk, os-release): kept as text, parsed once the
  final filesystem is known;
- Python installer metadata (dist-info, egg-info, conda-meta): parsed at once;
- model files (by name or by pickle magic): copied to a spooled temporary file
  (memory first, disk past a threshold) and walked by the models scanner;
- text files the image's own builders wrote (application code, config, home
  directories, /etc): scanned for secrets. Files of installed packages (system
  directories, site-packages, node_modules) are not: they are the distribution's
  and the package index's, already covered by the package audits, and their
  test keys and sample tokens would bury the image's real secrets.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from aisec_ci.findings import Finding
from aisec_ci.image.layers import FileSystemState, Member, Tracked
from aisec_ci.image.pythonpkgs import (
    CONDA_META,
    MAX_CONDA_META_BYTES,
    MAX_METADATA_BYTES,
    is_distro_python,
    metadata_kind,
    parse_metadata,
)
from aisec_ci.scanners.deps.model import Dependency
from aisec_ci.scanners.models.containers import Limits, Walker
from aisec_ci.scanners.models.pickle_policy import Policy
from aisec_ci.scanners.models.scanner import report_findings
from aisec_ci.scanners.models.sniff import is_model_name
from aisec_ci.scanners.models.stream import FileBlob
from aisec_ci.scanners.secrets.content import ContentScanner
from aisec_ci.severity import Severity
from aisec_ci.workspace.classify import is_binary, kind_by_name, model_magic
from aisec_ci.workspace.files import SkippedFile
from aisec_ci.workspace.kinds import FileKind
from aisec_ci.workspace.reading import format_size

PACKAGE_DATABASES = {
    "var/lib/dpkg/status": "dpkg",
    "lib/apk/db/installed": "apk",
    "etc/os-release": "os-release",
    "usr/lib/os-release": "os-release",
}
DPKG_STATUS_D = "var/lib/dpkg/status.d/"
MAX_DATABASE_BYTES = 64 * 1024 * 1024
MAX_SECRET_FILE_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_MODEL_BYTES = 2 * 1024**3
_SPOOL_IN_MEMORY = 32 * 1024 * 1024
_CHUNK = 1024 * 1024

# Trees that hold what package managers installed, not what the image's authors wrote.
_SYSTEM_PREFIXES = (
    "bin/",
    "boot/",
    "dev/",
    "lib/",
    "lib32/",
    "lib64/",
    "libx32/",
    "proc/",
    "sbin/",
    "sys/",
    "usr/bin/",
    "usr/games/",
    "usr/include/",
    "usr/lib/",
    "usr/lib32/",
    "usr/lib64/",
    "usr/libexec/",
    "usr/local/include/",
    "usr/local/lib/",
    "usr/sbin/",
    "usr/share/",
    "usr/src/",
    "var/cache/",
    "var/lib/apt/",
    "var/lib/dpkg/",
    "var/lib/rpm/",
    "etc/ssl/",
    "etc/pki/",
    "etc/ca-certificates/",
    "etc/alternatives/",
    "opt/conda/pkgs/",
)
_VENDOR_SEGMENTS = frozenset(
    {"site-packages", "dist-packages", "node_modules", "__pycache__", ".git", "share", "include", "conda-meta"}
)
_BINARY_SUFFIXES = (".so", ".a", ".o", ".pyc", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf")


# A Python installation anywhere (pyenv's /root/.pyenv/versions/3.11.7/lib/python3.11/, a bundled
# interpreter of an SDK): its standard library ships test keys, test pickles and test certificates.
_PYTHON_INSTALL_RE = re.compile(r"(?:^|/)lib/python\d+(?:\.\d+)?/")


def installed_by_a_package_manager(path: str) -> bool:
    """Whether `path` lies in a tree that package managers fill (not the image authors' own files)."""
    if path.startswith(_SYSTEM_PREFIXES) or _PYTHON_INSTALL_RE.search(path):
        return True
    return any(part in _VENDOR_SEGMENTS for part in path.split("/")[:-1])


def writes_secrets_here(path: str) -> bool:
    """Whether a text file at `path` is the image authors' own (scanned for secrets)."""
    return not path.lower().endswith(_BINARY_SUFFIXES) and not installed_by_a_package_manager(path)


@dataclass(frozen=True)
class FileResult:
    """The payload kept for one version of one file."""

    category: str
    """secrets, model, python, or a package database name (dpkg, apk, os-release)."""
    findings: tuple[Finding, ...] = ()
    dependency: Dependency | None = None
    text: str = ""


@dataclass
class Counters:
    secrets_files: int = 0
    model_files: int = 0
    python_metadata: int = 0
    databases: int = 0
    distro_python: int = 0


@dataclass
class Collector:
    """The layer walker's visitor."""

    state: FileSystemState
    options: Mapping[str, Mapping[str, Any]]
    """Scanner options from the config, by scanner name (secrets, models)."""
    run_secrets: bool = True
    run_models: bool = True
    run_packages: bool = True
    max_model_bytes: int = DEFAULT_MAX_MODEL_BYTES
    skipped: list[SkippedFile] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    _secrets: ContentScanner | None = None
    _policy: Policy | None = None

    def __call__(self, member: Member, content: IO[bytes] | None) -> None:
        if member.kind != "file" or content is None:
            return
        path = member.path
        db = PACKAGE_DATABASES.get(path) or ("dpkg-status.d" if _status_d(path) else None)
        if db is not None:
            if self.run_packages:
                self._database(member, content, db)
            return
        meta = metadata_kind(path)
        if meta is not None:
            if self.run_packages:
                self._python(member, content, meta)
            return
        if is_model_name(path):
            if path.endswith(".pth") and path.rpartition("/")[0].endswith(("site-packages", "dist-packages")):
                return  # Python's path configuration files (`distutils-precedence.pth`), not PyTorch's
            if self.run_models:
                self._model(member, content, b"")
            return
        if not writes_secrets_here(path):
            return
        if member.size > MAX_SECRET_FILE_BYTES:
            head = content.read(8)
            if self.run_models and model_magic(head) == "pickle":
                self._model(member, content, head)
            return
        data = content.read(MAX_SECRET_FILE_BYTES)
        if is_binary(data[:8192]):
            if self.run_models and model_magic(data[:512]) == "pickle":
                self._model(member, content, data)
            return
        if self.run_secrets:
            self._secret_scan(member, data)

    # --- package data ----------------------------------------------------
    def _database(self, member: Member, content: IO[bytes], db: str) -> None:
        if member.size > MAX_DATABASE_BYTES:
            self.skipped.append(
                SkippedFile(_where(member), f"package database larger than {format_size(MAX_DATABASE_BYTES)}")
            )
            return
        self.counters.databases += 1
        text = content.read(MAX_DATABASE_BYTES).decode("utf-8", errors="replace")
        self.state.put(Tracked(member.path, member.layer, FileResult(db, text=text)))

    def _python(self, member: Member, content: IO[bytes], meta: Any) -> None:
        if is_distro_python(member.path):
            self.counters.distro_python += 1
            return
        cap = MAX_CONDA_META_BYTES if meta is CONDA_META else MAX_METADATA_BYTES
        dep = parse_metadata(member.path, content.read(cap), meta)
        if dep is None:
            self.skipped.append(SkippedFile(_where(member), "installer metadata without a Name and Version"))
            return
        self.counters.python_metadata += 1
        self.state.put(Tracked(member.path, member.layer, FileResult("python", dependency=dep)))

    # --- secrets ---------------------------------------------------------
    def _secret_scan(self, member: Member, data: bytes) -> None:
        if self._secrets is None:
            # skip_allowlisted: there is no inline-suppression pass over an image's files, so other
            # tools' allow-list comments (`# pragma: allowlist secret`) are honoured here directly.
            self._secrets = ContentScanner(self.options.get("secrets", {}), skip_allowlisted=True)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        text = data.decode("utf-8", errors="replace")
        kind = kind_by_name(member.path) or FileKind.TEXT
        self.counters.secrets_files += 1
        findings = self._secrets.scan(member.path, text, kind)
        if findings:
            self.state.put(Tracked(member.path, member.layer, FileResult("secrets", tuple(findings))))

    # --- models ----------------------------------------------------------
    def _model(self, member: Member, content: IO[bytes], head: bytes) -> None:
        if member.size > self.max_model_bytes:
            self.skipped.append(
                SkippedFile(
                    _where(member),
                    f"model file of {format_size(member.size)}, above the image scan's "
                    f"{format_size(self.max_model_bytes)} cap: copy it out and run `aisec-ci scan` on it",
                )
            )
            return
        if self._policy is None:
            opts = self.options.get("models", {})
            self._policy = Policy(
                extra_allowed=frozenset(str(x) for x in opts.get("allowed_globals", ())),
                extra_denied=frozenset(str(x) for x in opts.get("denied_globals", ())),
            )
        self.counters.model_files += 1
        # One file at a time, never the layer: memory up to a threshold, a temporary file past it.
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
            spool.write(head)
            shutil.copyfileobj(content, spool, _CHUNK)
            size = spool.tell()
            walker = Walker(Limits(), self._policy)
            report = walker.scan(FileBlob(spool, size), member.path.rpartition("/")[2], model_path=True)  # type: ignore[arg-type]
        findings = tuple(report_findings(report, member.path, self._policy))
        if installed_by_a_package_manager(member.path):
            # Libraries' and the distribution's own data files (scipy's IDL `.sav` test files,
            # CPython's `randv2_32.pck`, firmware `.bin`) are no models the image serves: only a
            # payload that runs code when loaded is worth a reviewer's time there.
            findings = tuple(f for f in findings if f.severity >= Severity.HIGH)
            report.unscanned.clear()
        if not findings and report.unscanned:
            self.skipped.append(SkippedFile(_where(member), "; ".join(report.unscanned[:3])))
        if findings:
            self.state.put(Tracked(member.path, member.layer, FileResult("model", findings)))


def _status_d(path: str) -> bool:
    if not path.startswith(DPKG_STATUS_D):
        return False
    name = path[len(DPKG_STATUS_D) :]
    # Distroless writes `status.d/<package>` plus `<package>.md5sums`; only the former is a stanza.
    return "/" not in name and not name.endswith(".md5sums")


def _where(member: Member) -> str:
    return f"{member.path} (layer {member.layer})"
