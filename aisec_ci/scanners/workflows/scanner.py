"""The `workflows` scanner: GitHub Actions workflows and action metadata files."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import Scanner, SkipFile
from aisec_ci.scanners.workflows import (
    cache_poisoning,
    commands,
    credentials,
    permissions,
    publishing,
    runners,
    template_injection,
    unpinned,
    untrusted_code,
)
from aisec_ci.scanners.workflows.loader import load_yaml
from aisec_ci.scanners.workflows.model import WorkflowDoc
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

_CHECKS: tuple[Callable[[WorkflowDoc], Iterator[Finding]], ...] = (
    template_injection.check,
    untrusted_code.check,
    unpinned.check,
    permissions.check,
    credentials.check,
    commands.check,
    runners.check,
    cache_poisoning.check,
    publishing.check,
)
_ACTION_NAMES = frozenset({"action.yml", "action.yaml"})
_OWNER_PATTERN = r"^[A-Za-z0-9_.*?\-]+(?:/[A-Za-z0-9_.*?/\-]+)?$"


def is_workflow_path(path: str) -> bool:
    """`.github/workflows/<name>.yml|yaml` directly (GitHub ignores subdirectories)."""
    directory, name = posixpath.split(path)
    return (directory == ".github/workflows" or directory.endswith("/.github/workflows")) and name.lower().endswith(
        (".yml", ".yaml")
    )


def is_action_path(path: str) -> bool:
    return posixpath.basename(path).lower() in _ACTION_NAMES


class WorkflowsScanner(Scanner):
    name: ClassVar[str] = "workflows"
    description: ClassVar[str] = (
        "GitHub Actions workflows and composite actions: template injection, pwn requests, unpinned actions "
        "and images, token permissions, credential exposure, self-hosted runners, cache poisoning."
    )
    rules: ClassVar[tuple[Rule, ...]] = (
        template_injection.RULES
        + untrusted_code.RULES
        + unpinned.RULES
        + permissions.RULES
        + credentials.RULES
        + commands.RULES
        + runners.RULES
        + cache_poisoning.RULES
        + publishing.RULES
    )
    kinds: ClassVar[frozenset[FileKind]] = frozenset({FileKind.WORKFLOW, FileKind.ACTION})
    options_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "allowed_unpinned_owners": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "pattern": _OWNER_PATTERN},
                "uniqueItems": True,
                "description": "Action owners (`myorg`), repositories (`myorg/deploy`) or glob patterns "
                "(`myorg/*`) that may be referenced by tag or branch without a finding from "
                "workflows/unpinned-action.",
            },
            "self_hosted_labels": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "uniqueItems": True,
                "description": "Extra `runs-on` labels that mean a self-hosted runner (for example `gpu`, "
                "`a100`, `linux-amd64-cpu4`) for workflows/self-hosted-runner.",
            },
        },
    }

    def wants(self, file: SourceFile) -> bool:
        if file.kind in self.kinds:
            return True
        # The classifier may call these plain YAML; the path alone decides what GitHub will run.
        return file.kind in (FileKind.YAML, FileKind.TEXT) and (
            is_workflow_path(file.path) or is_action_path(file.path)
        )

    def scan_file(self, file: SourceFile) -> Iterable[Finding]:
        root = load_yaml(file.text)
        if root is None:
            return []
        if not root.is_map:
            kind = "sequence" if root.is_seq else "scalar"
            raise SkipFile(f"not a workflow or action: the top level is a {kind}, not a mapping")
        is_action = file.kind is FileKind.ACTION or (file.kind is not FileKind.WORKFLOW and is_action_path(file.path))
        doc = WorkflowDoc.build(file, root, is_action, self.context.options)
        findings: list[Finding] = []
        for check in _CHECKS:
            findings.extend(check(doc))
        findings.sort(key=lambda f: (f.start_line, f.start_column, f.rule_id, f.key))
        return findings
