"""YAML loading that keeps a position for every key and value.

The YAML is only parsed (never constructed) with the safe loader's parser, so
no tag can instantiate anything, and every node keeps its marks. Parser events
become a small tree of `Node`s. Aliases share the node they refer to instead
of copying it, and the size the tree would have if every alias were expanded
is computed along the way and charged to the shared YAML budget
(`aisec_ci.yamlfile.stream`): a billion-laughs document is refused before any
check walks it, at the same bound as everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from aisec_ci.scanners.base import SkipFile
from aisec_ci.yamlfile.stream import (
    LOADER,
    MAX_DEPTH,
    ExpansionBudget,
    YamlError,
    expansion_budget,
    syntax_error,
    too_deep,
)


@dataclass(eq=False, slots=True)
class Node:
    """One YAML node with its place in the source (lines and columns 1-based)."""

    kind: str
    """`map`, `seq` or `scalar`."""
    line: int
    column: int
    end_line: int
    start: int
    """Character offset of the node in the source text."""
    end: int
    value: str = ""
    """Scalar text (for `map`/`seq`, empty)."""
    style: str | None = None
    """Scalar style: None (plain), `'`, `"`, `|` or `>`."""
    items: list[Node] = field(default_factory=list)
    """Sequence entries."""
    pairs: dict[str, tuple[Node, Node]] = field(default_factory=dict)
    """Mapping entries by key text: (key node, value node), in source order."""

    @property
    def is_map(self) -> bool:
        return self.kind == "map"

    @property
    def is_seq(self) -> bool:
        return self.kind == "seq"

    @property
    def is_scalar(self) -> bool:
        return self.kind == "scalar"

    def get(self, key: str) -> Node | None:
        """Value of `key` in a mapping, or None (also for non-mappings)."""
        pair = self.pairs.get(key) if self.kind == "map" else None
        return pair[1] if pair else None

    def key_node(self, key: str) -> Node | None:
        pair = self.pairs.get(key) if self.kind == "map" else None
        return pair[0] if pair else None

    def text(self, key: str) -> str | None:
        """Scalar value of `key`, or None when absent or not a scalar."""
        node = self.get(key)
        return node.value if node is not None and node.kind == "scalar" else None

    def entries(self) -> Iterator[tuple[str, Node, Node]]:
        for name, (k, v) in self.pairs.items():
            yield name, k, v

    def scalars(self) -> Iterator[Node]:
        """Every scalar below this node (values only, keys excluded), in source order."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            if node.kind == "scalar":
                yield node
            elif node.kind == "seq":
                stack.extend(reversed(node.items))
            else:
                stack.extend(v for _, v in reversed(list(node.pairs.values())))

    def as_strings(self) -> list[str]:
        """A scalar as a one-item list, a sequence of scalars as a list; other shapes give []."""
        if self.kind == "scalar":
            return [self.value]
        if self.kind == "seq":
            return [i.value for i in self.items if i.kind == "scalar"]
        return []


def is_false(node: Node | None) -> bool:
    """YAML 1.2 `false` as GitHub reads it (the 1.1 spellings `no`/`off` are strings there)."""
    return node is not None and node.kind == "scalar" and node.style is None and node.value.lower() == "false"


def is_true(node: Node | None) -> bool:
    return node is not None and node.kind == "scalar" and node.style is None and node.value.lower() == "true"


class _Frame:
    """A mapping or sequence whose end event has not arrived yet."""

    __slots__ = ("anchor", "merges", "node", "pending_key", "size")

    def __init__(self, node: Node, anchor: str | None) -> None:
        self.node = node
        self.anchor = anchor
        self.size = 1
        self.pending_key: Node | None = None
        self.merges: list[Node] = []


# Shared, never mutated: only sequences get their own `items`, only mappings their own `pairs`.
# On a 10 MB workflow this saves a list and a dict per scalar (tens of MB).
_NO_ITEMS: list[Node] = []
_NO_PAIRS: dict[str, tuple[Node, Node]] = {}


