"""Operating-system packages installed without signature checks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.per_instruction import Fold, in_order, line_list
from aisec_ci.scanners.docker.shell import Command
from aisec_ci.severity import Severity

UNSIGNED_PACKAGES = Rule(
    id="docker/unsigned-packages",
    name="Package signature checks disabled",
    short_description="A package manager installs packages without verifying their signatures.",
    severity=Severity.HIGH,
    what="Reports `apt-get --allow-unauthenticated`/`--force-yes`/`--allow-insecure-repositories`, apt "
    "sources marked `[trusted=yes]`, `apk --allow-untrusted`, yum/dnf/microdnf `--nogpgcheck` or "
    "`gpgcheck=0`, zypper `--no-gpg-checks` and `rpm --nosignature`/`--nodigest`.",
    why="Signatures are what ties a package to its publisher. Without them a mirror, proxy or anyone on the "
    "network path can substitute a package, and its install scripts run as root during the build.",
    example="RUN apt-get install -y --allow-unauthenticated libcudnn8\n"
    'RUN echo "deb [trusted=yes] http://repo.example.com/ ./" > /etc/apt/sources.list.d/x.list',
    example_language="dockerfile",
    fix="Import the repository's signing key (`signed-by=/usr/share/keyrings/<vendor>.gpg` for apt, "
    "`rpm --import` for yum/dnf) and drop the flag.",
    tags=("CWE-347", "CWE-494", "supply-chain"),
    precision="very-high",
)

RULES = (UNSIGNED_PACKAGES,)

_APT = frozenset({"apt-get", "apt", "aptitude"})
_RPM_FAMILY = frozenset({"yum", "dnf", "microdnf", "tdnf", "yum-config-manager", "dnf-3"})
_TRUSTED_YES = re.compile(r"\btrusted\s*=\s*yes\b", re.IGNORECASE)
# No leading word boundary: repo files are often written with `printf '...\ngpgcheck=0'`.
_GPGCHECK_OFF = re.compile(r"gpgcheck\s*=\s*(?:0|false|no)\b", re.IGNORECASE)
_APT_UNAUTH_OPTION = re.compile(r"allow(?:unauthenticated|insecurerepositories)\W*(?:=\s*)?\"?(?:true|1|yes)", re.I)


def check(ctx: DockerContext) -> Iterator[Finding]:
    for script in ctx.runs:
        seen: set[tuple[int, str]] = set()
        for rc in script.commands:
            for what in _problems(rc.cmd):
                if (rc.line, what) in seen:
                    continue
                seen.add((rc.line, what))
                yield ctx.finding(
                    UNSIGNED_PACKAGES,
                    rc.line,
                    f"{what} installs packages without signature verification.",
                    key=f"unsigned:{what}",
                    properties={"setting": what},
                )


def _problems(cmd: Command) -> list[str]:
    out: list[str] = []
    name = cmd.name
    args = cmd.args
    if name in _APT:
        for flag in ("--allow-unauthenticated", "--force-yes", "--allow-insecure-repositories"):
            if flag in args:
                out.append(f"`{name} {flag}`")
        if any(_APT_UNAUTH_OPTION.search(a) for a in args):
            out.append(f"`{name}` AllowUnauthenticated option")
    elif name == "apk" and "--allow-untrusted" in args:
        out.append("`apk --allow-untrusted`")
    elif name in _RPM_FAMILY and any(a in ("--nogpgcheck", "--no-gpgcheck") for a in args):
        out.append(f"`{name} --nogpgcheck`")
    elif name == "zypper" and any(a in ("--no-gpg-checks", "--no-gpgcheck") for a in args):
        out.append("`zypper --no-gpg-checks`")
    elif name == "rpm":
        for flag in ("--nosignature", "--nodigest"):
            if flag in args:
                out.append(f"`rpm {flag}`")
    if any(_TRUSTED_YES.search(w) for w in cmd.words):
        out.append("an apt source marked `[trusted=yes]`")
    if any(_GPGCHECK_OFF.search(w) for w in cmd.words):
        out.append("`gpgcheck=0`")
    return out


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    UNSIGNED_PACKAGES.id: Fold(
        message=lambda items: (
            ", ".join(in_order(items, "setting")) + " install packages without signature verification in this RUN step."
        ),
        properties=lambda items: {
            "settings": in_order(items, "setting"),
            "setting": items[0].properties["setting"],
            "lines": line_list(items),
        },
    ),
}
