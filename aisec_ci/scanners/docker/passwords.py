"""Account passwords written into build steps."""

from __future__ import annotations

from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext, RunCommand
from aisec_ci.scanners.docker.per_instruction import Fold, in_order, line_list
from aisec_ci.scanners.docker.shell import Command
from aisec_ci.severity import Severity

HARDCODED_PASSWORD = Rule(
    id="docker/hardcoded-password",
    name="Account password set in a RUN step",
    short_description="`chpasswd`, `useradd -p` or `passwd --stdin` gets a literal password.",
    severity=Severity.HIGH,
    what="Reports RUN steps that feed a literal `user:password` to `chpasswd`, pass a password hash to "
    "`useradd`/`usermod -p`, or pipe a literal to `passwd --stdin`. The password is never shown in the report.",
    why="The password is in the repository and in the image layer; every container from the image has the same "
    "known credential, which together with SSH or `su` gives anyone root or user access.",
    example="RUN echo 'root:hunter2' | chpasswd",
    example_language="dockerfile",
    fix="Do not set passwords in images. Lock the account (`passwd -l`), use key-based or orchestrator access, "
    "and inject credentials at run time if something truly needs one.",
    tags=("CWE-798", "CWE-259", "secrets"),
    precision="high",
)

RULES = (HARDCODED_PASSWORD,)


def check(ctx: DockerContext) -> Iterator[Finding]:
    for script in ctx.runs:
        for rc in script.commands:
            what = _problem(rc)
            if what:
                yield ctx.finding(
                    HARDCODED_PASSWORD,
                    rc.line,
                    f"{what} sets a literal password in the image.",
                    snippet=f"{rc.cmd.name} <redacted>",
                    key=f"password:{rc.cmd.name}",
                    properties={"command": what, "tool": rc.cmd.name},
                )


def _literal(word: str, raw: str) -> bool:
    """A value written in the file: no expansion, unless single quotes keep `$` literal."""
    if not word:
        return False
    return raw.startswith("'") or ("$" not in word and "`" not in word)


def _args(cmd: Command) -> list[tuple[str, str]]:
    raws = cmd.raw_words[1:] if len(cmd.raw_words) == len(cmd.words) else cmd.args
    return list(zip(cmd.args, raws, strict=False))


def _problem(rc: RunCommand) -> str:
    cmd = rc.cmd
    if cmd.name == "chpasswd" or (cmd.name == "passwd" and "--stdin" in cmd.args):
        for up in rc.upstream:
            if up.name not in ("echo", "printf"):
                continue
            values = [(w, r) for w, r in _args(up) if not w.startswith("-")]
            if up.name == "printf" and len(values) > 1:
                # The first operand is the format; the data follows it.
                values = values[1:]
            if cmd.name == "chpasswd":
                values = [(w.split(":", 1)[1], r) for w, r in values if ":" in w]
            if any(_literal(w, r) for w, r in values):
                return f"`{up.name} ... | {cmd.name}`"
    if cmd.name in ("useradd", "usermod", "adduser"):
        args = _args(cmd)
        for k, (a, _) in enumerate(args):
            if a in ("-p", "--password") and k + 1 < len(args) and _literal(*args[k + 1]):
                return f"`{cmd.name} {a}`"
            if a.startswith("--password=") and "$" not in a:
                return f"`{cmd.name} --password`"
    return ""


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    HARDCODED_PASSWORD.id: Fold(
        message=lambda items: ", ".join(in_order(items, "command")) + " set literal passwords in the image.",
        properties=lambda items: {"commands": in_order(items, "command"), "lines": line_list(items)},
        snippet=lambda items: ", ".join(f"{tool} <redacted>" for tool in in_order(items, "tool")),
    ),
}
