"""The `cloud` scanner: IAM/S3 policies (JSON, CloudFormation, Terraform) and ML
service exposure (nginx, htpasswd, and MLflow/Jupyter/Ray/TensorBoard command
lines in Dockerfiles, compose files and shell scripts)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import Scanner, SkipFile
from aisec_ci.scanners.cloud import (
    apigateway,
    apigateway_openapi,
    bucket_encryption,
    endpoint_encryption,
    iam_rules,
    model_invoke,
    nginx,
    policies,
    resource_policies,
    sagemaker,
    terraform,
    terraform_modules,
)
from aisec_ci.scanners.common import servecommands
from aisec_ci.scanners.common.context import Context, redact
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind
from aisec_ci.yamlfile.values import YamlError, YMap, load_documents

_SCRIPT_SUFFIXES = (".sh", ".bash")
_SCRIPT_NAMES = frozenset({"procfile", "entrypoint", "start", "run"})
_HTPASSWD_NAMES = frozenset({".htpasswd", "htpasswd", "passwd.nginx"})
_POLICY_KINDS = frozenset({FileKind.IAM_POLICY, FileKind.CLOUDFORMATION, FileKind.JSON, FileKind.YAML})
_COMMAND_KINDS = frozenset({FileKind.DOCKERFILE, FileKind.COMPOSE})


def _basename(path: str) -> str:
    return posixpath.basename(path).lower()


def is_htpasswd(path: str) -> bool:
    name = _basename(path)
    return name in _HTPASSWD_NAMES or name.endswith(".htpasswd")


def is_script(path: str) -> bool:
    name = _basename(path)
    return name.endswith(_SCRIPT_SUFFIXES) or name in _SCRIPT_NAMES


class CloudScanner(Scanner):
    name: ClassVar[str] = "cloud"
    description: ClassVar[str] = (
        "AWS IAM and S3 policies (policy JSON, CloudFormation, Terraform) and exposed ML services "
        "(MLflow, Jupyter, Ray, TensorBoard, nginx in front of them)"
    )
    rules: ClassVar[tuple[Rule, ...]] = (
        *iam_rules.RULES,
        *model_invoke.RULES,
        *resource_policies.RULES,
        *sagemaker.RULES,
        *apigateway.RULES,
        *bucket_encryption.RULES,
        *endpoint_encryption.RULES,
        *servecommands.RULES,
        *nginx.RULES,
    )
    kinds: ClassVar[frozenset[FileKind]] = frozenset(
        {
            FileKind.IAM_POLICY,
            FileKind.CLOUDFORMATION,
            FileKind.TERRAFORM,
            FileKind.NGINX,
            FileKind.DOCKERFILE,
            FileKind.COMPOSE,
        }
    )
    options_schema: ClassVar[Mapping[str, Any]] = {"type": "object", "additionalProperties": False, "properties": {}}

    def wants(self, file: SourceFile) -> bool:
        if file.kind in self.kinds:
            return True
        if file.kind in (FileKind.JSON, FileKind.YAML):
            return True  # policy or template under an unusual name; scan_file checks the content cheaply
        return file.kind is FileKind.TEXT and (is_htpasswd(file.path) or is_script(file.path))

    def scan_file(self, file: SourceFile) -> Iterable[Finding]:
        ctx = Context(file)
        kind = file.kind
        path = file.path
        if path.endswith(".tf.json"):
            terraform.scan_root(terraform.root_from_json(policies.load_document(file.text, is_json=True)), ctx)
        elif kind is FileKind.TERRAFORM or path.endswith(".tf"):
            terraform.scan(file.text, ctx)
        elif kind is FileKind.NGINX or (path.endswith(".conf") and kind is FileKind.TEXT):
            nginx.check(file.text, ctx)
        elif is_htpasswd(path):
            nginx.check_htpasswd(file.lines, ctx)
        elif kind in _COMMAND_KINDS or is_script(path):
            self._commands(file, ctx)
        elif kind in _POLICY_KINDS:
            self._structured(file, ctx)
        return sorted(ctx.findings, key=lambda f: (f.start_line, f.rule_id, f.key))

    def _structured(self, file: SourceFile, ctx: Context) -> None:
        text = file.text
        # Cheap content test first: most JSON/YAML files are neither policies nor templates.
        if (
            file.kind in (FileKind.JSON, FileKind.YAML)
            and "Statement" not in text
            and "AWS::" not in text
            and apigateway_openapi.INTEGRATION not in text
        ):
            return
        is_json = file.path.lower().endswith(".json") or text.lstrip().startswith(("{", "["))
        try:
            value = policies.load_document(text, is_json=is_json)
        except SkipFile:
            if file.kind in (FileKind.JSON, FileKind.YAML):
                return  # only a guess that it might be a policy: another scanner owns this file
            raise
        if policies.is_cloudformation(value):
            policies.scan_cloudformation(value, ctx)
        elif apigateway_openapi.is_definition(value):
            apigateway_openapi.check_file(value, ctx)
        elif not policies.scan_policy_file(value, ctx) and file.kind is FileKind.IAM_POLICY:
            # The classifier said policy, but there is no Statement: that is itself malformed.
            policies.analyse_policy(value, ctx, where="policy", key="policy", line=1)

    def scan_repository(self, files: list[SourceFile]) -> Iterable[Finding]:
        # Terraform resources of one module are spread over its files: tie them together here.
        return terraform_modules.scan(files)

    def _compose(self, file: SourceFile, ctx: Context) -> bool:
        """Compose services: `command`/`entrypoint` in string or list form. False if unreadable."""
        try:
            docs = load_documents(file.text, max_documents=5)
        except YamlError:
            return False
        for doc in docs:
            services = doc.value.get("services") if isinstance(doc.value, YMap) else None
            if not isinstance(services, YMap):
                continue
            proxied = any(
                isinstance(s, YMap) and servecommands.is_auth_proxy(str(s.get("image", ""))) for s in services.values()
            )
            for name, svc in services.items():
                if not isinstance(svc, YMap):
                    continue
                if proxied and not svc.get("ports"):
                    continue  # reachable only through the authenticating proxy of the project
                parts: list[str] = []
                for field in ("entrypoint", "command"):
                    value = svc.get(field)
                    if isinstance(value, list):
                        parts.extend(str(v) for v in value)
                    elif isinstance(value, (str, int, float)):
                        parts.append(str(value))
                if not parts:
                    continue
                env = svc.get("environment")
                env_text = (
                    " ".join(f"{k}={v}" for k, v in env.items())
                    if isinstance(env, dict)
                    else " ".join(str(e) for e in env)
                    if isinstance(env, list)
                    else ""
                )
                line = svc.line_of("command") if "command" in svc else svc.line_of("entrypoint")
                for exp in servecommands.analyse(" ".join(parts), ray_auth=servecommands.mentions_ray_auth(env_text)):
                    ctx.report(
                        exp.rule,
                        line,
                        f"service {name}: {exp.message}",
                        key=f"{exp.slug}:service:{name}",
                        severity=exp.severity,
                    )
        return True

    def _commands(self, file: SourceFile, ctx: Context) -> None:
        if file.kind is FileKind.COMPOSE and self._compose(file, ctx):
            return
        text = file.text
        ray_auth = servecommands.mentions_ray_auth(text)
        for line, command in servecommands.server_commands(text, file.lines):
            for exp in servecommands.analyse(command, ray_auth=ray_auth):
                ctx.report(
                    exp.rule,
                    line,
                    exp.message,
                    # The command may carry a store password: the key is reported too.
                    key=f"{exp.slug}:{redact(' '.join(command.split()))[:120]}",
                    severity=exp.severity,
                )
