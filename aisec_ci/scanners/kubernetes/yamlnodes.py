"""YAML (and JSON) documents as plain Python values that remember their lines.

The rules need two things at once: ordinary dict/list access to the document,
and the line of every key so a finding points at the offending key. We compose
with the safe loader (never construct arbitrary objects), then convert the node
graph into `YMap`/`YList`, which are dict/list subclasses carrying line tables.

Aliases are shared nodes in the composed graph; expanding them is where an
"alias bomb" (billion laughs) costs exponential time and memory. The
conversion counts every node it produces, aliases included, and gives up past
a fixed budget, so the cost of a file is bounded by its size plus that budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

# The C loader is ~10x faster on large manifests and enforces its own nesting
# limit; the pure-Python one gives the same nodes and marks.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MIN_NODE_BUDGET = 200_000
"""Converted nodes allowed per file, aliases expanded, on top of one per byte:
a node takes at least two bytes of text unless it is an alias, so only alias
expansion can reach the budget."""
MAX_DEPTH = 200
"""Nesting depth: real manifests stay below 30."""
MAX_DOCUMENTS = 20_000
"""Documents per file; a 10,000-document file is still scanned, linearly."""

_TAG_PREFIX = "tag:yaml.org,2002:"


class YamlLoadError(Exception):
    """The text is not loadable YAML/JSON; `reason` names the line."""

    def __init__(self, reason: str, line: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


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


def _mark_line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _mark_column(node: yaml.Node) -> int:
    return int(node.start_mark.column) + 1


class _Converter:
    """Turns composed nodes into YMap/YList/scalars within a node budget."""

    def __init__(self, max_nodes: int) -> None:
        self.limit = max_nodes
        self.budget = max_nodes
        self._scalars = SafeConstructor()

    def convert(self, node: yaml.Node, depth: int = 0) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise YamlLoadError(
                f"more than {self.limit} YAML nodes after expanding aliases (an alias bomb?)", _mark_line(node)
            )
        if depth > MAX_DEPTH:
            raise YamlLoadError(f"nesting deeper than {MAX_DEPTH} levels", _mark_line(node))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            seq = YList(_mark_line(node), _mark_column(node))
            for item in node.value:
                seq.append(self.convert(item, depth + 1))
                seq.item_lines.append(_mark_line(item))
            return self._tagged(node, seq)
        if isinstance(node, yaml.MappingNode):
            return self._tagged(node, self._mapping(node, depth))
        return None  # pragma: no cover - the composer makes only the three node types

    def _mapping(self, node: yaml.MappingNode, depth: int) -> YMap:
        out = YMap(_mark_line(node), _mark_column(node))
        merges: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG_PREFIX + "merge":
                merges.append(self.convert(value_node, depth + 1))
                continue
            key = self._key(key_node)
            if key in out:
                out.duplicates.append((key, _mark_line(key_node)))
            out[key] = self.convert(value_node, depth + 1)
            out.key_lines[key] = _mark_line(key_node)
            out.key_columns[key] = _mark_column(key_node)
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
        return f"<complex key at line {_mark_line(node)}>"

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
        out = YMap(_mark_line(node), _mark_column(node))
        out[long_name] = value
        out.key_lines[long_name] = _mark_line(node)
        out.key_columns[long_name] = _mark_column(node)
        return out


def _problem_line(exc: yaml.YAMLError, text: str) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    position = getattr(exc, "position", None)  # a ReaderError (a NUL byte, say) has only an offset
    if isinstance(position, int) and 0 <= position <= len(text):
        return text.count("\n", 0, position) + 1
    return 1


def describe_error(exc: yaml.YAMLError, text: str) -> str:
    """A one-line reason with the line, without echoing file content."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"invalid YAML at line {_problem_line(exc, text)}: {problem}"


def load_documents(text: str, *, max_nodes: int | None = None, max_documents: int = MAX_DOCUMENTS) -> list[Document]:
    """Every document of `text`, converted; raises YamlLoadError on bad input."""
    converter = _Converter(max_nodes if max_nodes is not None else MIN_NODE_BUDGET + len(text))
    docs: list[Document] = []
    try:
        for index, node in enumerate(yaml.compose_all(text, Loader=_LOADER)):
            if index >= max_documents:
                raise YamlLoadError(f"more than {max_documents} YAML documents in one file", _mark_line(node))
            if node is None:
                continue
            docs.append(Document(converter.convert(node), _mark_line(node), index))
    except yaml.YAMLError as exc:
        raise YamlLoadError(describe_error(exc, text), _problem_line(exc, text)) from None
    except RecursionError:
        raise YamlLoadError(f"nesting deeper than {MAX_DEPTH} levels") from None
    return docs


def load_single(text: str, *, max_nodes: int | None = None) -> Any:
    """The one document of `text` (JSON is read this way too, to keep lines)."""
    docs = load_documents(text, max_nodes=max_nodes, max_documents=2)
    if len(docs) > 1:
        raise YamlLoadError("expected a single document", docs[1].line)
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
