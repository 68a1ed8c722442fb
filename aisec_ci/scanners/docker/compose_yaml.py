"""Compose files as composed YAML nodes, so every value keeps its line.

The YAML is composed (never constructed) by `aisec_ci.yamlfile.stream`, which
refuses alias bombs and files past the document cap before any check runs.
Aliases stay shared nodes; the walk still counts its visits, because checks
read the same mappings many times, and that work must stay bounded too.
"""

from __future__ import annotations

import yaml

from aisec_ci.scanners.base import SkipFile
from aisec_ci.yamlfile.stream import YamlError, compose_documents, is_merge_key

MAX_NODE_VISITS = 200_000


class NodeBudget:
    """Counts node visits for one file and stops the walk past the limit."""

    def __init__(self, path: str, limit: int = MAX_NODE_VISITS) -> None:
        self.path = path
        self.limit = limit
        self.used = 0
        # Mappings are read many times (one lookup per key); merged views are built once.
        # Keyed by id(): the composed document keeps every node alive during the walk.
        self._items: dict[int, list[tuple[str, yaml.Node, yaml.Node]]] = {}

    def spend(self, n: int = 1) -> None:
        self.used += n
        if self.used > self.limit:
            raise SkipFile(f"YAML too large to walk: more than {self.limit} node visits; not scanned")

    def items(self, node: yaml.Node | None, _depth: int = 0) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """(key, key node, value node) of a mapping, with `<<` merge keys applied (explicit keys win)."""
        if not isinstance(node, yaml.MappingNode) or _depth > 20:
            return []
        cached = self._items.get(id(node))
        if cached is not None:
            self.spend()
            return cached
        self.spend(len(node.value) + 1)
        own: list[tuple[str, yaml.Node, yaml.Node]] = []
        merged: list[tuple[str, yaml.Node, yaml.Node]] = []
        for k, v in node.value:
            if is_merge_key(k):
                sources = v.value if isinstance(v, yaml.SequenceNode) else [v]
                for src in sources:
                    merged.extend(self.items(src, _depth + 1))
                continue
            key = k.value if isinstance(k, yaml.ScalarNode) else ""
            own.append((str(key), k, v))
        out = own
        if merged:
            names = {k for k, _, _ in own}
            out = list(own)
            for entry in merged:
                if entry[0] not in names:
                    names.add(entry[0])
                    out.append(entry)
        self._items[id(node)] = out
        return out

    def get(self, node: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
        for k, knode, vnode in self.items(node):
            if k == key:
                return knode, vnode
        return None

    def sequence(self, node: yaml.Node | None) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            return []
        self.spend(len(node.value) + 1)
        return list(node.value)


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def scalar(node: yaml.Node | None) -> str | None:
    """The text of a scalar node (None for collections and missing nodes)."""
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return None


def load_documents(text: str) -> list[yaml.Node]:
    """Every document's root node; bad YAML, an alias bomb or too many documents
    become a SkipFile naming the line or the cap."""
    try:
        return [node for _, node in compose_documents(text)]
    except YamlError as exc:
        raise SkipFile(exc.reason) from None
