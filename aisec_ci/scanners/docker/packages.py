"""Version pins for the package managers other than apt and pip: apk, npm/yarn/pnpm, gem, go, conda."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.per_instruction import Fold, in_order, line_list, listed, union
from aisec_ci.scanners.docker.shell import Command
from aisec_ci.severity import Severity

PACKAGE_UNPINNED = Rule(
    id="docker/package-unpinned",
    profile="strict",
    name="Package install without version pins (apk, npm, yarn, yum/dnf, zypper, gem, go, conda)",
    short_description="apk, npm/yarn/pnpm, yum/dnf, zypper, gem, go or conda installs packages without a version.",
    severity=Severity.LOW,
    what="Reports package operands without a version in `apk add` (`pkg=1.2.3`, `pkg~1.2`), "
    "`npm install`/`yarn add`/`pnpm add` (`pkg@1.2.3`; `@latest` counts as unpinned), `yum`/`dnf`/`microdnf "
    "install` (`pkg-1.2.3`; `@group` names a group), `zypper install` (`pkg=1.2.3`), `gem install` "
    "(`-v 1.2.3` or `pkg:1.2.3`), `go install` (`pkg@v1.2.3`; `@latest`, `@master`, `@main` count as unpinned) "
    "and `conda`/`mamba`/`micromamba` `install`/`create` (`pkg=1.2`). Packages named by a variable, local "
    "paths, archives and URLs are not reported; `npm install` with no package installs from the lock file "
    "and is fine. apt and pip have rules of their own.",
    why="Each rebuild installs whatever the registry serves that day: two images built from one commit differ, "
    "a hijacked or broken release (npm and PyPI-adjacent tooling are frequent targets) lands in the image "
    "unreviewed, and a scan of one build says little about the next.",
    example="RUN apk add --no-cache git curl \\\n    && npm install -g pm2 \\\n    && go install "
    "github.com/acme/tool@latest \\\n    && conda install -y -c pytorch pytorch torchvision",
    example_language="dockerfile",
    fix="Pin each package: `apk add git=2.45.2-r0`, `npm install -g pm2@5.4.2`, `go install "
    "github.com/acme/tool@v1.8.0`, `conda install pytorch=2.3.1 torchvision=0.18.1`; or install from a lock "
    "file (`npm ci`, `conda-lock install`).",
    tags=("CWE-1357", "supply-chain"),
    precision="high",
)

RULES = (PACKAGE_UNPINNED,)

_GO_FLOATING = frozenset({"latest", "master", "main", "upgrade", "patch"})
_NPM_FLOATING = frozenset({"latest", "next", "canary", "beta", "alpha", "nightly", "*", "x", ""})
_CONDA = frozenset({"conda", "mamba", "micromamba"})
_RPM = frozenset({"yum", "dnf", "microdnf", "tdnf"})
_RPM_VERSION = re.compile(r"-\d")


@dataclass(frozen=True)
class Manager:
    """How to read one package manager's install command."""

    subcommands: frozenset[str]
    value_options: frozenset[str]
    pinned: Callable[[str, list[str]], bool]
    """(package operand, every option) -> whether the operand carries a version."""


def _apk_pinned(pkg: str, options: list[str]) -> bool:
    return any(c in pkg for c in "=<>~")


def _npm_pinned(pkg: str, options: list[str]) -> bool:
    # `@scope/name` starts with `@`: the version separator is the next `@`.
    _, at, version = pkg[1:].partition("@") if pkg.startswith("@") else pkg.partition("@")
    return bool(at) and version.lower() not in _NPM_FLOATING


def _gem_pinned(pkg: str, options: list[str]) -> bool:
    return ":" in pkg or any(o in ("-v", "--version") or o.startswith("--version=") for o in options)


def _go_pinned(pkg: str, options: list[str]) -> bool:
    _, at, version = pkg.partition("@")
    return bool(at) and version.lower() not in _GO_FLOATING


def _rpm_pinned(pkg: str, options: list[str]) -> bool:
    # `name-1.2.3` (yum/dnf spell the version after a dash) or a comparison for zypper;
    # `@group` names a package group, which has no version to pin.
    return pkg.startswith("@") or bool(_RPM_VERSION.search(pkg)) or any(c in pkg for c in "=<>")


def _conda_pinned(pkg: str, options: list[str]) -> bool:
    return any(c in pkg for c in "=<>") or " " in pkg


