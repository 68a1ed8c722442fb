"""The `code` scanner: Python source and notebook code cells that load models unsafely,
run model output, or expose model servers. Parsed with `ast`; nothing is imported or run."""

from __future__ import annotations

import ast
import hashlib
import posixpath
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from itertools import chain
from typing import Any, ClassVar, cast

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import Scanner, SkipFile
from aisec_ci.scanners.code import (
    deserialization,
    langchain_tools,
    model_output_eval,
    remote_code,
    shell_commands,
    tls_verification,
    web_serving,
)
from aisec_ci.scanners.code.branches import merge_branch_twins
from aisec_ci.scanners.code.budget import over_budget_reason, tokens_over_budget, too_deep_reason
from aisec_ci.scanners.code.calls import AttributeSite, CallSite, Hit
from aisec_ci.scanners.code.notebook import CodeUnit, notebook_units
from aisec_ci.scanners.code.optin import guard_words, opted_in
from aisec_ci.scanners.code.stored_models import STORED_FILE, dump_family, settle
from aisec_ci.scanners.code.symbols import Symbols
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

CallCheck = Callable[[CallSite], Iterator[Hit]]
AttributeCheck = Callable[[AttributeSite], Iterator[Hit]]

_CALL_CHECKS: tuple[CallCheck, ...] = (
    deserialization.check_call,
    remote_code.check_call,
    model_output_eval.check_call,
    langchain_tools.check_call,
    shell_commands.check_call,
    tls_verification.check_call,
    web_serving.check_call,
)
_ATTRIBUTE_CHECKS: tuple[AttributeCheck, ...] = (tls_verification.check_attribute, web_serving.check_attribute)

_TEST_DIRS = frozenset({"tests", "test", "testing"})
# A quoted run of 20+ non-space characters mixing letters and digits may be a key or token: mask it.
_TOKENISH = re.compile(r"""(["'])(?=[^"'\s]*[A-Za-z])(?=[^"'\s]*\d)[^"'\s]{20,}\1""")
_SNIPPET_WIDTH = 200
# Messages CPython gives for the Python 2 constructs old ML repositories are full of.
_PY2_HINTS = ("Missing parentheses in call to", "leading zeros in decimal", "multiple exception types must be")
_NAME_LIST = {"type": "array", "items": {"type": "string", "minLength": 1, "pattern": r"^[A-Za-z_][\w.]*$"}}


def is_test_path(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        any(p in _TEST_DIRS for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


class CodeScanner(Scanner):
    name: ClassVar[str] = "code"
    description: ClassVar[str] = (
        "AI code in Python files and notebooks: unsafe model loading (torch.load, pickle, joblib, numpy, "
        "yaml), trust_remote_code, eval of LLM output, LangChain code-execution tools, shell injection, "
        "disabled TLS checks, public Gradio apps and debug servers."
    )
    rules: ClassVar[tuple[Rule, ...]] = (
        deserialization.RULES
        + remote_code.RULES
        + model_output_eval.RULES
        + langchain_tools.RULES
        + shell_commands.RULES
        + tls_verification.RULES
        + web_serving.RULES
    )
    kinds: ClassVar[frozenset[FileKind]] = frozenset({FileKind.PYTHON, FileKind.NOTEBOOK})
    options_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "llm_call_names": {
                **_NAME_LIST,
                "description": "Extra name fragments (split at `.` and `_`) of calls whose result is model "
                "output, for code/eval-model-output (for example `summarise`, `my_agent`).",
            },
            "llm_modules": {
                **_NAME_LIST,
                "description": "Extra modules whose call results are model output (for example `mycompany.llm`).",
            },
        },
    }

    def wants(self, file: SourceFile) -> bool:
        if file.kind in self.kinds:
            return True
        # A classifier may call an extension-less script TEXT; the extension still says Python.
        return file.kind is FileKind.TEXT and file.path.endswith((".py", ".ipynb"))

    def scan_file(self, file: SourceFile) -> Iterable[Finding]:
        notebook = file.kind is FileKind.NOTEBOOK or file.path.endswith(".ipynb")
        units = notebook_units(file.text) if notebook else [CodeUnit(source=file.text)]
        options = self.context.options
        symbols = Symbols(
            extra_llm_parts=frozenset(s.lower() for s in options.get("llm_call_names", ())),
            extra_llm_modules=frozenset(options.get("llm_modules", ())),
        )
        in_test = is_test_path(file.path)
        tokens = tokens_over_budget([unit.source for unit in units])
        if tokens is not None:
            raise SkipFile(over_budget_reason(tokens, notebook))
        findings: list[Finding] = []
        broken: list[str] = []
        for unit in units:
            try:
                with warnings.catch_warnings():
                    # Invalid escape sequences and the like are the scanned project's business,
                    # not something to print into the scan's output.
                    warnings.simplefilter("ignore")
                    tree = ast.parse(unit.source, filename=posixpath.basename(file.path))
            except SyntaxError as exc:
                reason = _syntax_reason(exc, unit.source)
                if unit.cell is None:
                    raise SkipFile(reason) from None
                # One broken cell (IPython syntax we do not blank) does not hide the others.
                broken.append(f"cell {unit.cell}: {reason}")
                continue
            except (RecursionError, MemoryError, ValueError) as exc:
                if isinstance(exc, RecursionError):
                    reason = too_deep_reason("parse")
                else:
                    reason = f"Python source cannot be parsed: {type(exc).__name__}: {str(exc)[:120]}"
                if unit.cell is None:
                    raise SkipFile(reason) from None
                broken.append(f"cell {unit.cell}: {reason}")
                continue
            try:
                findings.extend(_scan_tree(tree, unit, file.path, symbols, in_test))
            except RecursionError:
                # The walk and the checks loop rather than recurse; this is the backstop that keeps
                # a tree deeper than any of them expected a skip with a reason, not a scan error.
                where = "" if unit.cell is None else f" (cell {unit.cell})"
                raise SkipFile(too_deep_reason("walk") + where) from None
            del tree
        if broken and len(broken) == len(units):
            raise SkipFile("no code cell could be parsed (" + "; ".join(broken[:3]) + ")")
        findings.sort(key=lambda f: (f.start_line, f.start_column, f.rule_id, f.key))
        return findings


