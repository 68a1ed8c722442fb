"""What the names of one file stand for: imports, aliases, instances and model output.

The table is flow-insensitive within a scope-free walk (one pass, in source
order): good enough to see that `T.load` is `torch.load`, that `demo.launch`
is a Gradio app, or that `reply` came back from an LLM, without executing or
importing anything.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from typing import Any

_BUILTINS = frozenset(dir(builtins))
_ABSENT = object()

# Modules whose call results are model or LLM output whatever the method is called.
LLM_MODULES = frozenset(
    {
        "openai",
        "anthropic",
        "cohere",
        "mistralai",
        "groq",
        "ollama",
        "litellm",
        "vllm",
        "llama_cpp",
        "llama_index",
        "langchain",
        "langchain_core",
        "langchain_community",
        "langchain_openai",
        "langchain_anthropic",
        "langchain_experimental",
        "google.generativeai",
        "google.genai",
        "vertexai",
        "transformers",
        "huggingface_hub",
        "replicate",
        "together",
    }
)
# Objects whose call returns generated text: `llm(prompt)`, `self.model(x)`, `chat(messages)`.
# Matched against the callee's own name only (its last component), and only when that name ends
# with one of them: `_resolve_pipeline_channel()` or `get_model_id()` merely mention a pipeline
# or a model and return something else.
LLM_NOUNS = frozenset(
    {
        "llm",
        "llms",
        "model",
        "chat",
        "completion",
        "completions",
        "agent",
        "chain",
        "pipeline",
        "pipe",
        "gpt",
        "openai",
        "anthropic",
        "claude",
        "gemini",
        "ollama",
        "answer",
        "reply",
        "assistant",
        "copilot",
    }
)
# First words of a callee that builds, loads or looks up the object rather than running it
# (`load_model(path)`, `get_pipeline()`): its result is the model, not the model's output.
_FACTORY_WORDS = frozenset(
    {"load", "get", "build", "create", "make", "init", "download", "save", "resolve", "find", "register", "new"}
)
# Objects on which a generic verb (`run`, `call`, `stream`) runs a generation: `qa_chain.run(q)`.
_RUNNABLE_NOUNS = frozenset({"llm", "llms", "agent", "chain", "executor", "crew", "assistant"})
_RUN_VERBS = frozenset({"run", "arun", "call", "acall", "stream", "astream", "batch", "abatch", "kickoff"})
# Methods of an LLM module's client that generate: `client.chat.completions.create`, `ollama.chat`.
_CLIENT_VERBS = frozenset({"create", "acreate", "chat", "completion", "stream", "run", "call"})
# LLM modules whose other calls return tokenizers, configs or downloaded paths (`snapshot_download`,
# `AutoTokenizer.from_pretrained`); from them only a `pipeline(...)` object's call is output.
_LOADER_MODULES = frozenset({"transformers", "huggingface_hub"})
# Method names that generate text, matched only as the whole last component, so that
# `generate_source()` or `check_output()` are not taken for model calls.
LLM_VERBS = frozenset(
    {
        "generate",
        "agenerate",
        "generate_content",
        "generate_text",
        "text_generation",
        "chat_completion",
        "invoke",
        "ainvoke",
        "predict",
        "apredict",
        "complete",
        "acomplete",
        "acompletion",
        "achat",
        "stream_chat",
    }
)
_SPLIT = re.compile(r"[._()]+")


@dataclass
class Symbols:
    """Name bindings seen so far in one file (or one notebook, across its cells)."""

    aliases: dict[str, str] = field(default_factory=dict)
    """Local name -> qualified module or attribute (`T` -> `torch`, `l` -> `pickle.loads`)."""
    instances: dict[str, str] = field(default_factory=dict)
    """Local name -> qualified constructor call (`demo` -> `gradio.Blocks()`)."""
    values: dict[str, list[ast.expr]] = field(default_factory=dict)
    """Local name -> the expressions it was last assigned from (several when a rebinding uses the
    old value, `text = text.strip()`). Read only at sinks, so plain assignments stay cheap."""
    literals: dict[str, object] = field(default_factory=dict)
    """Names whose latest binding is a literal constant, with its value."""
    defined: set[str] = field(default_factory=set)
    """Names bound by the file itself (shadowing a builtin such as `eval`)."""
    imported_roots: set[str] = field(default_factory=set)
    """Top-level modules imported anywhere in the file."""
    class_bases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Classes defined in the file -> their qualified bases (`MyLoader` -> `yaml.SafeLoader`)."""
    extra_llm_parts: frozenset[str] = frozenset()
    extra_llm_modules: frozenset[str] = frozenset()
    taint_steps_left: int = 0
    """What is left of the file's budget for following model output (set from `_FILE_TAINT_BUDGET`)."""
    _dict_keys: dict[int, tuple[ast.Dict, dict[str, list[ast.expr]]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.taint_steps_left = _FILE_TAINT_BUDGET

    # -- binding -----------------------------------------------------------------------------

    def bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.imported_roots.add(alias.name.split(".")[0])
                if alias.asname:
                    self._bind_alias(alias.asname, alias.name)
                else:
                    root = alias.name.split(".")[0]
                    self._bind_alias(root, root)
            return
        if node.level or not node.module:
            # Relative imports name the project's own modules: nothing we know about.
            for alias in node.names:
                self._forget(alias.asname or alias.name)
            return
        self.imported_roots.add(node.module.split(".")[0])
        for alias in node.names:
            if alias.name == "*":
                continue
            self._bind_alias(alias.asname or alias.name, f"{node.module}.{alias.name}")

    def _bind_alias(self, name: str, qualified: str) -> None:
        self._forget(name)
        # Every call through the alias copies it into its qualified name: a megabyte module
        # path would make each call cost a megabyte. No real module path comes near the cap.
        if len(qualified) <= _MAX_ALIAS:
            self.aliases[name] = qualified

    def _forget(self, name: str) -> None:
        self.class_bases.pop(name, None)
        self.aliases.pop(name, None)
        self.instances.pop(name, None)
        self.values.pop(name, None)
        self.literals.pop(name, None)
        self.defined.add(name)

    def bind_definition(self, name: str, bases: list[ast.expr] | None = None) -> None:
        """`def`/`class` statements shadow whatever the name meant before."""
        qualified_bases = tuple(q for q in (self.qualify(b) for b in bases or []) if q is not None)
        self._forget(name)
        if bases is not None:
            self.class_bases[name] = qualified_bases

    def enter_parameters(self, arguments: ast.arguments) -> list[tuple[str, bool, tuple[object, ...]]]:
        """Forget what the parameter names meant outside the function; returns what to restore."""
        params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        params += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
        saved: list[tuple[str, bool, tuple[object, ...]]] = []
        for param in params:
            name = param.arg
            saved.append((name, name in self.defined, tuple(table.get(name, _ABSENT) for table in self._tables())))
            self._forget(name)
        return saved

    def leave_parameters(self, saved: list[tuple[str, bool, tuple[object, ...]]]) -> None:
        for name, was_defined, entries in saved:
            if not was_defined:
                self.defined.discard(name)
            for table, entry in zip(self._tables(), entries, strict=True):
                if entry is _ABSENT:
                    table.pop(name, None)
                else:
                    table[name] = entry

    def _tables(self) -> tuple[dict[str, Any], ...]:
        return (self.aliases, self.instances, self.values, self.literals, self.class_bases)

    def lineage(self, qualified: str) -> set[str]:
        """`qualified` and, for classes defined in this file, all their bases (transitively)."""
        seen: set[str] = set()
        todo = [qualified]
        while todo and len(seen) < 100:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(self.class_bases.get(current, ()))
        return seen

    def bind_assignment(self, targets: list[ast.expr], value: ast.expr | None) -> None:
        names = [n for t in targets for n in _target_names(t)]
        if not names:
            return
        simple = len(targets) == 1 and isinstance(targets[0], ast.Name)
        qualified = self.qualify(value) if value is not None and simple else None
        resolved = qualified is not None and self.is_resolved(value)
        kept = {n: self.values.get(n, []) for n in names} if value is not None else {}
        for name in names:
            self._forget(name)
        if value is None:
            return
        mentioned = _mentioned_names(value)
        for name in names:
            history = kept[name] if name in mentioned else []
            self.values[name] = [value, *history[:7]]
        if not simple:
            return
        name = names[0]
        if isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes, int, float)):
            self.literals[name] = value.value
        elif qualified is not None and resolved:
            if isinstance(value, ast.Call):
                self.instances[name] = qualified
            elif isinstance(value, (ast.Name, ast.Attribute)):
                # `load = torch.load`: the name now stands for the function itself.
                self.aliases[name] = qualified

    def bind_augmented(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.values[target.id] = [value, *self.values.get(target.id, [])[:7]]
            self.literals.pop(target.id, None)

    # -- resolution --------------------------------------------------------------------------

    def qualify(self, node: ast.expr | None) -> str | None:
        """Dotted name of an expression: `T.load` -> `torch.load`, `gr.Blocks().launch` ->
        `gradio.Blocks().launch`; unresolved names stay as written; None when not a name chain."""
        parts: list[str] = []
        current: ast.expr | None = node
        depth = 0
        while current is not None and depth < 64:
            depth += 1
            if isinstance(current, ast.Attribute):
                parts.append("." + current.attr)
                current = current.value
            elif isinstance(current, ast.Call):
                parts.append("()")
                current = current.func
            elif isinstance(current, ast.Subscript):
                parts.append("[]")
                current = current.value
            elif isinstance(current, ast.Name):
                parts.append(self._resolve_name(current.id))
                return "".join(reversed(parts))
            else:
                return None
        return None

    def _resolve_name(self, name: str) -> str:
        if name in self.aliases:
            return self.aliases[name]
        if name in self.instances:
            return self.instances[name]
        if name in _BUILTINS and name not in self.defined:
            return f"builtins.{name}"
        return name

    def is_resolved(self, node: ast.expr | None) -> bool:
        """Whether the chain's root name came from an import (or is a builtin)."""
        current = node
        depth = 0
        while current is not None and depth < 64:
            depth += 1
            if isinstance(current, ast.Attribute | ast.Subscript):
                current = current.value
            elif isinstance(current, ast.Call):
                current = current.func
            elif isinstance(current, ast.Name):
                name = current.id
                return (
                    name in self.aliases or name in self.instances or (name in _BUILTINS and name not in self.defined)
                )
            else:
                return False
        return False

    def is_literal(self, node: ast.expr | None) -> bool:
        """A constant, a name bound to one, or a list/tuple/concatenation of those: data the code itself fixes."""
        if node is None:
            return True
        stack: list[ast.expr] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.Constant):
                continue
            if isinstance(current, ast.Name):
                if current.id not in self.literals:
                    return False
            elif isinstance(current, ast.List | ast.Tuple):
                stack.extend(current.elts)
            elif isinstance(current, ast.JoinedStr):
                if not all(isinstance(v, ast.Constant) for v in current.values):
                    return False
            elif isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
                stack.extend((current.left, current.right))
            else:
                return False
        return True

    def value_of(self, node: ast.expr | None) -> object:
        """The constant a node stands for (directly or through a name bound to a literal), else None."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.literals.get(node.id)
        return None

    def looks_like_model_call(self, qualified: str) -> bool:
        """Whether a call, named `qualified` (or as written), is a text-generation call: an LLM
        client's generating method, a `transformers.pipeline(...)` object, a method named like
        `generate`/`invoke`, a chain or agent run, or a callee named for the model itself."""
        root = qualified.split("(")[0]
        components = [c for c in _SPLIT.split(qualified) if c]
        if not components:
            return False
        last = components[-1].lower()
        if any(root == m or root.startswith(m + ".") for m in self.extra_llm_modules):
            return True
        if any(root == m or root.startswith(m + ".") for m in LLM_MODULES):
            if last in LLM_VERBS or last in _CLIENT_VERBS:
                return True
            if qualified.endswith("()"):
                # Calling an object an LLM module built (`Llama(...)(prompt)`, `pipeline(...)(text)`).
                top = root.split(".")[0]
                return top not in _LOADER_MODULES or root.endswith(".pipeline")
        if last in LLM_VERBS:
            return True
        words = {w.lower() for c in components for w in c.split("_") if w}
        words.discard("builtins")
        if words & self.extra_llm_parts:
            return True
        callee = [w for w in components[-1].lower().split("_") if w]
        if not callee:
            return False
        if callee[-1] in LLM_NOUNS and callee[0] not in _FACTORY_WORDS:
            return True
        if last in _RUN_VERBS and len(components) >= 2:
            receiver = [w for w in components[-2].lower().split("_") if w]
            return bool(receiver) and receiver[-1] in _RUNNABLE_NOUNS
        return False

    def model_output_source(self, node: ast.expr | None) -> str | None:
        """What makes `node` model output (a call such as `llm.invoke()`, or a variable assigned
        from one, followed through assignments), or None."""
        if node is None:
            return None
        # Each sink may look at `_TAINT_BUDGET` nodes, and all sinks of a file together at
        # `_FILE_TAINT_BUDGET`: thousands of `eval(x)` with `x` bound to a huge expression would
        # otherwise re-walk that expression for every sink.
        allowed = min(_TAINT_BUDGET, self.taint_steps_left)
        budget = [allowed]
        try:
            return self._taint(node, set(), budget, 0)
        finally:
            self.taint_steps_left -= allowed - budget[0]

    def dict_values(self, node: ast.Dict, key: str) -> list[ast.expr]:
        """Values under the string `key` in a dict literal, in source order; the literal's keys
        are indexed once, so a big dict passed to many calls is not re-read by each."""
        cached = self._dict_keys.get(id(node))
        if cached is None:
            index: dict[str, list[ast.expr]] = {}
            for k, v in zip(node.keys, node.values, strict=False):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    index.setdefault(k.value, []).append(v)
            # The node is kept with its index so that its id cannot be reused by another node.
            cached = self._dict_keys[id(node)] = (node, index)
        return cached[1].get(key, [])

    def _taint(self, node: ast.expr, seen: set[str], budget: list[int], depth: int) -> str | None:
        stack: list[ast.AST] = [node]
        while stack and budget[0] > 0:
            budget[0] -= 1
            current = stack.pop()
            if isinstance(current, ast.Name):
                name = current.id
                if name in self.values and name not in seen and depth < _TAINT_DEPTH:
                    seen.add(name)
                    if any(self._taint(v, seen, budget, depth + 1) is not None for v in self.values[name]):
                        return name
                continue
            if isinstance(current, ast.Call):
                qualified = self.qualify(current.func)
                if qualified is not None and not qualified.startswith("builtins."):
                    if self.looks_like_model_call(qualified):
                        return qualified + "()"
                    # `model = torch.load(p)` then `model(x)`: the name as written says what it is.
                    written = written_name(current.func)
                    if written and self.looks_like_model_call(written):
                        return written + "()"
            if isinstance(current, ast.Lambda):
                continue
            stack.extend(ast.iter_child_nodes(current))
        return None


_TAINT_BUDGET = 4000
_FILE_TAINT_BUDGET = 2_000_000
_MAX_ALIAS = 512
# How many assignments back a value is followed; also keeps the recursion far from Python's limit.
_TAINT_DEPTH = 40


def _mentioned_names(node: ast.expr, limit: int = 64) -> set[str]:
    """Names read by an expression, from a bounded look at its first nodes."""
    found: set[str] = set()
    stack: list[ast.AST] = [node]
    while stack and limit > 0:
        limit -= 1
        current = stack.pop()
        if isinstance(current, ast.Name):
            found.add(current.id)
        else:
            stack.extend(ast.iter_child_nodes(current))
    return found


def _target_names(target: ast.expr) -> list[str]:
    """Names bound by an assignment target, in source order (a loop: nesting depth is the source's choice)."""
    names: list[str] = []
    stack = [target]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name):
            names.append(current.id)
        elif isinstance(current, ast.Tuple | ast.List):
            stack.extend(reversed(current.elts))
        elif isinstance(current, ast.Starred):
            stack.append(current.value)
    return names


def written_name(node: ast.expr) -> str:
    """The dotted name as written in the source (`self.llm.invoke`), or '' when not a name chain."""
    parts: list[str] = []
    current: ast.expr = node
    for _ in range(64):
        if isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        elif isinstance(current, ast.Call | ast.Subscript):
            current = current.func if isinstance(current, ast.Call) else current.value
        elif isinstance(current, ast.Name):
            parts.append(current.id)
            return ".".join(reversed(parts))
        else:
            return ""
    return ""
