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
    "and argument lists that run a shell on a script (`['bash', '-c', script]`), whose command is not a "
    "literal nor built only from `__file__`, literals and module constants (a script next to the module). "
    "A command derived from model output is critical, and so is an argument list without a shell whose "
    "program comes from model output (`subprocess.run(shlex.split(reply))`); other argument lists without a "
    "shell are not reported.",
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
        shell_script = _shell_c_script(site)
        if shell_script is None:
            yield from _program_from_model(site)
            return
        command = shell_script
    else:
        return
    if command is None or site.symbols.is_literal(command) or _is_fixed(site, command):
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
    if isinstance(argv, ast.List | ast.Tuple):
        # Without a shell only the program matters: model-chosen arguments to a program the code
        # picks (`[sys.executable, "-m", "server", model_dir]`) are argument injection at worst.
        if not argv.elts or isinstance(argv.elts[0], ast.Starred):
            return
        argv = argv.elts[0]
        if site.symbols.is_literal(argv):
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


_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash"})


def _shell_c_script(site: CallSite) -> ast.expr | None:
    """The script of an argument list that runs a shell on it (`["bash", "-c", script]`,
    `["/bin/sh", "-ec", script]`): that string goes through the shell as if `shell=True`."""
    argv = site.argument(0, "args")
    if site.name in _EXEC_FUNCS:
        # `os.execv(path, argv)`: the argument list is the second argument.
        argv = site.argument(1, "argv")
    if not isinstance(argv, ast.List | ast.Tuple) or len(argv.elts) < 3:
        return None
    program, flag = (site.symbols.value_of(e) for e in argv.elts[:2])
    if not (isinstance(program, str) and isinstance(flag, str)):
        return None
    if program.rsplit("/", 1)[-1] not in _SHELLS:
        return None
    if not (flag.startswith("-") and not flag.startswith("--") and "c" in flag):
        return None
    script = argv.elts[2]
    return None if isinstance(script, ast.Starred) else script


# Calls that only turn a path into another path: a script located next to the module stays fixed.
_PATH_FUNCS = frozenset(
    {
        "os.path.dirname",
        "os.path.abspath",
        "os.path.realpath",
        "os.path.join",
        "os.path.normpath",
        "pathlib.Path",
        "builtins.str",
    }
)
_PATH_ATTRS = frozenset({"parent", "parents", "resolve", "absolute", "joinpath", "with_name", "with_suffix", "name"})


def _is_fixed(site: CallSite, node: ast.expr, depth: int = 0) -> bool:
    """Whether a command is built only from `__file__`, literals and names bound to such values
    (`SCRIPT_DIR = os.path.dirname(__file__)`), through path helpers: nothing from outside reaches it."""
    if depth > 8:
        return False
    stack: list[ast.AST] = [node]
    steps = 0
    while stack:
        steps += 1
        if steps > 200:
            return False
        current = stack.pop()
        if isinstance(current, ast.Constant | ast.FormattedValue | ast.JoinedStr):
            stack.extend(ast.iter_child_nodes(current))
        elif isinstance(current, ast.Name):
            if current.id == "__file__" or current.id in site.symbols.literals:
                continue
            bound = site.symbols.values.get(current.id)
            if not bound or not all(_is_fixed(site, value, depth + 1) for value in bound):
                return False
        elif isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add | ast.Div | ast.Mod):
            stack.extend((current.left, current.right))
        elif isinstance(current, ast.Attribute) and current.attr in _PATH_ATTRS:
            stack.append(current.value)
        elif isinstance(current, ast.Call):
            if not _is_path_helper(site, current.func):
                return False
            if isinstance(current.func, ast.Attribute) and site.symbols.qualify(current.func) not in _PATH_FUNCS:
                stack.append(current.func.value)
            stack.extend(current.args)
            stack.extend(k.value for k in current.keywords)
        else:
            return False
    return True


def _is_path_helper(site: CallSite, func: ast.expr) -> bool:
    """A known path function, a method of a fixed path (`HERE.joinpath`), or a helper of the module
    itself (`dir_of(__file__)`): a function defined in the file computes from what it is given."""
    qualified = site.symbols.qualify(func)
    if qualified in _PATH_FUNCS:
        return True
    if isinstance(func, ast.Attribute):
        # The receiver is checked by the caller: `HERE.joinpath("run.sh")`, `"{}/x.sh".format(HERE)`.
        return func.attr in _PATH_ATTRS or func.attr in ("format", "replace")
    return isinstance(func, ast.Name) and func.id in site.symbols.defined and func.id not in site.symbols.values
