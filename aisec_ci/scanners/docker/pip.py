"""Python package installs: pinning, cache hygiene and where packages come from."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext, RunScript
from aisec_ci.scanners.docker.parser import Instruction, split_assignments
from aisec_ci.scanners.docker.per_instruction import Fold, in_order, line_list, listed, on_lines, union
from aisec_ci.scanners.docker.redaction import redact_url
from aisec_ci.scanners.docker.shell import Command
from aisec_ci.severity import Severity

PIP_UNPINNED = Rule(
    id="docker/pip-unpinned",
    profile="strict",
    name="pip install without exact versions",
    short_description="`pip install` names packages without `==version`.",
    severity=Severity.LOW,
    what="Reports `pip install` (also `python -m pip`, `uv pip install`) commands whose package operands "
    "have no `==` pin. Requirement files, constraint files (`-c`, `PIP_CONSTRAINT`), local paths, wheels, "
    "URLs and `pip`/`setuptools`/`wheel` upgrades are not reported.",
    why="Unpinned `torch`, `transformers` or `vllm` resolve to whatever is newest at build time: the image "
    "changes without a commit, a hijacked release or a typo-squatted dependency lands in production, and "
    "vulnerability scans of the repository's requirement files do not describe the image.",
    example="RUN pip install --no-cache-dir torch transformers accelerate",
    example_language="dockerfile",
    fix="Pin exact versions (`pip install torch==2.3.1 transformers==4.41.2`), or better install from a "
    "lock file with hashes: `pip install --require-hashes -r requirements.lock`.",
    tags=("CWE-1357", "CWE-494", "supply-chain"),
    precision="high",
)

PIP_CACHE = Rule(
    id="docker/pip-cache",
    profile="strict",
    name="pip cache kept in the image",
    short_description="`pip install` without `--no-cache-dir` in a shipped stage.",
    severity=Severity.INFO,
    what="Reports `pip install` in the shipped stages without `--no-cache-dir` (or an abbreviation pip "
    "accepts, such as `--no-cache`), `PIP_NO_CACHE_DIR` or a BuildKit cache mount.",
    why="pip keeps every downloaded wheel in `~/.cache/pip`. For ML stacks that is gigabytes (CUDA wheels of "
    "torch alone exceed 2 GB) added to every pull on every GPU node.",
    example="RUN pip install torch==2.3.1",
    example_language="dockerfile",
    fix="`RUN pip install --no-cache-dir torch==2.3.1`, or `RUN --mount=type=cache,target=/root/.cache/pip "
    "pip install torch==2.3.1`.",
    tags=("hygiene",),
    precision="high",
)

EXTRA_INDEX = Rule(
    id="docker/pip-extra-index-url",
    name="Extra package index (dependency confusion)",
    short_description="`--extra-index-url` makes pip choose between two indexes by version number.",
    severity=Severity.MEDIUM,
    what="Reports `--extra-index-url` (pip; `uv pip` only with an unsafe `--index-strategy`, since uv's default "
    "takes a package from the first index that has it), `pip config set global.extra-index-url` and "
    "`PIP_EXTRA_INDEX_URL`/`UV_EXTRA_INDEX_URL` in ENV/ARG. URLs listed in the `allowed_extra_index_urls` "
    "option are not reported, nor an install whose packages are all pinned to a local version "
    "(`torch==2.3.1+cpu`), which PyPI refuses to host.",
    why="pip merges all indexes and takes the highest version from any of them. Anyone can publish a package "
    "with the name of your internal one (or of a dependency only your extra index serves) on PyPI with a "
    "higher version, and the build installs it: in December 2022 a malicious `torchtriton` on PyPI was "
    "installed this way by everyone using PyTorch's nightly extra index.",
    example="RUN pip install --extra-index-url https://pypi.internal.example/simple acme-features==1.2.0",
    example_language="dockerfile",
    fix="Use one index that proxies PyPI and your packages (`--index-url`), or `uv` with "
    "`--index-strategy first-index`/explicit indexes per package, and pin with hashes "
    "(`--require-hashes`). List reviewed URLs under `allowed_extra_index_urls`.",
    tags=("CWE-427", "CWE-829", "supply-chain", "dependency-confusion"),
    precision="high",
    references=("https://pytorch.org/blog/compromised-nightly-dependency/",),
)

INSECURE_INDEX = Rule(
    id="docker/insecure-package-index",
    name="Package index over plain HTTP or without TLS checks",
    short_description="pip is pointed at an `http://` index or told to trust a host without TLS verification.",
    severity=Severity.HIGH,
    what="Reports `--index-url`/`--extra-index-url`/`--find-links` with `http://` URLs, `--trusted-host`, "
    "uv's `--allow-insecure-host`, and the same settings through `pip config` or `PIP_*`/`UV_*` ENV and ARG.",
    why="Packages fetched over plain HTTP, or over HTTPS without certificate checks, can be replaced by "
    "anyone on the network path, and a Python package runs arbitrary code at install and import time.",
    example="RUN pip install --index-url http://10.0.0.5/simple --trusted-host 10.0.0.5 model-utils==0.3",
    example_language="dockerfile",
    fix="Serve the index over HTTPS with a certificate the image trusts (install the internal CA), "
    "and drop `--trusted-host`.",
    tags=("CWE-319", "CWE-295", "supply-chain"),
    precision="very-high",
)

RULES = (PIP_UNPINNED, PIP_CACHE, EXTRA_INDEX, INSECURE_INDEX)

_PIP_NAME = re.compile(r"^pip[0-9.]*$")
_PYTHON_NAME = re.compile(r"^python[0-9.]*$")
_VALUE_OPTIONS = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-e",
        "--editable",
        "-i",
        "--index-url",
        "--extra-index-url",
        "--index",
        "--default-index",
        "-f",
        "--find-links",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "--trusted-host",
        "--allow-insecure-host",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
        "--src",
        "--upgrade-strategy",
        "--progress-bar",
        "--cache-dir",
        "--log",
        "--proxy",
        "--retries",
        "--timeout",
        "--exists-action",
        "--cert",
        "--client-cert",
        "--only-binary",
        "--no-binary",
        "--config-settings",
        "-C",
        "--global-option",
        "--install-option",
        "--python",
        "-p",
        "--report",
        "--index-strategy",
        "--resolution",
        "--extra",
        "--group",
        "--keyring-provider",
        "--root-user-action",
    }
)
_NEVER_PINNED = frozenset({"pip", "setuptools", "wheel", "uv", "pip-tools"})
_ML_PACKAGES = frozenset(
    {
        "torch",
        "torchvision",
        "torchaudio",
        "transformers",
        "tensorflow",
        "jax",
        "jaxlib",
        "vllm",
        "diffusers",
        "accelerate",
        "datasets",
        "peft",
        "bitsandbytes",
        "xformers",
        "flash-attn",
        "onnxruntime",
        "onnxruntime-gpu",
        "sentence-transformers",
        "langchain",
        "llama-index",
        "openai",
        "huggingface-hub",
        "safetensors",
        "tokenizers",
        "deepspeed",
        "triton",
        "ray",
        "mlflow",
    }
)
_LOCAL_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?===?[A-Za-z0-9.!_-]+\+[A-Za-z0-9.]+$")
_NO_CACHE = "--no-cache-dir"
_NO_CACHE_MIN = "--no-ca"
_REQ_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass
class PipCall:
    cmd: Command
    subcommand: str
    args: list[str]
    """Arguments after the subcommand."""
    options: dict[str, list[str]] = field(default_factory=dict)
    packages: list[str] = field(default_factory=list)
    tool: str = "pip"


def pip_call(cmd: Command) -> PipCall | None:
    """Recognise `pip ...`, `python -m pip ...` and `uv pip ...`."""
    words = cmd.words
    if not words:
        return None
    name = cmd.name
    rest: list[str]
    tool = "pip"
    if _PIP_NAME.match(name):
        rest = words[1:]
    elif _PYTHON_NAME.match(name) and len(words) >= 3 and words[1] == "-m" and _PIP_NAME.match(words[2]):
        rest = words[3:]
    elif name == "uv" and len(words) >= 2 and words[1] == "pip":
        rest = words[2:]
        tool = "uv pip"
    else:
        return None
    # Global options may precede the subcommand (`pip --disable-pip-version-check install ...`).
    k = 0
    while k < len(rest) and rest[k].startswith("-"):
        k += 1
    if k >= len(rest):
        return None
    call = PipCall(cmd, rest[k], rest[k + 1 :], tool=tool)
    args = call.args
    j = 0
    while j < len(args):
        a = args[j]
        if a.startswith("--") and "=" in a:
            opt, _, value = a.partition("=")
            call.options.setdefault(opt, []).append(value)
        elif a in _VALUE_OPTIONS:
            call.options.setdefault(a, []).append(args[j + 1] if j + 1 < len(args) else "")
            j += 1
        elif a.startswith("-") and not a.startswith("--") and len(a) > 2 and a[:2] in ("-i", "-r", "-c", "-f", "-e"):
            call.options.setdefault(a[:2], []).append(a[2:])
        elif a.startswith("-"):
            call.options.setdefault(a, []).append("")
        else:
            call.packages.append(a)
        j += 1
    return call


def check(ctx: DockerContext) -> Iterator[Finding]:
    allowed_extra = [str(u).rstrip("/") for u in ctx.options.get("allowed_extra_index_urls") or []]
    for script in ctx.runs:
        for rc in script.commands:
            call = pip_call(rc.cmd)
            if call is None:
                continue
            yield from _index_findings(ctx, call, rc.line, allowed_extra)
            if call.subcommand == "install":
                yield from _install_findings(ctx, script, call, rc.line)
    for inst in ctx.dockerfile.instructions:
        if inst.keyword in ("ENV", "ARG"):
            yield from _env_findings(ctx, inst, allowed_extra)


_UNSAFE_UV_STRATEGIES = frozenset({"unsafe-first-match", "unsafe-best-match"})


def _uv_first_index(ctx: DockerContext, opts: dict[str, list[str]]) -> bool:
    """Whether uv resolves with its default `first-index` strategy: a package is taken from the
    first index that has it, extra indexes before PyPI, so a higher version of the same name on
    PyPI never wins (uv's answer to dependency confusion). `--index-strategy` or an
    `ENV UV_INDEX_STRATEGY` in the Dockerfile can turn that off."""
    chosen = opts.get("--index-strategy", [])
    if chosen:
        return chosen[-1].strip("'\"").lower() not in _UNSAFE_UV_STRATEGIES
    for inst in ctx.dockerfile.instructions:
        if inst.keyword in ("ENV", "ARG"):
            for name, value, _ in split_assignments(inst.args, legacy=inst.keyword == "ENV"):
                if name.upper() == "UV_INDEX_STRATEGY" and (value or "").strip("'\"").lower() in _UNSAFE_UV_STRATEGIES:
                    return False
    return True


def _index_findings(ctx: DockerContext, call: PipCall, line: int, allowed_extra: list[str]) -> Iterator[Finding]:
    opts = call.options
    extra = list(opts.get("--extra-index-url", []))
    primary = opts.get("-i", []) + opts.get("--index-url", []) + opts.get("--default-index", [])
    primary += opts.get("--index", [])
    find_links = opts.get("-f", []) + opts.get("--find-links", [])
    trusted = opts.get("--trusted-host", []) + opts.get("--allow-insecure-host", [])
    if call.subcommand == "config" and len(call.args) >= 3 and call.args[0] in ("set", "--global"):
        # `pip config set global.extra-index-url URL`
        setting_args = [a for a in call.args if not a.startswith("--")]
        if len(setting_args) >= 3:
            key, value = setting_args[1].lower(), setting_args[2]
            if key.endswith(".extra-index-url"):
                extra.extend(value.split())
            elif key.endswith(".index-url"):
                primary.append(value)
            elif key.endswith(".trusted-host"):
                trusted.append(value)
            elif key.endswith(".find-links"):
                find_links.append(value)
    local_only = _only_local_versions(call)
    first_index = call.tool == "uv pip" and _uv_first_index(ctx, opts)
    for url in extra:
        if _is_http(url):
            yield _insecure(ctx, line, f"{call.tool} extra index over plain HTTP `{redact_url(url)}`", url)
        if not local_only and not first_index and not _allowed(url, allowed_extra):
            yield ctx.finding(
                EXTRA_INDEX,
                line,
                f"`{call.tool}` uses extra index `{redact_url(url)}`; a same-named package on PyPI with a "
                "higher version wins (dependency confusion).",
                key=f"extra-index:{redact_url(url)}",
                properties={"url": redact_url(url)},
            )
    for url in primary + find_links:
        if _is_http(url):
            yield _insecure(ctx, line, f"{call.tool} index over plain HTTP `{redact_url(url)}`", url)
    for host in trusted:
        yield _insecure(ctx, line, f"{call.tool} trusts host `{redact_url(host)}` without TLS verification", host)


def _only_local_versions(call: PipCall) -> bool:
    """Whether every package of an install is pinned to a local version (`torch==2.3.1+cpu`).

    PyPI refuses uploads with a local version label, so no PyPI package can
    satisfy such a pin: the extra index is the only possible source and there
    is nothing to confuse. Requirement files and editables are not read, so
    they keep the finding.
    """
    if call.subcommand not in ("install", "download") or not call.packages:
        return False
    if {"-r", "--requirement", "-e", "--editable"} & call.options.keys():
        return False
    return all(_LOCAL_PIN.match(spec.strip().strip("'\"")) for spec in call.packages)


def _no_cache(opts: dict[str, list[str]]) -> bool:
    """Whether `--no-cache-dir` is given, also as an abbreviation pip accepts (`--no-cache`).

    pip's option parser takes any unambiguous prefix of a long option; below
    `--no-ca` the prefix also matches `--no-clean`, `--no-color` or `--no-compile`.
    """
    return any(len(o) >= len(_NO_CACHE_MIN) and _NO_CACHE.startswith(o) for o in opts)


def _insecure(ctx: DockerContext, line: int, what: str, url: str) -> Finding:
    return ctx.finding(
        INSECURE_INDEX,
        line,
        f"{what}; packages can be replaced in transit.",
        key=f"insecure-index:{redact_url(url)}",
        properties={"url": redact_url(url), "what": what},
    )


def _is_http(url: str) -> bool:
    low = url.strip().lower()
    if not low.startswith("http://"):
        return False
    host = low[len("http://") :].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    return host not in ("localhost", "127.0.0.1", "[::1]")


def _allowed(url: str, allowed: list[str]) -> bool:
    u = url.strip().rstrip("/")
    return any(u == a or u.startswith(a + "/") for a in allowed)


def _install_findings(ctx: DockerContext, script: RunScript, call: PipCall, line: int) -> Iterator[Finding]:
    opts = call.options
    inst = script.instruction
    constrained = (
        bool({"-c", "--constraint"} & opts.keys())
        or "PIP_CONSTRAINT" in call.cmd.assignments
        or ctx.defined_before(inst, "PIP_CONSTRAINT")
    )
    if not constrained and "--require-hashes" not in opts:
        unpinned: list[str] = []
        for spec in call.packages:
            name = _unpinned_name(spec)
            if name and name.lower() not in _NEVER_PINNED:
                unpinned.append(name)
        if unpinned:
            ml = [n for n in unpinned if n.lower().replace("_", "-") in _ML_PACKAGES]
            shown = ", ".join(unpinned[:6]) + (f" and {len(unpinned) - 6} more" if len(unpinned) > 6 else "")
            extra = f" (ML stack: {', '.join(ml)})" if ml else ""
            yield ctx.finding(
                PIP_UNPINNED,
                line,
                f"`{call.tool} install` without exact versions: {shown}{extra}.",
                key=f"pip-unpinned:{','.join(sorted(unpinned))}",
                properties={"packages": unpinned, "ml_packages": ml, "tool": call.tool},
            )
    if (
        call.tool == "pip"
        and ctx.in_final_image(script.instruction)
        and not _no_cache(opts)
        and not ctx.defined_before(inst, "PIP_NO_CACHE_DIR")
        and "PIP_NO_CACHE_DIR" not in call.cmd.assignments
        and not any("type=cache" in m for m in script.instruction.flags.get("mount", []))
    ):
        yield ctx.finding(
            PIP_CACHE,
            line,
            "`pip install` without `--no-cache-dir` keeps downloaded wheels in the image.",
            key="pip-cache",
        )


def _unpinned_name(spec: str) -> str | None:
    """The project name of a requirement operand that is not pinned, else None."""
    s = spec.strip()
    if not s or "$" in s or s.startswith((".", "/", "~")) or "://" in s or s.startswith("git+"):
        return None
    if s.endswith((".whl", ".tar.gz", ".zip", ".tar.bz2")) or "/" in s:
        return None
    if "==" in s or " @ " in s or "@" in s:
        return None
    m = _REQ_NAME.match(s)
    return m.group(1) if m else None


_EXTRA_ENV = frozenset({"PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL"})
_INDEX_ENV = frozenset({"PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "PIP_FIND_LINKS"})
_TRUSTED_ENV = frozenset({"PIP_TRUSTED_HOST", "UV_INSECURE_HOST"})


def _env_findings(ctx: DockerContext, inst: Instruction, allowed_extra: list[str]) -> Iterator[Finding]:
    for name, value, offset in split_assignments(inst.args, legacy=inst.keyword == "ENV"):
        upper = name.upper()
        if not value or "$" in value:
            continue
        line = inst.line_of_args(offset)
        if upper in _EXTRA_ENV:
            for url in value.split():
                if _is_http(url):
                    yield _insecure(ctx, line, f"`{name}` names a plain-HTTP index `{redact_url(url)}`", url)
                if upper == "UV_EXTRA_INDEX_URL" and _uv_first_index(ctx, {}):
                    continue
                if not _allowed(url, allowed_extra):
                    yield ctx.finding(
                        EXTRA_INDEX,
                        line,
                        f"`{inst.keyword} {name}` adds extra index `{redact_url(url)}`; a same-named package on "
                        "PyPI with a higher version wins (dependency confusion).",
                        key=f"extra-index:{redact_url(url)}",
                        properties={"url": redact_url(url)},
                    )
        elif upper in _INDEX_ENV:
            for url in value.split():
                if _is_http(url):
                    yield _insecure(ctx, line, f"`{name}` names a plain-HTTP index `{redact_url(url)}`", url)
        elif upper in _TRUSTED_ENV:
            yield _insecure(ctx, line, f"`{name}` trusts `{redact_url(value)}` without TLS verification", value)


def _indexes(items: Sequence[Finding]) -> str:
    urls = union(items, "url")
    if len(urls) == 1:
        return f"extra index `{urls[0]}` ({len(items)} times)"
    return "extra indexes " + ", ".join(f"`{u}`" for u in urls)


def _tools(items: Sequence[Finding]) -> str:
    return " and ".join(f"`{tool} install`" for tool in in_order(items, "tool"))


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    PIP_UNPINNED.id: Fold(
        message=lambda items: (
            f"{len(items)} {_tools(items)} commands in this RUN step without exact versions: "
            f"{listed(union(items, 'packages'))}"
            + (f" (ML stack: {', '.join(ml)})" if (ml := union(items, "ml_packages")) else "")
            + "."
        ),
        properties=lambda items: {
            "packages": union(items, "packages"),
            "ml_packages": union(items, "ml_packages"),
            "lines": line_list(items),
        },
    ),
    PIP_CACHE.id: Fold(
        message=lambda items: (
            f"{len(items)} `pip install` commands in this RUN step{on_lines(items)} lack `--no-cache-dir` and keep "
            "downloaded wheels in the image."
        ),
        properties=lambda items: {"lines": line_list(items)},
    ),
    EXTRA_INDEX.id: Fold(
        message=lambda items: (
            f"This instruction uses {_indexes(items)}; a same-named package on PyPI with a "
            "higher version wins (dependency confusion)."
        ),
        properties=lambda items: {"urls": union(items, "url"), "url": items[0].properties.get("url")},
    ),
    INSECURE_INDEX.id: Fold(
        message=lambda items: (
            "Package sources without TLS in this instruction: "
            + "; ".join(in_order(items, "what"))
            + "; packages can be replaced in transit."
        ),
        properties=lambda items: {"urls": union(items, "url"), "url": items[0].properties.get("url")},
    ),
}
