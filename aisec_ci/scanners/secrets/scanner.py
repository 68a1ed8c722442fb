"""The `secrets` scanner: hard-coded credentials in every text file, notebooks included."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import Scanner, SkipFile
from aisec_ci.scanners.secrets.content import ALL_RULES, HIGH_ENTROPY_ID, SPECIFIC_DETECTORS, ContentScanner, prefilter
from aisec_ci.scanners.secrets.history import scan_history
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import TEXT_KINDS, FileKind

# Re-exported: the baseline reader and tests know them from here.
__all__ = ["ALL_RULES", "HIGH_ENTROPY_ID", "SPECIFIC_DETECTORS", "SecretsScanner", "prefilter"]

BASELINE_FILES = frozenset({".secrets.baseline", ".aisec-baseline.json"})


class SecretsScanner(Scanner):
    name: ClassVar[str] = "secrets"
    description: ClassVar[str] = (
        "Hard-coded credentials (AI providers, cloud, code hosts, keys, tokens, passwords) in code, config and "
        "notebooks; offline format validation, never printed."
    )
    rules: ClassVar[tuple[Rule, ...]] = ALL_RULES
    kinds: ClassVar[frozenset[FileKind]] = TEXT_KINDS
    options_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "generic": {
                "type": "boolean",
                "description": "Run the keyword and entropy checks (secrets/generic-secret, high-entropy-string).",
            },
            "entropy": {"type": "boolean", "description": "Run the entropy check (secrets/high-entropy-string)."},
            "decode": {
                "type": "boolean",
                "description": "Decode base64 values of Kubernetes Secrets and docker auths.",
            },
            "history": {
                "type": "string",
                "minLength": 1,
                "description": "Also scan git history: a revision range such as `origin/main..HEAD`, or `all` for "
                "every unique blob reachable from any ref.",
            },
            "lower-severity-in-tests": {
                "type": "boolean",
                "description": "Lower the severity one step for paths naming test, fixture, example, fake, dummy "
                "(never for a key whose checksum or structure proves it real).",
            },
        },
    }

    _content: ContentScanner | None = None

    @property
    def content(self) -> ContentScanner:
        if self._content is None:
            self._content = ContentScanner(self.context.options)
        return self._content

    def scan_repository(self, files: list[SourceFile]) -> Iterable[Finding]:
        history = self.context.options.get("history")
        if not history:
            return []
        rev_range = None if history == "all" else str(history)
        return scan_history(self.context.root, rev_range, dict(self.context.options), exclude_head=True)

    def scan_file(self, file: SourceFile) -> Iterable[Finding]:
        if file.path.rsplit("/", 1)[-1] in BASELINE_FILES:
            # Baselines hold one-way hashes of accepted secrets by design; reporting them is noise.
            raise SkipFile("a secrets baseline (hashes of accepted findings, not secrets)")
        text = file.text
        # Only Kubernetes Secret decoding needs lines; don't split every file for it.
        lines = file.lines if "Secret" in text else None
        return sorted(self.scan_content(file.path, text, file.kind, lines), key=Finding.sort_key)

    def scan_content(self, path: str, text: str, kind: FileKind, lines: list[str] | None = None) -> list[Finding]:
        """Scan one file's text (see `ContentScanner.scan`)."""
        return self.content.scan(path, text, kind, lines)