def _node(kind: str, start: Any, end: Any) -> Node:
    return Node(
        kind=kind,
        line=start.line + 1,
        column=start.column + 1,
        end_line=end.line + 1 if end.column > 0 or end.line == start.line else end.line,
        start=start.index,
        end=end.index,
        items=[] if kind == "seq" else _NO_ITEMS,
        pairs={} if kind == "map" else _NO_PAIRS,
    )


def _close_map(frame: _Frame) -> None:
    # Explicit keys win over merged ones, earlier merges over later ones (YAML merge spec).
    for merged in frame.merges:
        sources = merged.items if merged.kind == "seq" else [merged]
        for source in sources:
            if source.kind != "map":
                raise SkipFile(f"YAML merge key at line {merged.line} does not refer to a mapping")
            for name, pair in source.pairs.items():
                frame.node.pairs.setdefault(name, pair)


class _Builder:
    """Builds the tree straight from parser events.

    Composing through PyYAML would resolve a tag for every scalar in Python,
    which is most of the cost on large files; the checks only need text.
    """

    def __init__(self) -> None:
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Node, int]] = {}
        self.open_anchors: set[str] = set()
        self.root: Node | None = None
        self.root_size = 0
        self.distinct = 0

    def feed(self, event: Any) -> bool:
        """Handle one event; True once the first document is complete."""
        # Marks are typed optional in the stubs; the parser always sets them.
        start: Any = event.start_mark
        end: Any = event.end_mark
        if isinstance(event, yaml.ScalarEvent):
            node = _node("scalar", start, end)
            node.value = event.value
            node.style = event.style or None
            self.distinct += 1
            if event.anchor:
                self.anchors[event.anchor] = (node, 1)
            self._add(node, 1)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(self.stack) >= MAX_DEPTH:
                raise SkipFile(too_deep(start.line + 1).reason)
            kind = "map" if isinstance(event, yaml.MappingStartEvent) else "seq"
            self.distinct += 1
            if event.anchor:
                self.open_anchors.add(event.anchor)
            self.stack.append(_Frame(_node(kind, start, end), event.anchor))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = self.stack.pop()
            frame.node.end = end.index
            frame.node.end_line = end.line + 1 if end.column > 0 else max(end.line, frame.node.line)
            if frame.node.kind == "map":
                _close_map(frame)
            if frame.anchor:
                self.open_anchors.discard(frame.anchor)
                self.anchors[frame.anchor] = (frame.node, frame.size)
            self._add(frame.node, frame.size)
        elif isinstance(event, yaml.AliasEvent):
            name = event.anchor or ""
            if name in self.open_anchors:
                raise SkipFile(f"recursive YAML alias *{name} at line {start.line + 1}")
            target = self.anchors.get(name)
            if target is None:
                raise SkipFile(f"invalid YAML at line {start.line + 1}: undefined alias *{name}")
            self._add(*target)
        elif isinstance(event, yaml.DocumentEndEvent):
            return self.root is not None
        return False

    def _add(self, node: Node, size: int) -> None:
        if not self.stack:
            self.root, self.root_size = node, size
            return
        frame = self.stack[-1]
        frame.size += size
        parent = frame.node
        if parent.kind == "seq":
            parent.items.append(node)
        elif frame.pending_key is None:
            frame.pending_key = node
        else:
            key, frame.pending_key = frame.pending_key, None
            if key.kind == "scalar" and key.style is None and key.value == "<<":
                frame.merges.append(node)
                return
            name = key.value if key.kind == "scalar" else f"<{key.kind} at line {key.line}>"
            parent.pairs[name] = (key, node)


def load_yaml(text: str) -> Node | None:
    """Parse the first YAML document of `text`; None for an empty document.

    Raises SkipFile with the line and the parser's problem for invalid YAML,
    and for documents whose aliases would expand beyond the shared budget.
    """
    builder = _Builder()
    try:
        for event in yaml.parse(text, Loader=LOADER):
            if builder.feed(event):
                break
        if builder.root is None:
            return None
        ExpansionBudget(expansion_budget(text)).spend(builder.root_size, builder.distinct, builder.root.line)
    except yaml.YAMLError as exc:
        raise SkipFile(syntax_error(exc).reason) from None
    except YamlError as exc:
        raise SkipFile(exc.reason) from None
    except RecursionError:
        raise SkipFile(too_deep().reason) from None
    return builder.root