def _syntax_reason(exc: SyntaxError, source: str) -> str:
    message = (exc.msg or "invalid syntax").splitlines()[0][:160]
    hint = " (Python 2 code is not scanned)" if any(m in message for m in _PY2_HINTS) else ""
    line = exc.lineno
    if line is None and "\0" in source:
        # CPython refuses a NUL byte before tokenizing, so its error names no line: find it.
        line = source.count("\n", 0, source.index("\0")) + 1
    where = f" at line {line}" if line else ""
    return f"Python syntax error{where}: {message}{hint}"


# Nodes that never bind a name or hold a call: the walk does not descend into them.
_LEAVES = frozenset({ast.Name, ast.Constant, ast.Load, ast.Store, ast.Del, ast.Pass, ast.Break, ast.Continue})


def _children(node: ast.AST) -> list[ast.AST]:
    """Child nodes in source order, leaves dropped (a leaner `ast.iter_child_nodes`)."""
    out: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            out.extend(v for v in value if isinstance(v, ast.AST) and type(v) not in _LEAVES)
        elif isinstance(value, ast.AST) and type(value) not in _LEAVES:
            out.append(value)
    return out


def _scan_tree(tree: ast.AST, unit: CodeUnit, path: str, symbols: Symbols, in_test: bool) -> list[Finding]:
    """One pre-order walk in source order, so bindings precede the calls that use them."""
    found: list[Finding] = []
    loads: list[tuple[Finding, ast.Call]] = []
    functions: list[str] = []
    """Names of the functions the walk is in (innermost last)."""
    stored_reads: list[tuple[int, str]] = []
    dumped: set[str] = set()
    """Pickle families this unit writes files in (see stored_models.py)."""
    handlers: list[tuple[str, ...]] = []
    active: tuple[str, ...] | None = ()
    guards: list[str] = []
    """Words of the `if` tests whose body the walk is in (see optin.py)."""

    def leave_handler() -> None:
        nonlocal active
        handlers.pop()
        active = None

    # Scope exits are callables on the stack, run once the scope's children are done.
    stack: list[ast.AST | Callable[[], object]] = [tree]
    while stack:
        node = stack.pop()
        if not isinstance(node, ast.AST):
            node()
            continue
        kind = type(node)
        if kind is ast.Call:
            call_node = cast(ast.Call, node)
            name = symbols.qualify(call_node.func) or ""
            if active is None:
                # Flattened once per change of the enclosing `except` clauses, not once per call.
                active = tuple(chain.from_iterable(handlers))
            call = CallSite(call_node, name, symbols.is_resolved(call_node.func), symbols, in_test, active)
            first = len(found)
            family = dump_family(name)
            if family is not None:
                dumped.add(family)
            for call_check in _CALL_CHECKS:
                for hit in call_check(call):
                    finding = _finding(hit, call_node, name, unit, path)
                    if STORED_FILE in finding.properties:
                        stored_reads.append((len(found), functions[-1] if functions else ""))
                    found.append(finding)
                    if hit.rule.id in _LOAD_RULES:
                        loads.append((finding, call_node))
            opted_in(found, first, guards)
        elif kind is ast.If:
            # Test, then the body under the test's guard, then the `else` branch without it.
            if_node = cast(ast.If, node)
            stack.extend(reversed(if_node.orelse))
            stack.append(guards.pop)
            stack.extend(reversed(if_node.body))
            stack.append(partial(guards.append, guard_words(if_node.test)))
            stack.append(if_node.test)
            continue
        elif kind in _BINDERS:
            first = len(found)
            _bind(node, symbols, found, unit, path, in_test)
            opted_in(found, first, guards)
        elif kind in _SCOPES:
            args = cast(ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, node).args
            if kind is not ast.Lambda:
                function_name = cast(ast.FunctionDef | ast.AsyncFunctionDef, node).name
                symbols.bind_definition(function_name)
                functions.append(function_name)
                stack.append(functions.pop)
            # Parameters are new values inside the function only; outside, the names keep their meaning.
            saved = symbols.enter_parameters(args)
            stack.append(partial(symbols.leave_parameters, saved))
        elif kind is ast.ExceptHandler:
            handlers.append(_caught(cast(ast.ExceptHandler, node), symbols))
            active = None
            stack.append(leave_handler)
        children = _children(node)
        children.reverse()
        stack.extend(children)
    if stored_reads:
        before = {index: found[index] for index, _ in stored_reads}
        settle(found, stored_reads, dumped)
        # The branch merge below matches findings by identity: point it at the settled ones.
        settled = {id(old): found[index] for index, old in before.items()}
        loads = [(settled.get(id(f), f), call) for f, call in loads]
    changes = merge_branch_twins(loads, tree) if len(loads) > 1 else {}
    if not changes:
        return found
    kept = (changes.get(id(f), f) for f in found)
    return [f for f in kept if f is not None]


