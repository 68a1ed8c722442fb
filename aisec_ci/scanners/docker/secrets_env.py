"""Credentials baked into the image through ENV or ARG."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.parser import Instruction, split_assignments
from aisec_ci.scanners.docker.per_instruction import Fold, in_order
from aisec_ci.scanners.docker.secretnames import is_placeholder_reference, is_secret_name
from aisec_ci.severity import Severity

SECRET_IN_ENV = Rule(
    id="docker/secret-in-env",
    name="Credential written into ENV or ARG",
    short_description="An `ENV` or `ARG` with a credential-like name has a literal value in the Dockerfile.",
    severity=Severity.HIGH,
    what="Reports `ENV` and `ARG` instructions that give a credential-like variable (`HF_TOKEN`, "
    "`WANDB_API_KEY`, `OPENAI_API_KEY`, `AWS_SECRET_ACCESS_KEY`, `*_PASSWORD`, `*_TOKEN`, `*_API_KEY`) a "
    'literal value (an empty default such as `ARG HF_TOKEN=""` is not one). The value is never shown in '
    "the report.",
    why="The value is in the repository for everyone with read access, and in every layer and the "
    "config of the image: `docker history` and `docker inspect` print it to anyone who can pull the "
    "image, including from a public registry.",
    example="ENV HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxx\nARG DB_PASSWORD=changeme",
    example_language="dockerfile",
    fix="Revoke the credential. Pass it at run time (`docker run -e HF_TOKEN`, a Kubernetes Secret), or "
    "for build steps use a BuildKit secret mount: `RUN --mount=type=secret,id=hf_token "
    "HF_TOKEN=$(cat /run/secrets/hf_token) huggingface-cli download ...`.",
    tags=("CWE-798", "CWE-538", "secrets"),
    precision="high",
    references=("https://docs.docker.com/build/building/secrets/",),
)

SECRET_BUILD_ARG = Rule(
    id="docker/secret-build-arg",
    name="Credential passed as a build argument or image environment",
    short_description="A credential-like `ARG` or `ENV` receives its value at build time and stays in the image.",
    severity=Severity.MEDIUM,
    what="Reports `ARG` instructions that declare a credential-like build argument, and `ENV` instructions "
    "that copy one into the image environment (`ENV HF_TOKEN=$HF_TOKEN`). An `ARG` without a value (or "
    "with an empty one) whose name is also the `id` or `env` of a `RUN --mount=type=secret` is the "
    "recommended pattern and is not reported.",
    why="Build arguments are recorded in the image history and the build cache, and `ENV` values are "
    "stored in the image config: anyone who can pull the image can read the token used to download "
    "the model or the private package.",
    example="ARG HF_TOKEN\nENV HF_TOKEN=${HF_TOKEN}\nRUN huggingface-cli download org/private-model",
    example_language="dockerfile",
    fix="Use a BuildKit secret mount, which is never written to a layer: "
    "`RUN --mount=type=secret,id=hf_token,env=HF_TOKEN huggingface-cli download org/private-model`, "
    "built with `docker build --secret id=hf_token,env=HF_TOKEN .`.",
    tags=("CWE-522", "CWE-538", "secrets"),
    precision="medium",
    references=("https://docs.docker.com/build/building/secrets/",),
)

RULES = (SECRET_IN_ENV, SECRET_BUILD_ARG)


def check(ctx: DockerContext) -> Iterator[Finding]:
    mounted = _secret_mount_names(ctx)
    for inst in ctx.dockerfile.instructions:
        if inst.keyword in ("ENV", "ARG"):
            yield from _check_assignments(ctx, inst, mounted)


def _secret_mount_names(ctx: DockerContext) -> frozenset[str]:
    """Upper-cased ids and env names of every `RUN --mount=type=secret` in the file."""
    names: set[str] = set()
    for script in ctx.runs:
        for mount in script.instruction.flags.get("mount", []):
            fields = dict(part.partition("=")[::2] for part in mount.split(","))
            if fields.get("type", "").strip().lower() != "secret":
                continue
            for key in ("id", "env"):
                value = fields.get(key, "").strip()
                if value:
                    names.add(value.upper())
    return frozenset(names)


def _is_empty(value: str) -> bool:
    """`""` and `''` are an empty default as much as nothing at all."""
    v = value.strip()
    return v in ("", '""', "''")


def _check_assignments(ctx: DockerContext, inst: Instruction, mounted: frozenset[str]) -> Iterator[Finding]:
    for name, value, offset in split_assignments(inst.args, legacy=inst.keyword == "ENV"):
        if not is_secret_name(name):
            continue
        empty = value is None or _is_empty(value)
        if inst.keyword == "ARG" and empty and name.upper() in mounted:
            # `ARG HF_TOKEN=""` beside `RUN --mount=type=secret,id=HF_TOKEN`: the value reaches the
            # build through the secret mount, which is never written to a layer.
            continue
        line = inst.line_of_args(offset)
        redacted = f"{inst.keyword} {name}=<redacted>" if value else f"{inst.keyword} {name}"
        if value is not None and not empty and not is_placeholder_reference(value) and "$" not in value:
            yield ctx.finding(
                SECRET_IN_ENV,
                line,
                f"`{inst.keyword} {name}` sets a literal value for a credential; it is stored in the image.",
                snippet=redacted,
                key=f"{inst.keyword}:{name}",
                properties={"variable": name, "instruction": inst.keyword},
            )
        elif inst.keyword == "ARG" or (value is not None and value.strip()):
            what = "a build argument" if inst.keyword == "ARG" else "an image environment variable"
            yield ctx.finding(
                SECRET_BUILD_ARG,
                line,
                f"Credential `{name}` is {what}; its value is kept in the image history or config.",
                snippet=redacted,
                key=f"{inst.keyword}:{name}",
                properties={"variable": name, "instruction": inst.keyword},
            )


def _variables(items: Sequence[Finding]) -> str:
    return ", ".join(f"`{name}`" for name in in_order(items, "variable"))


def _redacted(items: Sequence[Finding]) -> str:
    """`ENV A=<redacted> B=<redacted>`: the merged snippet, built from the items' own redacted snippets."""
    keyword = str(items[0].properties["instruction"])
    return " ".join([keyword, *(f.snippet.removeprefix(keyword + " ") for f in items)])


def _merged_properties(items: Sequence[Finding]) -> dict[str, Any]:
    return {
        "variables": in_order(items, "variable"),
        "variable": items[0].properties["variable"],
        "instruction": items[0].properties["instruction"],
    }


# How this module's findings read when one instruction has several of a rule (per_instruction.py).
FOLDS = {
    SECRET_IN_ENV.id: Fold(
        message=lambda items: (
            f"`{items[0].properties['instruction']}` sets literal values for the credentials "
            f"{_variables(items)}; they are stored in the image."
        ),
        properties=_merged_properties,
        snippet=_redacted,
    ),
    SECRET_BUILD_ARG.id: Fold(
        message=lambda items: (
            f"Credentials {_variables(items)} are "
            + ("build arguments" if items[0].properties["instruction"] == "ARG" else "image environment variables")
            + "; their values are kept in the image history or config."
        ),
        properties=_merged_properties,
        snippet=_redacted,
    ),
}
