"""YAML (and JSON) documents as plain Python values that remember their lines.

The rules need two things at once: ordinary dict/list access to the document,
and the line of every key so a finding points at the offending key. Documents
come composed and measured from `stream` (safe loader, document cap, alias
budget); here the node graph becomes `YMap`/`YList`, dict/list subclasses
carrying line tables.

A node reached through several aliases is converted once and shared: the
values are read, never changed, so sharing costs nothing and keeps a merge
fan-out linear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from aisec_ci.yamlfile.stream import (
    MAX_DOCUMENTS,
    YamlError,
    compose_documents,
    is_merge_key,
    mark_column,
    mark_line,
)

__all__ = ["MAX_DOCUMENTS", "Document", "YList", "YMap", "YamlError", "get_path", "line_of", "load_documents"]

_TAG_PREFIX = "tag:yaml.org,2002:"


class YMap(dict[str, Any]):
    """A mapping whose keys remember the line and column they were written on."""

    line: int
    column: int
    key_lines: dict[str, int]
    key_columns: dict[str, int]
    duplicates: list[tuple[str, int]]
    """Keys written twice: (key, line of the later one). The later value wins."""

    def __init__(self, line: int = 1, column: int = 1) -> None:
        super().__init__()
        self.line = line
        self.column = column
        self.key_lines = {}
        self.key_columns = {}
        self.duplicates = []

    def line_of(self, key: str) -> int:
        """Line of `key`, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)

    def column_of(self, key: str) -> int:
        return self.key_columns.get(key, self.column)


class YList(list[Any]):
    """A sequence whose items remember their lines."""

    line: int
    column: int
    item_lines: list[int]

    def __init__(self, line: int = 1, column: int = 1) -> None:
        super().__init__()
        self.line = line
        self.column = column
        self.item_lines = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


@dataclass(frozen=True)
class Document:
    """One document of a multi-document stream."""

    value: Any
    line: int
    """Line where the document's content starts."""
    index: int
    """0-based position in the stream."""


class _Converter:
    """Turns composed (already measured) nodes into YMap/YList/scalars."""

    def __init__(self) -> None:
        self._scalars = SafeConstructor()
        # Keyed by id(): the document being converted keeps every node alive.
        self._done: dict[int, Any] = {}

    def convert(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        done = self._done.get(id(node))
        if done is not None:
            return done
        if isinstance(node, yaml.SequenceNode):
            seq = YList(mark_line(node), mark_column(node))
            for item in node.value:
                seq.append(self.convert(item))
                seq.item_lines.append(mark_line(item))
            out = self._tagged(node, seq)
        elif isinstance(node, yaml.MappingNode):
            out = self._tagged(node, self._mapping(node))
        else:  # pragma: no cover - the composer makes only the three node types
            return None
        self._done[id(node)] = out
        return out

    def _mapping(self, node: yaml.MappingNode) -> YMap:
        out = YMap(mark_line(node), mark_column(node))
        merges: list[Any] = []
        for key_node, value_node in node.value:
            if is_merge_key(key_node):
                merges.append(self.convert(value_node))
                continue
            key = self._key(key_node)
            if key in out:
                out.duplicates.append((key, mark_line(key_node)))
            out[key] = self.convert(value_node)
            out.key_lines[key] = mark_line(key_node)
            out.key_columns[key] = mark_column(key_node)
        # `<<: *base` fills only the keys the mapping does not set itself.
        for merged in merges:
            sources = merged if isinstance(merged, list) else [merged]
            for src in sources:
                if not isinstance(src, YMap):
                    continue
                for k, v in src.items():
                    if k not in out:
                        out[k] = v
                        out.key_lines[k] = src.line_of(k)
                        out.key_columns[k] = src.column_of(k)
        return out

    def _key(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.ScalarNode):
            value = self._scalar(node)
            if value is None:
                return "null" if node.value in ("null", "Null", "NULL", "~") else str(node.value)
            if isinstance(value, bool):
                return str(node.value)
            return str(value)
        # Complex keys (`? [a, b]`) never appear in the formats we read.
        return f"<complex key at line {mark_line(node)}>"

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag or ""
        if tag.startswith(_TAG_PREFIX):
            kind = tag[len(_TAG_PREFIX) :]
            if kind in ("str", "binary", "timestamp"):
                return str(node.value)
            if kind in ("int", "float", "bool", "null"):
                try:
                    return self._scalars.construct_object(node)
                except (yaml.YAMLError, ValueError):
                    return str(node.value)
            return str(node.value)
        value: Any = str(node.value)
        return self._tagged(node, value)

    @staticmethod
    def _tagged(node: yaml.Node, value: Any) -> Any:
        """Local tags (CloudFormation `!Ref x`, `!Sub ...`) become their long form."""
        tag = node.tag or ""
        if not tag.startswith("!") or tag.startswith("!!"):
            return value
        name = tag[1:]
        long_name = name if name == "Ref" else f"Fn::{name}"
        if name == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        out = YMap(mark_line(node), mark_column(node))
        out[long_name] = value
        out.key_lines[long_name] = mark_line(node)
        out.key_columns[long_name] = mark_column(node)
        return out


def load_documents(text: str, *, max_documents: int = MAX_DOCUMENTS) -> list[Document]:
    """Every document of `text`, converted; raises YamlError on bad input (the
    reason names the line), past `max_documents` documents, and for alias bombs."""
    # One converter per document: its memo is keyed by id(), and a finished document's
    # nodes are freed, so their ids come back in the next one.
    return [
        Document(_Converter().convert(node), mark_line(node), index)
        for index, node in compose_documents(text, max_documents=max_documents)
    ]


def load_single(text: str) -> Any:
    """The one document of `text` (JSON is read this way too, to keep lines)."""
    docs = load_documents(text, max_documents=2)
    if len(docs) > 1:
        raise YamlError("expected a single document", docs[1].line)
    return docs[0].value if docs else None


def get_path(value: Any, *keys: str | int) -> Any:
    """value[k1][k2]... or None as soon as a step is missing or of the wrong type."""
    cur = value
    for k in keys:
        if isinstance(k, int):
            if not isinstance(cur, list) or not -len(cur) <= k < len(cur):
                return None
            cur = cur[k]
        else:
            if not isinstance(cur, dict):
                return None
            cur = cur.get(k)
    return cur


def line_of(container: Any, key: str | int, default: int = 1) -> int:
    """Line of a key in a YMap or an index in a YList, tolerant of plain values."""
    if isinstance(container, YMap) and isinstance(key, str):
        return container.line_of(key)
    if isinstance(container, YList) and isinstance(key, int):
        return container.line_of(key)
    if isinstance(container, (YMap, YList)):
        return container.line
    return default
