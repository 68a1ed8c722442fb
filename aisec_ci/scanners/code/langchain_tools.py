"""LangChain switches and tools that hand the model a Python interpreter or a shell."""

from __future__ import annotations

from collections.abc import Iterator

from aisec_ci.rules import Rule
from aisec_ci.scanners.code.calls import CallSite, Hit, constant
from aisec_ci.severity import Severity

DANGEROUS_OPTION = Rule(
    id="code/langchain-dangerous-option",
    name="LangChain dangerous-code switch turned on",
    short_description="`allow_dangerous_code`, `allow_dangerous_requests` or `allow_dangerous_deserialization` "
    "is True.",
    severity=Severity.HIGH,
    what="Reports any call that passes `allow_dangerous_code=True` (pandas/CSV/Spark dataframe agents, "
    "Python chains), `allow_dangerous_requests=True` (requests toolkits, OpenAPI agents) or "
    "`allow_dangerous_deserialization=True` (`FAISS.load_local` and other vector stores that unpickle an "
    "index).",
    why="LangChain added these switches because the feature behind them lets the model, or whoever injects "
    "into its prompt, run Python in the process (code), reach any URL including cloud metadata and internal "
    "services (requests), or run code from a pickled index file (deserialization).",
    example="agent = create_pandas_dataframe_agent(llm, df, allow_dangerous_code=True)\n"
    'store = FAISS.load_local("index", emb, allow_dangerous_deserialization=True)',
    example_language="python",
    fix="Leave the switch off. Give the agent narrow tools with validated arguments; run generated code only "
    "in a sandbox (a separate container without credentials); rebuild vector indexes from source data "
    "instead of loading pickled ones you did not create.",
    tags=("CWE-94", "CWE-502", "CWE-918", "ai", "llm"),
    precision="very-high",
    references=("https://python.langchain.com/docs/security/",),
)

PYTHON_REPL = Rule(
    id="code/langchain-python-repl",
    name="LLM agent with a Python or shell tool",
    short_description="The agent can run arbitrary Python or shell commands the model writes.",
    severity=Severity.HIGH,
    what="Reports `PythonREPLTool`, `PythonREPL`, `PythonAstREPLTool`, `ShellTool`, `BashProcess`, "
    "`load_tools([... 'python_repl' / 'terminal' ...])`, `create_python_agent`, and (medium) chains that "
    "evaluate model output on old versions: `LLMMathChain` (CVE-2023-29374), `PALChain` "
    "(CVE-2023-36258, CVE-2023-44467), llama-index `PandasQueryEngine`, and dataframe agents created without "
    "an explicit "
    "`allow_dangerous_code` (they run Python on every version that lacks the switch).",
    why="These tools execute whatever the model returns. A prompt injection in any text the agent reads "
    "(a user message, a web page, a document, a CSV cell) becomes code execution with the service's "
    "credentials.",
    example="from langchain_experimental.tools import PythonREPLTool\ntools = [PythonREPLTool()]",
    example_language="python",
    fix="Replace the interpreter with narrow tools (a calculator using `numexpr`, a query with bound "
    "parameters). If code execution is the product, run it in an isolated sandbox service, never in the "
    "agent's own process, and keep LangChain current.",
    tags=("CWE-94", "ai", "llm"),
    precision="high",
    references=(
        "https://nvd.nist.gov/vuln/detail/CVE-2023-29374",
        "https://nvd.nist.gov/vuln/detail/CVE-2023-44467",
    ),
)

RULES = (DANGEROUS_OPTION, PYTHON_REPL)

_SWITCHES = ("allow_dangerous_code", "allow_dangerous_requests", "allow_dangerous_deserialization")
_REPL_CLASSES = frozenset({"PythonREPLTool", "PythonREPL", "PythonAstREPLTool", "ShellTool", "BashProcess"})
_REPL_FACTORIES = frozenset({"create_python_agent"})
_OLD_EVAL_CHAINS = frozenset({"LLMMathChain", "PALChain", "PandasQueryEngine"})
_DATAFRAME_AGENTS = frozenset(
    {"create_pandas_dataframe_agent", "create_csv_agent", "create_spark_dataframe_agent", "create_xorbits_agent"}
)
_DANGEROUS_TOOL_NAMES = frozenset({"python_repl", "terminal", "shell", "bash"})
_LANGCHAIN_ROOTS = ("langchain", "langchain_experimental", "langchain_community", "langchain_core", "llama_index")


def check_call(site: CallSite) -> Iterator[Hit]:
    on = [name for name in _SWITCHES if site.is_true(site.keyword(name))]
    for name in on:
        yield Hit(
            DANGEROUS_OPTION,
            f"`{name}=True` in `{site.name or 'call'}`: {_SWITCH_EFFECT[name]}",
            properties={"option": name},
        )
    if not _is_langchain(site):
        return
    last = _base(site.last)
    components = [_base(p) for p in site.name.split(".")]
    if last not in _OLD_EVAL_CHAINS and any(c in _OLD_EVAL_CHAINS for c in components[-2:]):
        # `LLMMathChain.from_llm(llm)`: the chain class is the component before the factory.
        last = next(c for c in components[-2:] if c in _OLD_EVAL_CHAINS)
    if last in _REPL_CLASSES or last in _REPL_FACTORIES:
        runs = "shell commands" if last in ("ShellTool", "BashProcess") else "Python"
        yield Hit(
            PYTHON_REPL,
            f"`{last}` lets the model run arbitrary {runs} in this process; prompt injection becomes code execution",
            properties={"tool": last},
        )
    elif last == "load_tools":
        names = site.argument(0, "tool_names")
        elements = getattr(names, "elts", [])
        bad = sorted({v for v in (constant(e, None) for e in elements) if v in _DANGEROUS_TOOL_NAMES})
        if bad:
            yield Hit(
                PYTHON_REPL,
                f"`load_tools` gives the agent {', '.join(repr(b) for b in bad)}: the model can run arbitrary code",
                properties={"tool": ",".join(bad)},
            )
    elif last in _OLD_EVAL_CHAINS:
        yield Hit(
            PYTHON_REPL,
            f"`{last}` evaluates model-written code; on old versions this is code execution through prompt "
            "injection; pin a fixed version or drop it",
            severity=Severity.MEDIUM,
            properties={"tool": last},
        )
    elif last in _DATAFRAME_AGENTS and not on and site.keyword("allow_dangerous_code") is None:
        yield Hit(
            PYTHON_REPL,
            f"`{last}` runs model-written Python through PythonAstREPLTool; versions without the "
            "allow_dangerous_code switch do so silently",
            severity=Severity.MEDIUM,
            properties={"tool": last},
        )


_SWITCH_EFFECT = {
    "allow_dangerous_code": "the model's output runs as Python in this process",
    "allow_dangerous_requests": "the model can make requests to any URL, including internal services and cloud "
    "metadata",
    "allow_dangerous_deserialization": "the index is unpickled, so a crafted index file runs code",
}


def _base(name: str) -> str:
    return name.split("(", 1)[0]


def _is_langchain(site: CallSite) -> bool:
    # An unresolved name (defined in a module we cannot see) is still matched by its class name:
    # these class names are LangChain's own and rarely reused.
    return site.has_root(*_LANGCHAIN_ROOTS) or not site.resolved
