"""Call sites as the rule modules see them: the qualified callee plus argument helpers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.code.symbols import Symbols
from aisec_ci.severity import Severity

_MISSING = object()


def constant(node: ast.expr | None, default: Any = _MISSING) -> Any:
    """The Python value of a constant node, else `default` (a sentinel unless given)."""
    if isinstance(node, ast.Constant):
        return node.value
    return default


class _Flags:
    """`True`/`False` written directly or through a name bound to the literal (`TRUST = True`)."""

    symbols: Symbols

    def is_true(self, node: ast.expr | None) -> bool:
        return node is not None and self.symbols.value_of(node) is True

    def is_false(self, node: ast.expr | None) -> bool:
        return node is not None and self.symbols.value_of(node) is False


@dataclass(frozen=True)
class Hit:
    """A rule match, before it is placed in the file (the scanner maps the node to raw lines)."""

    rule: Rule
    message: str
    severity: Severity | None = None
    """None: the rule's default severity."""
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class CallSite(_Flags):
    node: ast.Call
    name: str
    """Qualified callee (`torch.load`, `gradio.Blocks().launch`, `builtins.eval`); unresolved
    names stay as written (`model`); empty when the callee is not a name chain."""
    resolved: bool
    """The callee's root came from an import or is a builtin."""
    symbols: Symbols
    in_test: bool = False
    """The file is a test (`tests/`, `test_*.py`, `conftest.py`)."""
    handlers: tuple[str, ...] = ()
    """Qualified exception names of the `except` clauses the call sits in (innermost last);
    `BaseException` stands for a bare `except:`."""

    @property
    def last(self) -> str:
        return self.name.rsplit(".", 1)[-1] if self.name else ""

    @property
    def root(self) -> str:
        return self.name.split(".", 1)[0].split("(", 1)[0] if self.name else ""

    def has_root(self, *modules: str) -> bool:
        """Whether the callee comes from one of `modules` (or a submodule of one)."""
        base = self.name.split("(", 1)[0]
        return any(base == m or base.startswith(m + ".") for m in modules)

    def keyword(self, name: str) -> ast.expr | None:
        """The value passed as `name=`, including through a literal `**{"name": ...}`."""
        for kw in self.node.keywords:
            if kw.arg == name:
                return kw.value
            if kw.arg is None:
                spread = self._dict_literal(kw.value)
                if spread is not None:
                    found = self.symbols.dict_values(spread, name)
                    if found:
                        return found[0]
        return None

    def _dict_literal(self, node: ast.expr) -> ast.Dict | None:
        """`{...}` itself, or the dict literal a name was last bound to (`kwargs = {...}`)."""
        if isinstance(node, ast.Dict):
            return node
        if isinstance(node, ast.Name):
            bound = self.symbols.values.get(node.id, [])
            if bound and isinstance(bound[0], ast.Dict):
                return bound[0]
        return None

    def has_keyword(self, name: str) -> bool:
        return self.keyword(name) is not None

    def has_star_kwargs(self) -> bool:
        """`**kwargs` from something other than a known dict literal: any keyword may be hiding in it."""
        return any(kw.arg is None and self._dict_literal(kw.value) is None for kw in self.node.keywords)

    def argument(self, index: int, name: str | None = None) -> ast.expr | None:
        """Positional argument `index`, or the keyword `name` when passed by name."""
        leading: list[ast.expr] = []
        for arg in self.node.args:
            if isinstance(arg, ast.Starred):
                break
            leading.append(arg)
        if index < len(leading):
            return leading[index]
        return self.keyword(name) if name else None

    def dict_values(self, key: str) -> Iterator[ast.expr]:
        """Values under the string `key` in dict literals passed as arguments (`model_kwargs={...}`,
        `config=dict(key=...)`, or a name bound to a dict literal)."""
        values = [*self.node.args, *(kw.value for kw in self.node.keywords if kw.arg is not None)]
        for value in values:
            literal = self._dict_literal(value)
            if literal is not None:
                yield from self.symbols.dict_values(literal, key)
            elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "dict":
                for kw in value.keywords:
                    if kw.arg == key:
                        yield kw.value


@dataclass
class AttributeSite(_Flags):
    """`target.attr = value`, for switches set as attributes (`app.debug = True`)."""

    node: ast.Assign
    owner: str
    """Qualified name of the object whose attribute is set (`flask.Flask()`), or as written."""
    attr: str
    value: ast.expr
    symbols: Symbols
    in_test: bool = False
