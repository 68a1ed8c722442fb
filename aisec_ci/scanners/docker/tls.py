"""TLS certificate verification switched off for downloads during the build or at run time."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.parser import split_assignments
from aisec_ci.scanners.docker.per_instruction import Fold, in_order, line_list
from aisec_ci.scanners.docker.shell import Command
from aisec_ci.severity import Severity

TLS_DISABLED = Rule(
    id="docker/tls-verification-disabled",
    name="TLS certificate verification disabled",
    short_description="A download tool or runtime is told not to verify TLS certificates.",
    severity=Severity.HIGH,
    what="Reports `curl -k/--insecure`, `wget --no-check-certificate`, `git -c http.sslVerify=false`, "
    "`npm config set strict-ssl false`, `conda config --set ssl_verify false`, yum/dnf `sslverify=0`, apt "
    "`Verify-Peer false`, and `ENV`/`ARG`/inline settings of `PYTHONHTTPSVERIFY=0`, "
    "`NODE_TLS_REJECT_UNAUTHORIZED=0`, `GIT_SSL_NO_VERIFY`, `NPM_CONFIG_STRICT_SSL=false` and "
    "`CONDA_SSL_VERIFY=false`. The commands of `CMD`, `ENTRYPOINT` and `HEALTHCHECK` are checked too, "
    "unless every URL they fetch is the container itself (`localhost`).",
    why="Without certificate checks anyone on the network path (a proxy, a hostile Wi-Fi, a compromised "
    "CI network) can answer in the server's place and hand the build a modified package, script or model. "
    "Set in `ENV`, the setting also weakens every request the running service makes.",
    example="RUN curl -k https://example.com/tool.tar.gz | tar xz\nENV PYTHONHTTPSVERIFY=0",
    example_language="dockerfile",
    fix="Remove the flag. If a corporate proxy re-signs traffic, install its CA certificate into the image "
    "(`COPY corp-ca.crt /usr/local/share/ca-certificates/ && update-ca-certificates`) instead of turning "
    "verification off.",
    tags=("CWE-295",),
    precision="very-high",
)

RULES = (TLS_DISABLED,)

_FALSY = frozenset({"0", "false", "no", "off"})
_TRUTHY_ANY = None  # any non-empty value disables verification
# Environment settings that disable verification: name -> values that do it (None: any non-empty value).
_ENV_SETTINGS: dict[str, frozenset[str] | None] = {
    "PYTHONHTTPSVERIFY": frozenset({"0"}),
    "NODE_TLS_REJECT_UNAUTHORIZED": frozenset({"0"}),
    "GIT_SSL_NO_VERIFY": _TRUTHY_ANY,
    "NPM_CONFIG_STRICT_SSL": _FALSY,
    "CONDA_SSL_VERIFY": _FALSY,
    "YARN_STRICT_SSL": _FALSY,
    "HF_HUB_DISABLE_SSL_VERIFY": frozenset({"1", "true", "yes", "on"}),
}
# curl short options that take a value: the rest of a cluster after them is that value.
_CURL_VALUE_LETTERS = frozenset("AbcCdDeEFHhKmoOPQrtTuUwxXyYz")
# yum/dnf/zypper repo option; git's `http.sslVerify` is matched separately.
_SSLVERIFY_OFF = re.compile(r"(?<![.\w])sslverify\s*=\s*(?:0|false|no)\b", re.IGNORECASE)
_URL_HOST = re.compile(r"\bhttps?://(?:[^/@\s]*@)?(\[[^\]]*\]|[^/:\s'\"]+)", re.IGNORECASE)
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "0.0.0.0"})
_VERIFY_PEER_OFF = re.compile(r"verify-(?:peer|host)\W+\"?false", re.IGNORECASE)


def check(ctx: DockerContext) -> Iterator[Finding]:
    for script in ctx.runs + ctx.start_scripts:
        keyword = script.instruction.keyword
        at_start = keyword != "RUN"
        seen: set[tuple[int, str]] = set()
        for rc in script.commands:
            # A health check or entrypoint talking to the container itself over a
            # self-signed certificate crosses no network: nothing to intercept.
            if at_start and _only_local_urls(rc.cmd):
                continue
            for what in _command_problems(rc.cmd):
                if (rc.line, what) in seen:
                    continue
                seen.add((rc.line, what))
                yield ctx.finding(
                    TLS_DISABLED,
                    rc.line,
                    f"{what} in {keyword} disables TLS certificate verification."
                    if at_start
                    else f"{what} disables TLS certificate verification.",
                    key=f"{keyword.lower()}:{what}",
                    properties={"setting": what, "instruction": keyword},
                )
    for inst in ctx.dockerfile.instructions:
        if inst.keyword not in ("ENV", "ARG"):
            continue
        for name, value, offset in split_assignments(inst.args, legacy=inst.keyword == "ENV"):
            if value is not None and _env_disables(name, value):
                yield ctx.finding(
                    TLS_DISABLED,
                    inst.line_of_args(offset),
                    f"`{inst.keyword} {name}={value}` disables TLS certificate verification.",
                    key=f"env:{name}",
                    properties={"setting": name, "instruction": inst.keyword},
                )


def _only_local_urls(cmd: Command) -> bool:
    hosts = [m.group(1).lower() for w in cmd.args for m in _URL_HOST.finditer(w)]
    return bool(hosts) and all(h in _LOCAL_HOSTS or h.startswith("$") for h in hosts)


def _env_disables(name: str, value: str) -> bool:
    upper = name.upper()
    if upper not in _ENV_SETTINGS:
        return False
    bad = _ENV_SETTINGS[upper]
    v = value.strip().strip("\"'").lower()
    if bad is None:
        return bool(v) and v not in _FALSY
    return v in bad


def _command_problems(cmd: Command) -> list[str]:
    out: list[str] = []
    for name, value in cmd.assignments.items():
        if _env_disables(name, value):
            out.append(f"`{name}={value}`")
    if cmd.name == "export":
        for a in cmd.args:
            n, eq, v = a.partition("=")
            if eq and _env_disables(n, v):
                out.append(f"`export {n}={v}`")
    args = cmd.args
    name = cmd.name
    if name == "curl" and _curl_insecure(args):
        out.append("`curl --insecure`")
    elif name == "wget" and "--no-check-certificate" in args:
        out.append("`wget --no-check-certificate`")
    elif name == "git" and _git_insecure(args):
        out.append("`git http.sslVerify=false`")
    elif name in ("npm", "yarn", "pnpm") and _npm_insecure(args):
        out.append(f"`{name}` strict-ssl false")
    elif name in ("conda", "mamba", "micromamba") and _conda_insecure(args):
        out.append(f"`{name} config ssl_verify false`")
    if any(_SSLVERIFY_OFF.search(a) for a in cmd.words):
        out.append("`sslverify=0`")
    if any(_VERIFY_PEER_OFF.search(a) for a in cmd.words):
        out.append("apt `Verify-Peer false`")
    return out


def _curl_insecure(args: list[str]) -> bool:
    for a in args:
        if a in ("--insecure", "--proxy-insecure"):
            return True
        if a.startswith("-") and not a.startswith("--"):
            for letter in a[1:]:
                if letter == "k":
                    return True
                if letter in _CURL_VALUE_LETTERS:
                    break
    return False


def _git_insecure(args: list[str]) -> bool:
    lowered = [a.lower() for a in args]
    for k, a in enumerate(lowered):
        if a.replace(" ", "") in ("http.sslverify=false", "http.sslverify=0", "http.sslverify=no"):
            return True
        if a == "http.sslverify" and k + 1 < len(lowered) and lowered[k + 1] in _FALSY:
            return True
    return False


def _npm_insecure(args: list[str]) -> bool:
    lowered = [a.lower() for a in args]
    if any(a in ("--strict-ssl=false", "--no-strict-ssl") for a in lowered):
        return True
    for k, a in enumerate(lowered):
        if a in ("strict-ssl", "strictssl") and k + 1 < len(lowered) and lowered[k + 1] in _FALSY:
            return True
        if a in ("strict-ssl=false", "strictssl=false"):
            return True
    return False


def _conda_insecure(args: list[str]) -> bool:
    lowered = [a.lower() for a in args]
    return any(a == "ssl_verify" and k + 1 < len(lowered) and lowered[k + 1] in _FALSY for k, a in enumerate(lowered))


def _tls_message(items: Sequence[Finding]) -> str:
    keyword = str(items[0].properties["instruction"])
    if keyword in ("ENV", "ARG"):
        names = ", ".join(f"`{name}`" for name in in_order(items, "setting"))
        return f"`{keyword}` sets {names}, which disable TLS certificate verification."
    settings = ", ".join(in_order(items, "setting"))
    where = "" if keyword == "RUN" else f" in {keyword}"
    return f"{settings}{where} disable TLS certificate verification."


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    TLS_DISABLED.id: Fold(
        message=_tls_message,
        properties=lambda items: {
            "settings": in_order(items, "setting"),
            "setting": items[0].properties["setting"],
            "lines": line_list(items),
        },
    ),
}
