"""The `docker` scanner: Dockerfiles (`docker/...` rules) and Compose files (`compose/...` rules)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import ScanContext, Scanner, SkipFile
from aisec_ci.scanners.docker import (
    apt,
    base_image,
    build_tools,
    compose_exposure,
    compose_extends,
    compose_runtime,
    compose_secrets,
    context_copy,
    metadata,
    packages,
    passwords,
    pip,
    remote_code,
    secrets_env,
    signatures,
    ssh,
    sudo,
    syntax,
    tls,
    user,
    workdir,
)
from aisec_ci.scanners.docker.analysis import DockerContext
from aisec_ci.scanners.docker.compose_model import ComposeContext, load_compose
from aisec_ci.scanners.docker.parser import parse
from aisec_ci.scanners.docker.per_instruction import Fold, one_per_instruction
from aisec_ci.workspace.classify import kind_by_name
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind

_DOCKERFILE_CHECKS: tuple[Callable[[DockerContext], Iterable[Finding]], ...] = (
    syntax.check,
    user.check,
    base_image.check,
    secrets_env.check,
    remote_code.check,
    tls.check,
    signatures.check,
    apt.check,
    pip.check,
    packages.check,
    sudo.check,
    workdir.check,
    build_tools.check,
    ssh.check,
    passwords.check,
    metadata.check,
)
# How each rule lists several of its problems in one instruction (issue #12: one finding per problem).
_FOLDS: dict[str, Fold] = {
    rule_id: fold
    for module in (apt, packages, passwords, pip, remote_code, secrets_env, signatures, ssh, sudo, syntax, tls)
    for rule_id, fold in module.FOLDS.items()
}
_COMPOSE_CHECKS: tuple[Callable[[ComposeContext], Iterable[Finding]], ...] = (
    compose_runtime.check,
    compose_secrets.check,
    compose_exposure.check,
)

MAX_RUN_INSTRUCTIONS = 10_000

_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "allowed_registries": {
            **_STRINGS,
            "description": "Registries (`nvcr.io`) or registry paths (`ghcr.io/acme`) FROM may pull from; "
            "`docker.io` covers Docker Hub. Empty: any registry (docker/disallowed-registry stays silent).",
        },
        "root_allowlist": {
            "type": "array",
            "description": "Base images whose final stage may run as root (docker/root-user), each with a reason.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["image", "reason"],
                "properties": {
                    "image": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Image glob, with or without tag: `nvcr.io/nvidia/k8s-device-plugin*`.",
                    },
                    "reason": {"type": "string", "minLength": 1, "description": "Why it must run as root."},
                },
            },
        },
        "digest_exempt_images": {
            **_STRINGS,
            "description": "Image globs not required to carry an @sha256 digest (docker/base-image-not-digest-pinned).",
        },
        "allowed_extra_index_urls": {
            **_STRINGS,
            "description": "Reviewed `--extra-index-url` URLs (or URL prefixes) that docker/pip-extra-index-url "
            "does not report, e.g. https://download.pytorch.org/whl.",
        },
        "check_build_context": {
            "type": "boolean",
            "description": "Read the .dockerignore and list the files beside each Dockerfile "
            "(docker/broad-copy-context). Default true.",
        },
    },
}


def _all_rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for module in (
        syntax,
        user,
        base_image,
        secrets_env,
        remote_code,
        tls,
        signatures,
        apt,
        pip,
        packages,
        sudo,
        workdir,
        build_tools,
        ssh,
        passwords,
        context_copy,
        metadata,
        compose_runtime,
        compose_secrets,
        compose_exposure,
    ):
        rules.extend(module.RULES)
    return tuple(sorted(rules, key=lambda r: r.id))


class DockerScanner(Scanner):
    """Dockerfiles and Compose files: how the images that serve models are built and run."""

    name: ClassVar[str] = "docker"
    description: ClassVar[str] = (
        "Dockerfiles and docker-compose files: root users, unpinned and heavy bases, curl|sh, secrets in "
        "ENV/ARG, disabled TLS and signatures, package indexes, build context leaks, privileged or exposed services."
    )
    rules: ClassVar[tuple[Rule, ...]] = _all_rules()
    # .dockerignore files are read through the Dockerfile beside them (docker/broad-copy-context);
    # claiming the kind records them as covered rather than as unhandled.
    kinds: ClassVar[frozenset[FileKind]] = frozenset({FileKind.DOCKERFILE, FileKind.COMPOSE, FileKind.DOCKERIGNORE})
    options_schema: ClassVar[dict[str, Any]] = OPTIONS_SCHEMA

    def __init__(self, context: ScanContext) -> None:
        super().__init__(context)
        # Read-only caches: several Dockerfiles often share one directory (Dockerfile, Dockerfile.gpu ...).
        self._contexts: dict[Path, context_copy.BuildContext] = {}
        self._sensitive: dict[Path, tuple[str, ...]] = {}

    def scan_file(self, file: SourceFile) -> Iterable[Finding]:
        if file.kind is FileKind.DOCKERIGNORE:
            return []
        if file.kind is FileKind.COMPOSE:
            return list(self._scan_compose(file))
        return list(self._scan_dockerfile(file))

    def _scan_dockerfile(self, file: SourceFile) -> Iterator[Finding]:
        dockerfile = parse(file.text)
        if not dockerfile.instructions:
            raise SkipFile("Dockerfile has no instructions (only comments or blank lines)")
        runs = sum(1 for inst in dockerfile.instructions if inst.keyword == "RUN")
        if runs > MAX_RUN_INSTRUCTIONS:
            # Each RUN is parsed as shell and checked by a dozen rules; tens of thousands of them are
            # generated, not a build (an image holds at most 127 layers), and would take minutes.
            raise SkipFile(
                f"Dockerfile has {runs:,} RUN instructions, more than the {MAX_RUN_INSTRUCTIONS:,} analysed "
                "(an image cannot have more than 127 layers; generated?)"
            )
        ctx = DockerContext(file, dockerfile, self.context.options)
        yield from one_per_instruction(ctx, self._dockerfile_findings(file, ctx), _FOLDS)

    def _dockerfile_findings(self, file: SourceFile, ctx: DockerContext) -> Iterator[Finding]:
        for check in _DOCKERFILE_CHECKS:
            yield from check(ctx)
        if self.context.options.get("check_build_context", True):
            yield from context_copy.check(ctx, self._build_context(file, ctx))

    def _build_context(self, file: SourceFile, ctx: DockerContext) -> context_copy.BuildContext | None:
        if not any(context_copy.copies_whole_context(i) for i in ctx.dockerfile.instructions):
            return None
        cached = self._contexts.get(file.abspath)
        if cached is None:
            root = self.context.root if str(self.context.root) not in ("", ".") else None
            context_dir, ignore_path = context_copy.locate(file.abspath, root)
            sensitive = self._sensitive.get(context_dir)
            if sensitive is None:
                sensitive = self._sensitive[context_dir] = context_copy.find_sensitive(context_dir)
            cached = context_copy.read_context(context_dir, ignore_path, sensitive)
            self._contexts[file.abspath] = cached
        return cached

    def _scan_compose(self, file: SourceFile) -> Iterator[Finding]:
        ctx = load_compose(file, self.context.options)
        for check in _COMPOSE_CHECKS:
            yield from check(ctx)
        root = self.context.root if str(self.context.root) not in ("", ".") else None
        yield from compose_extends.inherited(ctx, root, _COMPOSE_CHECKS, kind_by_name)