_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})
# Unsafe loads: the same one on both sides of an `if` is reported once.
_LOAD_RULES = frozenset(rule.id for rule in deserialization.RULES)


def _caught(handler: ast.ExceptHandler, symbols: Symbols) -> tuple[str, ...]:
    if handler.type is None:
        return ("BaseException",)
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    # Every call inside the clause carries these names: a generated `except (E1, ..., E100000)`
    # must not make each of its calls cost a hundred thousand. Real clauses name a handful.
    return tuple(symbols.qualify(t) or "?" for t in types[:_MAX_CAUGHT])


_MAX_CAUGHT = 32


def _bind(node: ast.AST, symbols: Symbols, found: list[Finding], unit: CodeUnit, path: str, in_test: bool) -> None:
    if isinstance(node, ast.Import | ast.ImportFrom):
        symbols.bind_import(node)
    elif isinstance(node, ast.ClassDef):
        symbols.bind_definition(node.name, node.bases)
    elif isinstance(node, ast.Assign):
        symbols.bind_assignment(node.targets, node.value)
        for target in node.targets:
            if isinstance(target, ast.Attribute):
                owner = symbols.qualify(target.value) or ""
                site = AttributeSite(node, owner, target.attr, node.value, symbols, in_test)
                for attribute_check in _ATTRIBUTE_CHECKS:
                    found.extend(
                        _finding(hit, node, f"{owner}.{target.attr}", unit, path) for hit in attribute_check(site)
                    )
    elif isinstance(node, ast.AnnAssign):
        symbols.bind_assignment([node.target], node.value)
    elif isinstance(node, ast.AugAssign):
        symbols.bind_augmented(node.target, node.value)
    elif isinstance(node, ast.NamedExpr):
        symbols.bind_assignment([node.target], node.value)
    elif isinstance(node, ast.For | ast.AsyncFor):
        symbols.bind_assignment([node.target], node.iter)
    elif isinstance(node, ast.With | ast.AsyncWith):
        for item in node.items:
            if item.optional_vars is not None:
                symbols.bind_assignment([item.optional_vars], item.context_expr)


_BINDERS = frozenset(
    {
        ast.Import,
        ast.ImportFrom,
        ast.ClassDef,
        ast.Assign,
        ast.AnnAssign,
        ast.AugAssign,
        ast.NamedExpr,
        ast.For,
        ast.AsyncFor,
        ast.With,
        ast.AsyncWith,
    }
)


def _finding(hit: Hit, node: ast.stmt | ast.expr, name: str, unit: CodeUnit, path: str) -> Finding:
    index = unit.index
    line = node.lineno
    column = index.char_column(line, node.col_offset)
    raw_line, raw_column = unit.raw_position(line, column)
    end_line = node.end_lineno or line
    end_column = index.char_column(end_line, node.end_col_offset or 0)
    raw_end_line, raw_end_column = unit.raw_position(end_line, end_column)
    segment = index.segment(line, node.col_offset, end_line, node.end_col_offset or 0) or index.text(line)
    digest = hashlib.sha256("".join(segment.split()).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    snippet = index.snippet(line, _snippet)
    properties: dict[str, Any] = {"call": name, **hit.properties}
    message = hit.message
    if unit.cell is not None:
        properties["cell"] = unit.cell
        message = f"{message} (notebook cell {unit.cell})"
    return Finding(
        rule_id=hit.rule.id,
        severity=hit.severity if hit.severity is not None else hit.rule.severity,
        message=message,
        path=path,
        start_line=raw_line,
        end_line=max(raw_end_line, raw_line),
        start_column=raw_column,
        end_column=raw_end_column if raw_end_line == raw_line and raw_end_column > raw_column else None,
        snippet=snippet,
        key=f"{name or 'call'}:{digest}",
        properties=properties,
    )


def _snippet(text: str) -> str:
    snippet = _TOKENISH.sub(r"\1***\1", text.strip())
    if len(snippet) > _SNIPPET_WIDTH:
        snippet = snippet[: _SNIPPET_WIDTH - 3] + "..."
    return snippet
