"""The scanner seam: what a scanner is, and what it is given.

A scanner knows nothing of GitHub, SARIF or exit codes. It declares its rules
and the file kinds it wants, and turns one file into findings. The engine runs
it over many files in worker processes, so a scanner instance must be
constructible from its options alone and must not depend on state shared
between files (except read-only caches it builds itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.workspace.files import SkippedFile, SourceFile
from aisec_ci.workspace.kinds import FileKind


@dataclass(frozen=True)
class ScanContext:
    """Read-only facts about the run that a scanner may use."""

    root: Path
    """Absolute path of the scanned root."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """This scanner's section of `.aisec.yml`, validated by `options_schema`."""
    offline: bool = False
    """True when the user asked for no network use at all."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Selected environment (base URLs, API keys) captured in the parent process."""
    rule_switches: Mapping[str, bool] = field(default_factory=dict)
    """Rule ids whose `enabled` the config sets, with the value. A scanner that reports
    several checks as one finding uses it to leave out, or report on their own, the
    checks a user switched off or on; the pipeline still applies the setting itself."""


class SkipFile(Exception):
    """Raised by `scan_file` when a scanner deliberately does not scan a file it
    was given (a Helm template it cannot render, an encrypted archive): the
    file is listed as skipped with this reason instead of silently passing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Scanner:
    """Base class for scanners. Subclasses set the class attributes and
    implement `scan_file`; `scan_repository` is for checks that need the whole
    tree (git history, cross-file resolution) and runs once per scan, in the
    first shard only."""

    name: ClassVar[str] = ""
    """Scanner name used by `--scanners` and the config (`deps`, `secrets`, ...)."""
    description: ClassVar[str] = ""
    """One line for `aisec-ci rules` and the README."""
    rules: ClassVar[tuple[Rule, ...]] = ()
    """Every rule this scanner can report."""
    kinds: ClassVar[frozenset[FileKind]] = frozenset()
    """File kinds `scan_file` is called for."""
    options_schema: ClassVar[Mapping[str, Any]] = {"type": "object", "additionalProperties": False, "properties": {}}
    """JSON Schema of this scanner's config section (unknown keys are errors)."""

    def __init__(self, context: ScanContext) -> None:
        self.context = context
        self.notes: list[str] = []
        """Messages for the report (a source that was down, data that was stale);
        read by the pipeline after `scan_repository`."""
        self.skipped: list[SkippedFile] = []
        """Files `scan_repository` could not use, with the reason (a manifest that
        does not parse); listed as skipped like a `SkipFile` from `scan_file`."""

    def wants(self, file: SourceFile) -> bool:
        """Whether `scan_file` should see this file; override for finer choices."""
        return file.kind in self.kinds

    def scan_file(self, file: SourceFile) -> Iterable[Finding]:
        """Yield findings for one file. Raise freely: the engine turns an
        exception into a `core/scan-error` finding for this file and goes on."""
        return ()

    def scan_repository(self, files: list[SourceFile]) -> Iterable[Finding]:
        """Yield findings that need the whole tree; runs in the parent process."""
        return ()
