"""Code and files fetched from the network at build time without integrity checks."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext, RunCommand, RunScript
from aisec_ci.scanners.docker.parser import Instruction, split_words, unquote
from aisec_ci.scanners.docker.per_instruction import Fold, in_order, line_list, listed
from aisec_ci.scanners.docker.redaction import redact_url
from aisec_ci.scanners.docker.shell import SHELLS, Command
from aisec_ci.severity import Severity

CURL_PIPE_SHELL = Rule(
    id="docker/curl-pipe-shell",
    name="Remote script piped into a shell",
    short_description="A RUN, CMD, ENTRYPOINT or HEALTHCHECK downloads a script and executes it directly "
    "(`curl ... | sh`).",
    severity=Severity.HIGH,
    what="Reports RUN commands that pipe `curl` or `wget -O-` output into a shell or interpreter "
    '(`sh`, `bash`, `python -`), or run a downloaded script through `sh -c "$(curl ...)"`, '
    '`bash <(curl ...)` or `eval "$(curl ...)"`. Heredoc RUN bodies, nested `sh -c` scripts and what '
    "`CMD`, `ENTRYPOINT` and `HEALTHCHECK` run (shell and exec form) are checked too.",
    why="Whatever the server returns runs in your image (as root during the build, or at every container "
    "start), with no review and no integrity check: a compromised download host, CDN or DNS entry (or "
    "plain HTTP on the way) turns into code execution in the image that serves your model. Installers "
    "for CUDA tools, conda and language runtimes are a common target.",
    example="RUN curl -fsSL https://example.com/install.sh | bash",
    example_language="dockerfile",
    fix="Download the script to a file, verify it against a pinned checksum or signature, then run it:\n\n"
    "```dockerfile\nADD --checksum=sha256:<digest> https://example.com/install-1.2.3.sh /tmp/install.sh\n"
    "RUN sh /tmp/install.sh\n```\n\nBetter still, install a pinned package from a signed repository.",
    tags=("CWE-494", "CWE-829", "supply-chain"),
    precision="high",
)

ADD_REMOTE = Rule(
    id="docker/add-remote-without-checksum",
    name="ADD of a URL without --checksum",
    short_description="`ADD https://...` fetches a file (often model weights) with no integrity check.",
    severity=Severity.MEDIUM,
    what="Reports `ADD` instructions with an `http://` or `https://` source and no `--checksum=sha256:...` flag.",
    why="The file is taken as the server returns it on every build. For model weights this means a "
    "replaced or tampered checkpoint (a pickle that runs code on load) is shipped without anyone "
    "noticing; for binaries and scripts it is a direct supply-chain path into the image.",
    example="ADD https://huggingface.co/org/model/resolve/main/pytorch_model.bin /models/",
    example_language="dockerfile",
    fix="Pin the content: `ADD --checksum=sha256:<digest> https://.../pytorch_model.bin /models/` "
    "(Dockerfile syntax 1.6+), and reference an immutable revision (a commit hash rather than `main`).",
    tags=("CWE-494", "CWE-353", "supply-chain"),
    precision="very-high",
    references=("https://docs.docker.com/reference/dockerfile/#add---checksum",),
)

ADD_INSTEAD_OF_COPY = Rule(
    id="docker/add-instead-of-copy",
    profile="strict",
    name="ADD used for local files",
    short_description="`ADD` copies local files that are not archives; `COPY` does that without side effects.",
    severity=Severity.LOW,
    what="Reports `ADD` instructions whose sources are local files or directories that are not tar archives.",
    why="`ADD` also fetches URLs and unpacks archives. Using it for plain copies hides those side effects: "
    "a source later replaced by a URL or an archive silently changes what the step does, and reviewers "
    "cannot tell a copy from a download.",
    example="ADD requirements.txt /app/",
    example_language="dockerfile",
    fix="Use `COPY requirements.txt /app/`; keep `ADD` for local tar archives you want unpacked.",
    tags=("CWE-829",),
    precision="very-high",
)

PLAIN_HTTP_DOWNLOAD = Rule(
    id="docker/plain-http-download",
    name="Download over plain HTTP",
    short_description="`curl`, `wget` or `ADD` fetches an `http://` URL.",
    severity=Severity.MEDIUM,
    what="Reports `curl`/`wget` commands in RUN steps and `ADD` sources that fetch `http://` URLs "
    "(localhost excepted).",
    why="Anything fetched over plain HTTP can be read and replaced on the way: a binary, script or model "
    "file downloaded this way is whatever a network attacker (or a misbehaving proxy) wants it to be, and "
    "it is then executed or loaded in your image.",
    example="RUN curl -L http://example.com/jq-linux64 -o /usr/bin/jq && chmod +x /usr/bin/jq",
    example_language="dockerfile",
    fix="Use the `https://` URL, and verify a pinned checksum (`sha256sum -c`, `ADD --checksum=`).",
    tags=("CWE-319", "CWE-494"),
    precision="high",
)

RULES = (CURL_PIPE_SHELL, ADD_REMOTE, ADD_INSTEAD_OF_COPY, PLAIN_HTTP_DOWNLOAD)

_INTERPRETER_PREFIXES = ("python", "perl", "ruby", "node", "php")
_SUBST_FETCH = re.compile(r"(?:\$\(|`|<\()\s*(?:\S*/)?(?:curl|wget)\b")
_URL = re.compile(r"https?://[^\s'\"|;&)]+")
_ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst")
_MODEL_SUFFIXES = (".bin", ".safetensors", ".pt", ".pth", ".ckpt", ".onnx", ".gguf", ".h5", ".pkl", ".pb", ".keras")


# When a start-up command runs, for the message.
_WHEN = {
    "CMD": " when the container starts",
    "ENTRYPOINT": " when the container starts",
    "HEALTHCHECK": " on every health check",
}


def check(ctx: DockerContext) -> Iterator[Finding]:
    for script in ctx.start_scripts:
        yield from _piped_scripts(ctx, script)
    for script in ctx.runs:
        yield from _piped_scripts(ctx, script)
        for rc in script.commands:
            if rc.cmd.name not in ("curl", "wget") or rc.depth > 0:
                continue
            for word in rc.cmd.args:
                if _is_plain_http(word):
                    yield ctx.finding(
                        PLAIN_HTTP_DOWNLOAD,
                        rc.line,
                        f"`{rc.cmd.name}` downloads `{redact_url(word)}` over plain HTTP; "
                        "it can be replaced in transit.",
                        key=f"http:{redact_url(word)}",
                        properties={"url": redact_url(word), "tool": rc.cmd.name},
                    )
    for inst in ctx.dockerfile.instructions:
        target = inst.inner if inst.keyword == "ONBUILD" else inst
        if target is not None and target.keyword == "ADD":
            yield from _check_add(ctx, target)


def _piped_scripts(ctx: DockerContext, script: RunScript) -> Iterator[Finding]:
    keyword = script.instruction.keyword
    # RUN keys stay as they were first published, so existing baselines keep matching.
    prefix = "pipe" if keyword == "RUN" else f"{keyword.lower()}-pipe"
    seen: set[int] = set()
    for rc in script.commands:
        url = _piped_fetch(rc) or _substituted_fetch(rc.cmd)
        if url is None or rc.line in seen:
            continue
        seen.add(rc.line)
        url = redact_url(url)
        shown = url or "a remote script"
        yield ctx.finding(
            CURL_PIPE_SHELL,
            rc.line,
            f"A script downloaded from {shown} is executed directly by `{rc.cmd.name}`{_WHEN.get(keyword, '')} "
            "without verification.",
            key=f"{prefix}:{url}:{rc.cmd.name}",
            properties={"url": url, "interpreter": rc.cmd.name}
            | ({} if keyword == "RUN" else {"instruction": keyword}),
        )


def _is_plain_http(word: str) -> bool:
    low = word.strip().lower()
    if not low.startswith("http://"):
        return False
    host = low[len("http://") :].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    return host not in ("localhost", "127.0.0.1", "[::1]") and "$" not in host


def _runs_stdin(cmd: Command) -> bool:
    """Whether `cmd` is a shell or interpreter executing what it reads on stdin."""
    name = cmd.name
    args = cmd.args
    if name in SHELLS:
        return not any(a == "-c" or (a.startswith("-") and not a.startswith("--") and "c" in a[1:]) for a in args)
    if name.startswith(_INTERPRETER_PREFIXES):
        if any(a in ("-c", "-e", "-m") or a.startswith("-e") for a in args):
            return False
        positional = [a for a in args if not a.startswith("-") or a == "-"]
        return not positional or positional[0] == "-"
    return False


def _fetches_to_stdout(cmd: Command) -> bool:
    if cmd.name == "curl":
        return not any(a in ("-o", "-O", "--output", "--remote-name") or a.startswith("--output=") for a in cmd.args)
    if cmd.name == "wget":
        args = cmd.args
        for k, a in enumerate(args):
            if a in ("-O-", "--output-document=-", "-qO-", "-O/dev/stdout"):
                return True
            short_o = a.startswith("-") and not a.startswith("--") and a.endswith("O")
            if short_o and k + 1 < len(args) and args[k + 1] in ("-", "/dev/stdout"):
                return True
            if a == "--output-document" and k + 1 < len(args) and args[k + 1] == "-":
                return True
            if a.startswith("-") and not a.startswith("--") and a.endswith("O-"):
                return True
    return False


def _piped_fetch(rc: RunCommand) -> str | None:
    if rc.position == 0 or not _runs_stdin(rc.cmd):
        return None
    for up in rc.upstream:
        if _fetches_to_stdout(up):
            return _first_url(up.args) or ""
    return None


def _substituted_fetch(cmd: Command) -> str | None:
    if cmd.name not in SHELLS and cmd.name not in ("eval", "source", ".") and not cmd.name.startswith("python"):
        return None
    for w in cmd.words:
        if _SUBST_FETCH.search(w):
            m = _URL.search(w)
            return m.group(0) if m else ""
    return None


def _first_url(words: list[str]) -> str | None:
    for w in words:
        m = _URL.search(w)
        if m:
            return m.group(0)
    return None


def add_sources(inst: Instruction) -> list[tuple[str, int]]:
    """Source operands of COPY/ADD with their offsets in `args` (the last operand is the destination)."""
    if inst.json_args is not None:
        return [(s, 0) for s in inst.json_args[:-1]]
    words = [(w, off) for w, off in split_words(inst.args) if not w.startswith("<<")]
    return [(unquote(w), off) for w, off in words[:-1]]


def _check_add(ctx: DockerContext, inst: Instruction) -> Iterator[Finding]:
    if inst.heredocs:
        return
    sources = add_sources(inst)
    remote = [(s, off) for s, off in sources if s.lower().startswith(("http://", "https://"))]
    has_checksum = inst.flag("checksum") is not None
    for src, off in remote:
        if src.lower().endswith(".git") or "/.git#" in src or ".git#" in src:
            # A git source is pinned by ref, not by --checksum.
            continue
        if _is_plain_http(src):
            yield ctx.finding(
                PLAIN_HTTP_DOWNLOAD,
                inst.line_of_args(off),
                f"`ADD` downloads `{redact_url(src)}` over plain HTTP; it can be replaced in transit.",
                key=f"http:{redact_url(src)}",
                properties={"url": redact_url(src), "tool": "ADD"},
            )
        if has_checksum:
            continue
        path = src.split("?", 1)[0].lower()
        weights = path.endswith(_MODEL_SUFFIXES)
        what = "model weights" if weights else "a remote file"
        yield ctx.finding(
            ADD_REMOTE,
            inst.line_of_args(off),
            f"`ADD` downloads {what} from `{redact_url(src)}` without `--checksum`; the content is not verified.",
            key=f"add-remote:{redact_url(src)}",
            properties={"url": redact_url(src), "model_weights": weights},
        )
    local = [s for s, _ in sources if not s.lower().startswith(("http://", "https://", "git@"))]
    if local and not remote and not any(s.lower().endswith(_ARCHIVE_SUFFIXES) for s in local):
        yield ctx.finding(
            ADD_INSTEAD_OF_COPY,
            inst.start_line,
            f"`ADD {' '.join(local)}` copies local files; use `COPY`.",
            key=f"add-local:{' '.join(local)}",
            properties={"sources": local},
        )


def _quoted(values: Sequence[Any]) -> str:
    return listed([f"`{v}`" for v in values], 6)


def _piped_message(items: Sequence[Finding]) -> str:
    urls = [u or "a remote script" for u in in_order(items, "url")]
    keyword = str(items[0].properties.get("instruction", "RUN"))
    return (
        f"Scripts downloaded from {listed(urls, 6)} are executed directly by "
        f"{_quoted(in_order(items, 'interpreter'))}{_WHEN.get(keyword, '')} without verification."
    )


def _piped_properties(items: Sequence[Finding]) -> dict[str, Any]:
    first = items[0].properties
    return {
        "urls": in_order(items, "url"),
        "interpreters": in_order(items, "interpreter"),
        "url": first["url"],
        "interpreter": first["interpreter"],
        "lines": line_list(items),
    } | ({"instruction": first["instruction"]} if "instruction" in first else {})


def _add_remote_message(items: Sequence[Finding]) -> str:
    weights = all(f.properties.get("model_weights") for f in items)
    what = "model weights" if weights else "remote files"
    urls = _quoted(in_order(items, "url"))
    return f"`ADD` downloads {what} from {urls} without `--checksum`; the content is not verified."


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    CURL_PIPE_SHELL.id: Fold(message=_piped_message, properties=_piped_properties),
    PLAIN_HTTP_DOWNLOAD.id: Fold(
        message=lambda items: (
            f"Downloads over plain HTTP by {_quoted(in_order(items, 'tool'))}: {_quoted(in_order(items, 'url'))}; "
            "they can be replaced in transit."
        ),
        properties=lambda items: {"urls": in_order(items, "url"), "url": items[0].properties["url"]},
    ),
    ADD_REMOTE.id: Fold(
        message=_add_remote_message,
        properties=lambda items: {
            "urls": in_order(items, "url"),
            "url": items[0].properties["url"],
            "model_weights": any(f.properties.get("model_weights") for f in items),
        },
    ),
}