_MANAGERS: dict[str, Manager] = {
    "apk": Manager(
        frozenset({"add"}),
        frozenset({"-t", "--virtual", "-X", "--repository", "-p", "--root", "--arch", "--keys-dir", "--cache-dir"}),
        _apk_pinned,
    ),
    "npm": Manager(
        frozenset({"install", "i", "add", "isntall", "in", "ins", "inst", "insta", "instal", "isnt", "isnta"}),
        frozenset({"--prefix", "--registry", "--cache", "--userconfig", "--omit", "--include", "-w", "--workspace"}),
        _npm_pinned,
    ),
    "yarn": Manager(frozenset({"add"}), frozenset({"--registry", "--cwd", "--modules-folder"}), _npm_pinned),
    "pnpm": Manager(frozenset({"add", "install", "i"}), frozenset({"--dir", "-C", "--registry"}), _npm_pinned),
    "gem": Manager(
        frozenset({"install", "i"}),
        frozenset({"-v", "--version", "-i", "--install-dir", "-n", "--bindir", "-s", "--source", "--platform"}),
        _gem_pinned,
    ),
    "go": Manager(frozenset({"install"}), frozenset({"-o", "-C", "-tags", "-ldflags", "-gcflags"}), _go_pinned),
    "yum": Manager(
        frozenset({"install"}),
        frozenset({"--enablerepo", "--disablerepo", "--releasever", "--installroot", "--setopt", "-c", "--config"}),
        _rpm_pinned,
    ),
    "zypper": Manager(frozenset({"install", "in"}), frozenset({"-r", "--repo", "--from", "-t", "--type"}), _rpm_pinned),
    "conda": Manager(
        frozenset({"install", "create"}),
        frozenset(
            {
                "-c",
                "--channel",
                "-n",
                "--name",
                "-p",
                "--prefix",
                "-f",
                "--file",
                "--platform",
                "--subdir",
                "-r",
                "--root-prefix",
                "--clone",
            }
        ),
        _conda_pinned,
    ),
}
# A local path, an archive, a URL or a git reference names exact content, not a registry version.
_NOT_A_REGISTRY_NAME = re.compile(
    r"^(?:[./~]|[a-z+]+://|git[+@:]|github:|file:)|\.(?:apk|tgz|tar\.gz|gem|whl|conda|tar\.bz2|rpm)$", re.IGNORECASE
)


@dataclass(frozen=True)
class _Install:
    manager: Manager
    name: str
    subcommand: str
    packages: list[str]
    options: list[str]


def _install(cmd: Command) -> _Install | None:
    name = cmd.name
    key = "conda" if name in _CONDA else "yum" if name in _RPM else name
    manager = _MANAGERS.get(key)
    if manager is None:
        return None
    args = cmd.args
    options: list[str] = []
    positional: list[str] = []
    k = 0
    while k < len(args):
        a = args[k]
        if a == "--":
            positional.extend(args[k + 1 :])
            break
        if a.startswith("-") and len(a) > 1:
            options.append(a)
            if a in manager.value_options and k + 1 < len(args):
                options.append(args[k + 1])
                k += 1
        else:
            positional.append(a)
        k += 1
    if key == "yarn" and positional[:1] == ["global"]:
        positional = positional[1:]
    if not positional or positional[0] not in manager.subcommands:
        return None
    if key == "conda" and any(o in ("-f", "--file") or o.startswith("--file=") for o in options):
        # An environment or explicit spec file holds the versions.
        return None
    return _Install(manager, name, positional[0], positional[1:], options)


def _unpinned(call: _Install) -> list[str]:
    out: list[str] = []
    for pkg in call.packages:
        if not pkg or "$" in pkg or _NOT_A_REGISTRY_NAME.search(pkg):
            continue
        if not call.manager.pinned(pkg, call.options):
            out.append(pkg)
    return sorted(set(out))


def check(ctx: DockerContext) -> Iterator[Finding]:
    for script in ctx.runs:
        for rc in script.commands:
            call = _install(rc.cmd)
            if call is None:
                continue
            unpinned = _unpinned(call)
            if not unpinned:
                continue
            label = f"{call.name} {call.subcommand}"
            shown = ", ".join(unpinned[:6]) + (f" and {len(unpinned) - 6} more" if len(unpinned) > 6 else "")
            yield ctx.finding(
                PACKAGE_UNPINNED,
                rc.line,
                f"`{label}` without version pins: {shown}.",
                key=f"package-unpinned:{call.name}:{','.join(unpinned)}",
                properties={"manager": call.name, "packages": unpinned, "command": label},
            )


def _by_command(items: Sequence[Finding]) -> dict[str, list[str]]:
    """Unpinned packages per install command (`apk add`, `npm install` ...), in source order."""
    out: dict[str, set[str]] = {}
    for f in items:
        out.setdefault(str(f.properties["command"]), set()).update(f.properties["packages"])
    return {command: sorted(names) for command, names in out.items()}


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    PACKAGE_UNPINNED.id: Fold(
        message=lambda items: (
            f"{len(items)} install commands in this RUN step without version pins: "
            + "; ".join(f"`{command}`: {listed(names, 6)}" for command, names in _by_command(items).items())
            + "."
        ),
        properties=lambda items: {
            "managers": in_order(items, "manager"),
            "packages": union(items, "packages"),
            "packages_by_command": _by_command(items),
            "lines": line_list(items),
        },
    ),
}
