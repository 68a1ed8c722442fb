"""Shell commands built from variable input."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from aisec_ci.rules import Rule
from aisec_ci.scanners.code.calls import CallSite, Hit
from aisec_ci.severity import Severity

SHELL_INJECTION = Rule(
    id="code/shell-injection",
    name="Shell command built from variable input",
    short_description="A non-literal command string runs through the shell.",
    severity=Severity.HIGH,
    what="Reports `subprocess.run`/`call`/`check_call`/`check_output`/`Popen` with `shell=True`, and "
    "`os.system`, `os.popen`, `subprocess.getoutput`/`getstatusoutput`, `asyncio.create_subprocess_shell`, "
    "whose command is not a literal. A command derived from model output is critical, and so is an argument "
    "list without a shell whose program comes from model output (`subprocess.run(shlex.split(reply))`).",
    why="The shell interprets `;`, `|`, `$(...)` and backticks in the command string, so any part of it "
    "that comes from a request, a file name, a dataset or a model's answer can append commands of its own.",
    example='subprocess.run(f"ffmpeg -i {upload} out.wav", shell=True)',
    example_language="python",
    fix="Pass an argument list without a shell: `subprocess.run(['ffmpeg', '-i', upload, 'out.wav'])`; if a "
    "shell is unavoidable, quote every value with `shlex.quote`.",
    tags=("CWE-78",),
    precision="high",
)

RULES = (SHELL_INJECTION,)

_SHELL_ALWAYS = frozenset(
    {
        "os.system",
        "os.popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "asyncio.create_subprocess_shell",
        "commands.getoutput",
        "commands.getstatusoutput",
        "os.popen2",
        "os.popen3",
        "os.popen4",
    }
)
_EXEC_FUNCS = frozenset({"os.execv", "os.execvp", "os.execvpe", "os.execve", "os.posix_spawn", "os.posix_spawnp"})
_SHELL_OPTION = frozenset(
    {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen"}
)


def check_call(site: CallSite) -> Iterator[Hit]:
    if site.name in _SHELL_ALWAYS:
        command = site.argument(0, "cmd") or site.argument(0, "command")
    elif site.name in _SHELL_OPTION and site.is_true(site.keyword("shell")):
        command = site.argument(0, "args")
    elif site.name in _SHELL_OPTION or site.name in _EXEC_FUNCS:
        yield from _program_from_model(site)
        return
    else:
        return
    if command is None or site.symbols.is_literal(command):
        return
    source = site.symbols.model_output_source(command)
    func = site.name
    if source is not None:
        yield Hit(
            SHELL_INJECTION,
            f"`{func}` runs a shell command built from model output; prompt injection becomes command execution",
            severity=Severity.CRITICAL,
            properties={"function": func, "model_output": True},
        )
        return
    yield Hit(
        SHELL_INJECTION,
        f"`{func}` runs a shell command built from variable input; pass an argument list without shell=True",
        properties={"function": func, "model_output": False},
    )


def _program_from_model(site: CallSite) -> Iterator[Hit]:
    """Without a shell, an argument list is safe from metacharacters, but not when the model picks
    the program itself (`subprocess.run(shlex.split(reply))`)."""
    argv = site.argument(0, "args")
    if argv is None or site.symbols.is_literal(argv):
        return
    if isinstance(argv, ast.List | ast.Tuple) and argv.elts and site.symbols.is_literal(argv.elts[0]):
        # A fixed program with model-chosen arguments is argument injection at worst; not reported here.
        return
    source = site.symbols.model_output_source(argv)
    if source is None:
        return
    yield Hit(
        SHELL_INJECTION,
        f"`{site.name}` runs a program and arguments taken from model output: the model, or whoever injects "
        "into its prompt, chooses what runs",
        severity=Severity.CRITICAL,
        properties={"function": site.name, "model_output": True},
    )
