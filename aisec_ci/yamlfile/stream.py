"""Composing YAML documents one at a time, within fixed bounds.

Only the safe loader's parser and composer run (nothing is constructed here),
so no tag can instantiate anything, and every node keeps its marks. Three
bounds hold for every reader, whatever it builds from the nodes:

- documents per file (`MAX_DOCUMENTS`): a stream of 200,000 tiny documents
  is refused once the cap is passed, not composed to the end;
- nesting depth (`MAX_DEPTH`);
- alias expansion: the size every document would have with its aliases
  expanded is computed on the shared node graph (each node once) and summed
  over the file, which may not exceed a budget of `MIN_EXPANSION_BUDGET` plus
  one node per byte. A node needs at least two bytes of text unless it is an
  alias, so only alias expansion (a "billion laughs" file) can pass it.

Merge keys (`<<: *base`) are counted as YAML merges them: a key the mapping
sets itself, or that an earlier source gave, is counted once, so tenfold
fan-out of merges that all give the same keys stays small, as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

# The C loader is ~10x faster on large files; the pure-Python one gives the same nodes and marks.
LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DOCUMENTS = 20_000
"""Documents per file; a 10,000-document file is still scanned, linearly."""
MAX_DEPTH = 200
"""Nesting depth (aliases followed): real manifests, workflows and compose files stay below 30."""
MIN_EXPANSION_BUDGET = 200_000
"""Nodes after alias expansion allowed per file, on top of one per byte of text."""

MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlError(Exception):
    """The text is not read: `reason` is one line naming the place, never quoting content."""

    def __init__(self, reason: str, line: int = 1, column: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


class YamlSyntaxError(YamlError):
    """The parser or composer refused the text; `problem` is its short explanation."""

    def __init__(self, problem: str, line: int, column: int, context: str = "") -> None:
        super().__init__(f"invalid YAML at line {line}, column {column}: {problem}", line, column)
        self.problem = problem
        self.context = context


class YamlTooDeep(YamlError):
    """Nested deeper than `MAX_DEPTH` (or than the parser's own recursion allows)."""


def too_deep(line: int = 0) -> YamlTooDeep:
    where = f" at line {line}" if line else ""
    return YamlTooDeep(f"nesting too deep: YAML nested deeper than {MAX_DEPTH} levels{where}", line or 1)


class YamlRecursiveAlias(YamlError):
    """An alias inside the node it refers to: infinite if expanded."""


class YamlTooLarge(YamlError):
    """More nodes after alias expansion than the budget; `aliases` tells whether aliases
    caused it (an alias bomb) or the file simply holds that many values."""

    def __init__(self, reason: str, line: int, *, aliases: bool) -> None:
        super().__init__(reason, line)
        self.aliases = aliases


class YamlTooManyDocuments(YamlError):
    """More documents than the cap; the file is refused rather than half read."""


def expansion_budget(text: str) -> int:
    return MIN_EXPANSION_BUDGET + len(text)


def mark_line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def mark_column(node: yaml.Node) -> int:
    return int(node.start_mark.column) + 1


def is_merge_key(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and (node.tag == MERGE_TAG or (node.value == "<<" and node.style is None))


class ExpansionBudget:
    """The one alias bound: nodes after expansion, summed over a file's documents."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.expanded = 0
        self.distinct = 0

    def spend(self, expanded: int, distinct: int, line: int = 1) -> None:
        """Charge one document (`expanded` nodes with aliases expanded, `distinct` without)."""
        self.expanded += expanded
        self.distinct += distinct
        if self.expanded <= self.limit:
            return
        # Past the budget without counting aliases twice: the file itself is that large.
        if self.distinct > self.limit:
            raise YamlTooLarge(f"more than {self.limit} YAML values in one file; not scanned", line, aliases=False)
        raise YamlTooLarge(
            f"YAML aliases expand {self.distinct} nodes to more than {self.limit} (alias bomb?); not scanned",
            line,
            aliases=True,
        )

    def spend_tree(self, root: yaml.Node) -> None:
        expanded, distinct = _Sizer().measure(root)
        self.spend(expanded, distinct, mark_line(root))


class _Sizer:
    """Size of a composed graph with aliases expanded, each shared node measured once."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()
        self.merged: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}
        self._distinct = 0

    def measure(self, root: yaml.Node) -> tuple[int, int]:
        expanded = self._size(root, 0)
        return expanded, self._distinct

    def _size(self, node: yaml.Node, depth: int) -> int:
        if isinstance(node, yaml.ScalarNode):
            # A scalar reached through an alias counts as distinct again: only the message uses it.
            self._distinct += 1
            return 1
        ident = id(node)
        known = self.sizes.get(ident)
        if known is not None:
            return known
        if ident in self.active:
            raise YamlRecursiveAlias(f"recursive YAML alias at line {mark_line(node)}", mark_line(node))
        if depth >= MAX_DEPTH:
            raise too_deep(mark_line(node))
        self.active.add(ident)
        self._distinct += 1
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += self._size(item, depth + 1)
        elif isinstance(node, yaml.MappingNode):
            for key, value in self.pairs(node, depth):
                total += self._size(key, depth + 1) + self._size(value, depth + 1)
        self.active.discard(ident)
        self.sizes[ident] = total
        return total

    def pairs(self, node: yaml.MappingNode, depth: int) -> list[tuple[yaml.Node, yaml.Node]]:
        """The mapping's pairs as merging makes them: explicit keys, then merged keys not yet set."""
        if not any(is_merge_key(k) for k, _ in node.value):
            return list(node.value)
        return list(self._merged(node, depth).values())

    def _merged(self, node: yaml.MappingNode, depth: int) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        ident = id(node)
        cached = self.merged.get(ident)
        if cached is not None:
            return cached
        if depth >= MAX_DEPTH:
            raise too_deep(mark_line(node))
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        sources: list[yaml.Node] = []
        for key, value in node.value:
            if is_merge_key(key):
                sources.extend(value.value if isinstance(value, yaml.SequenceNode) else [value])
            else:
                out[_key_text(key)] = (key, value)
        for source in sources:
            if ident == id(source):
                raise YamlRecursiveAlias(f"recursive YAML alias at line {mark_line(source)}", mark_line(source))
            if isinstance(source, yaml.MappingNode):
                for name, pair in self._merged(source, depth + 1).items():
                    out.setdefault(name, pair)
        self.merged[ident] = out
        return out


def _key_text(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else f"<complex key at line {mark_line(node)}>"


def syntax_error(exc: yaml.YAMLError, text: str = "") -> YamlSyntaxError:
    """The parser's complaint as a YamlSyntaxError with its line and column (content never quoted)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = int(mark.line) + 1 if mark is not None else 1
    column = int(mark.column) + 1 if mark is not None else 1
    position = getattr(exc, "position", None)
    if mark is None and isinstance(position, int) and 0 <= position <= len(text):
        # A ReaderError (a NUL or other unreadable character) carries only an offset.
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc).splitlines()[0]
    if isinstance(exc, yaml.reader.ReaderError):
        problem = "a character YAML does not allow (a NUL or control byte)"
    return YamlSyntaxError(str(problem), line, column, str(getattr(exc, "context", None) or ""))


def parser_error(exc: yaml.YAMLError, text: str) -> YamlError:
    """The error to raise for a parser complaint. PyYAML 6.0.4 stops deep flow
    collections itself ("exceeded maximum nesting depth") where older versions ran
    into Python's recursion limit: both are the same too-deep file."""
    error = syntax_error(exc, text)
    if "maximum nesting depth" in error.problem:
        return too_deep(error.line)
    return error


def compose_documents(
    text: str,
    *,
    loader: type[Any] = LOADER,
    max_documents: int = MAX_DOCUMENTS,
    budget: ExpansionBudget | None = None,
) -> Iterator[tuple[int, yaml.Node]]:
    """(index, root node) of every non-empty document, composed one at a time.

    Each document is measured before it is handed out, so a reader never walks
    an alias bomb; the document past `max_documents` ends the stream with
    YamlTooManyDocuments. A reader that keeps nothing of a document holds one
    document's nodes at a time."""
    budget = budget if budget is not None else ExpansionBudget(expansion_budget(text))
    _refuse_past_the_cap(text, max_documents)
    composer = loader(text)
    try:
        index = 0
        while composer.check_node():
            node = composer.get_node()
            if index >= max_documents:
                line = mark_line(node) if node is not None else 1
                raise YamlTooManyDocuments(
                    f"more than {max_documents} YAML documents in one file (the cap); not scanned", line
                )
            if node is not None:
                budget.spend_tree(node)
                yield index, node
            index += 1
    except yaml.YAMLError as exc:
        raise parser_error(exc, text) from None
    except RecursionError:
        raise too_deep() from None
    finally:
        composer.dispose()


_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)


def _refuse_past_the_cap(text: str, max_documents: int) -> None:
    """Refuse a stream with more document markers than the cap before composing any of
    it: composing 20,000 documents only to drop the file cost seconds. A marker at
    column 0 always starts a document (it ends even a block scalar), so the count is exact
    up to the one document before the first marker."""
    if text.count("---") <= max_documents:
        return
    for n, m in enumerate(_DOCUMENT_START.finditer(text), start=1):
        if n > max_documents + 1:
            line = text.count("\n", 0, m.start()) + 1
            raise YamlTooManyDocuments(
                f"more than {max_documents} YAML documents in one file (the cap); not scanned", line
            )


def compose_single(text: str, *, loader: Any, limit: int | None = None) -> yaml.Node | None:
    """The one document of `text`, composed by `loader` (an instance, so the caller can
    construct with it) and measured against `limit` (default: the file budget); a
    second document is a syntax error."""
    try:
        node: yaml.Node | None = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise parser_error(exc, text) from None
    except RecursionError:
        raise too_deep() from None
    if node is not None:
        ExpansionBudget(limit if limit is not None else expansion_budget(text)).spend_tree(node)
    return node
