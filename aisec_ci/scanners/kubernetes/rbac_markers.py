"""RBAC a controller declares in its own Go code.

Operators built with kubebuilder/controller-gen write their permissions beside the code that uses
them (`// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get;list;watch`), and generate
`config/rbac/role.yaml` from those markers. A ClusterRole that reads Secrets because the
controller's reconciler says it must (KubeRay creating TLS secrets for its clusters, KServe reading
storage credentials of every InferenceService's namespace) is the operator's design: worth
knowing when the operator is installed, not a defect in the manifest its maintainers can fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aisec_ci.scanners.common.treewalk import SKIP_DIRS, walk_tree

_MARKER = b"+kubebuilder:rbac:"
_LINE = re.compile(rb"^\s*//\s*\+kubebuilder:rbac:(\S+)", re.MULTILINE)
_SKIP_DIRS = SKIP_DIRS | {"third_party"}
_READ_VERBS = frozenset({"get", "list", "watch", "*"})
MAX_GO_FILE = 1024 * 1024
MAX_DIRS = 20_000


@dataclass(frozen=True)
class Declared:
    """The kubebuilder markers that ask to read Secrets: the first (path relative to the root,
    1-based line) and how many there are."""

    path: str
    line: int
    count: int

    def describe(self) -> str:
        more = f" and {self.count - 1} more" if self.count > 1 else ""
        return f"{self.path}:{self.line}{more}"


def secret_reads_declared(root: Path) -> Declared | None:
    """The kubebuilder RBAC markers in the tree's Go code that grant a read verb on core
    `secrets`, or None. Bounded: at most MAX_DIRS directories, files up to 1 MiB."""
    first: tuple[str, int] | None = None
    count = 0
    for path in _go_files(root):
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_GO_FILE + 1)
        except OSError:
            continue
        if len(data) > MAX_GO_FILE or _MARKER not in data:
            continue
        for match in _LINE.finditer(data):
            if _reads_secrets(match.group(1).decode("utf-8", "replace")):
                count += 1
                if first is None:
                    first = (Path(path).relative_to(root).as_posix(), data.count(b"\n", 0, match.start()) + 1)
    return None if first is None else Declared(first[0], first[1], count)


def _reads_secrets(spec: str) -> bool:
    fields: dict[str, set[str]] = {}
    for part in spec.split(","):
        key, _, value = part.partition("=")
        fields[key.strip()] = {v.strip().strip('"') for v in value.split(";")}
    groups = fields.get("groups", {""})
    return (
        bool(groups & {"", "core", "*"})
        and bool(fields.get("resources", set()) & {"secrets", "*"})
        and bool(fields.get("verbs", set()) & _READ_VERBS)
    )


def _go_files(root: Path) -> Iterator[str]:
    for base, names in walk_tree(root, MAX_DIRS, _SKIP_DIRS):
        for name in sorted(names):
            if name.endswith(".go") and not name.endswith("_test.go"):
                yield os.path.join(base, name)
