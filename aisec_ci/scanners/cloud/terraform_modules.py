"""The whole-tree pass of the cloud scanner: Terraform checks that tie resources of one module
together across its files (an API stage in `api.tf` and its throttling settings in
`stages.tf`, a bucket and its encryption resource). A module is a directory; its `.tf` and
`.tf.json` files are read together. Child modules (`module "x" { source = ... }`) are not
followed: what they create is unknown here, so it is never reported as missing."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable

from aisec_ci.findings import Finding
from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.cloud import apigateway_tf, bucket_encryption, endpoint_encryption, hcl, policies, terraform
from aisec_ci.scanners.cloud.tf_module import Module, TfResource
from aisec_ci.scanners.common.context import Context
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind
from aisec_ci.yamlfile.values import YMap

# A directory is read only when one of its files mentions what these checks are about.
_MARKERS = ("aws_api_gateway_", "aws_apigatewayv2_", "aws_s3_bucket", "aws_sagemaker_endpoint_configuration")


def is_terraform(file: SourceFile) -> bool:
    return file.kind is FileKind.TERRAFORM or file.path.endswith((".tf", ".tf.json"))


def _root(file: SourceFile) -> hcl.Block | None:
    try:
        if file.path.endswith(".tf.json"):
            return terraform.root_from_json(policies.load_document(file.text, is_json=True))
        return hcl.parse(file.text)
    except (SkipFile, OSError, RecursionError):
        return None  # the per-file pass reports the file as unreadable


def load(directory: str, files: Iterable[SourceFile]) -> tuple[Module, list[Context]]:
    module = Module(directory)
    contexts: list[Context] = []
    documents: dict[str, YMap] = {}
    for file in sorted(files, key=lambda f: f.path):
        root = _root(file)
        if root is None:
            continue
        ctx = Context(file)
        contexts.append(ctx)
        for block in root.blocks:
            if len(block.labels) != 2 or block.type not in ("resource", "data"):
                continue
            item = TfResource(block.labels[0], block.labels[1], block, ctx)
            (module.resources if block.type == "resource" else module.data).append(item)
            if block.type == "data" and block.labels[0] == "aws_iam_policy_document":
                documents[block.labels[1]] = terraform.policy_from_document(block)
    module.document_of = lambda value, line: terraform.document_value(value, line, documents)
    return module, contexts


def scan(files: list[SourceFile]) -> list[Finding]:
    by_dir: dict[str, list[SourceFile]] = defaultdict(list)
    for f in files:
        if is_terraform(f):
            by_dir[posixpath.dirname(f.path)].append(f)
    out: list[Finding] = []
    for directory in sorted(by_dir):
        group = by_dir[directory]
        try:
            wanted = any(marker in f.text for f in group for marker in _MARKERS)
        except OSError:
            wanted = False
        if wanted:
            module, contexts = load(directory, group)
            apigateway_tf.check(module)
            bucket_encryption.check_terraform(module)
            endpoint_encryption.check_terraform(module)
            for ctx in contexts:
                out.extend(sorted(ctx.findings, key=lambda f: (f.start_line, f.rule_id, f.key)))
        for f in group:
            f.release()  # the findings keep their snippets; the pipeline re-reads what it needs
    return out
