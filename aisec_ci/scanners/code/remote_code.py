"""Running code that ships with a model or dataset repository on a hub."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aisec_ci.rules import Rule
from aisec_ci.scanners.code.calls import CallSite, Hit, constant
from aisec_ci.severity import Severity

TRUST_REMOTE_CODE = Rule(
    id="code/trust-remote-code",
    name="trust_remote_code=True",
    short_description="The model or dataset repository's own Python code is downloaded and run.",
    severity=Severity.HIGH,
    what="Reports `trust_remote_code=True` passed to any call (transformers `from_pretrained`, `pipeline`, "
    "`AutoModel*`, datasets `load_dataset`, sentence-transformers, vLLM, LangChain and llama-index wrappers), "
    "directly, through `**{...}` or inside a `model_kwargs`-style dict. Pinning `revision=` to a full commit "
    "hash, or loading from a local directory path, lowers it to medium.",
    why="With `trust_remote_code=True` the library imports `modeling_*.py`, `tokenization_*.py` or the dataset "
    "script from the hub repository and runs it with the process's privileges. Whoever can push to that "
    "repository (its owner, a compromised token, a typo-squatted name) runs code on every machine that loads "
    "it, and an unpinned revision picks up new code silently.",
    example='model = AutoModel.from_pretrained("org/model", trust_remote_code=True)',
    example_language="python",
    fix="Use an architecture that ships with the library. If the custom code is needed, review it and pin "
    '`revision="<40-hex commit>"`, or vendor the code into your repository and load it locally.',
    tags=("CWE-94", "CWE-829", "ai", "supply-chain"),
    precision="very-high",
    references=("https://huggingface.co/docs/transformers/custom_models#using-a-model-with-custom-code",),
)

TORCH_HUB = Rule(
    id="code/torch-hub-load",
    name="torch.hub.load runs the repository's hubconf.py",
    short_description="`torch.hub.load` imports and executes code from a GitHub repository.",
    severity=Severity.MEDIUM,
    what="Reports `torch.hub.load` from a GitHub repository (`source` not `local`); `trust_repo=True` or an "
    "unpinned ref (no `:tag`/commit after the repository name) makes it high.",
    why="`torch.hub.load('owner/repo', ...)` downloads the repository and runs its `hubconf.py` and whatever "
    "it imports. A moved tag, a compromised maintainer account or a typo in the owner name runs foreign code. "
    "`trust_repo=True` also turns off the prompt for repositories not seen before.",
    example='model = torch.hub.load("someone/yolo", "yolov5s", trust_repo=True)',
    example_language="python",
    fix="Pin the ref to a commit (`owner/repo:<sha>`), review the hubconf, or vendor the model code and load "
    "weights with `weights_only=True`.",
    tags=("CWE-94", "CWE-829", "ai", "supply-chain"),
    precision="high",
)

RULES = (TRUST_REMOTE_CODE, TORCH_HUB)

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_LOCAL_PREFIXES = ("/", "./", "../", "~/")


def check_call(site: CallSite) -> Iterator[Hit]:
    value = site.keyword("trust_remote_code")
    where = ""
    if not site.is_true(value):
        value = None
        for item in site.dict_values("trust_remote_code"):
            if site.is_true(item):
                value, where = item, " inside a keyword dict"
                break
    if value is not None:
        yield _trust_hit(site, where)
    if site.name == "torch.hub.load":
        yield from _torch_hub(site)


def _trust_hit(site: CallSite, where: str) -> Hit:
    callee = site.name or "call"
    revision = site.symbols.value_of(site.keyword("revision"))
    pinned = isinstance(revision, str) and bool(_COMMIT.match(revision))
    target = site.symbols.value_of(site.argument(0, "pretrained_model_name_or_path"))
    props: dict[str, object] = {"callee": callee, "revision_pinned": pinned}
    if isinstance(target, str) and len(target) < 200:
        props["repository"] = target
    local = isinstance(target, str) and target.startswith(_LOCAL_PREFIXES)
    props["local_path"] = local
    if local:
        return Hit(
            TRUST_REMOTE_CODE,
            f"`{callee}` runs the Python files in the local model directory (trust_remote_code=True{where}); "
            "make sure they are reviewed and were not downloaded from an unpinned hub revision",
            severity=Severity.MEDIUM,
            properties=props,
        )
    if pinned:
        return Hit(
            TRUST_REMOTE_CODE,
            f"`{callee}` runs the repository's own Python code (trust_remote_code=True{where}); the revision is "
            "pinned to a commit, so review that commit's code",
            severity=Severity.MEDIUM,
            properties=props,
        )
    return Hit(
        TRUST_REMOTE_CODE,
        f"`{callee}` downloads and runs the repository's own Python code (trust_remote_code=True{where}) from an "
        "unpinned revision; drop it or pin revision= to a reviewed commit",
        properties=props,
    )


def _torch_hub(site: CallSite) -> Iterator[Hit]:
    source = constant(site.keyword("source"), "github")
    if source == "local":
        return
    repo = site.symbols.value_of(site.argument(0, "repo_or_dir"))
    trust = site.keyword("trust_repo")
    # `owner/repo:ref`: the colon comes right after the name; looking at a bounded prefix keeps
    # a megabyte string bound to `repo` from costing a megabyte at every call.
    unpinned = isinstance(repo, str) and ":" not in repo[:512]
    reasons = []
    if site.is_true(trust):
        reasons.append("trust_repo=True skips the confirmation")
    if unpinned:
        reasons.append("the ref is not pinned")
    props: dict[str, object] = {"trust_repo": site.is_true(trust)}
    if isinstance(repo, str) and len(repo) < 200:
        props["repository"] = repo
    detail = f" ({'; '.join(reasons)})" if reasons else ""
    yield Hit(
        TORCH_HUB,
        f"`torch.hub.load` runs hubconf.py from a GitHub repository{detail}; pin a commit or vendor the code",
        severity=Severity.HIGH if reasons else None,
        properties=props,
    )
