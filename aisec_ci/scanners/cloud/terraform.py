"""IAM and bucket policies in Terraform: `jsonencode(...)`, heredoc JSON, and
`data "aws_iam_policy_document"` blocks referenced by `.json`; HCL (`.tf`) and
Terraform's JSON syntax (`.tf.json`) alike."""

from __future__ import annotations

import re
from typing import Any

from aisec_ci.scanners.cloud import hcl, sagemaker
from aisec_ci.scanners.cloud.policies import (
    POLICY_IDENTITY,
    POLICY_RESOURCE,
    POLICY_TRUST,
    analyse_policy,
)
from aisec_ci.scanners.common.context import Context
from aisec_ci.yamlfile.values import YamlError, YList, YMap, load_documents

# resource type -> ((attribute, policy kind, bucket policy?), ...)
_RESOURCES: dict[str, tuple[tuple[str, str, bool | None], ...]] = {
    "aws_iam_policy": (("policy", POLICY_IDENTITY, None),),
    "aws_iam_role_policy": (("policy", POLICY_IDENTITY, None),),
    "aws_iam_user_policy": (("policy", POLICY_IDENTITY, None),),
    "aws_iam_group_policy": (("policy", POLICY_IDENTITY, None),),
    "aws_iam_role": (("assume_role_policy", POLICY_TRUST, None),),
    "aws_s3_bucket_policy": (("policy", POLICY_RESOURCE, True),),
    "aws_sqs_queue_policy": (("policy", POLICY_RESOURCE, False),),
    "aws_sns_topic_policy": (("policy", POLICY_RESOURCE, False),),
    "aws_kms_key": (("policy", POLICY_RESOURCE, False),),
    "aws_ecr_repository_policy": (("policy", POLICY_RESOURCE, False),),
}
_DATA_REF_RE = re.compile(r"^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.json\}$")


def _shift(value: Any, offset: int) -> Any:
    """Move the lines of a value parsed from a heredoc to the file's lines."""
    if isinstance(value, YMap):
        value.line += offset
        for k in value.key_lines:
            value.key_lines[k] += offset
        value.duplicates[:] = [(k, ln + offset) for k, ln in value.duplicates]
        for v in value.values():
            _shift(v, offset)
    elif isinstance(value, YList):
        value.line += offset
        value.item_lines[:] = [ln + offset for ln in value.item_lines]
        for v in value:
            _shift(v, offset)
    return value


def _policy_value(value: Any, line: int, documents: dict[str, YMap]) -> Any:
    """The policy as a YMap, or None when it is computed (unknown until apply)."""
    if isinstance(value, YMap):
        return value
    if isinstance(value, hcl.Heredoc) or (isinstance(value, str) and value.lstrip().startswith("{")):
        text = value.text if isinstance(value, hcl.Heredoc) else value
        first = value.line if isinstance(value, hcl.Heredoc) else line
        try:
            docs = load_documents(text, max_documents=2)
        except YamlError:
            return None
        return _shift(docs[0].value, first - 1) if docs else None
    if isinstance(value, str):
        m = _DATA_REF_RE.match(value.strip())
        if m:
            return documents.get(m.group(1))
    return None


def document_value(value: Any, line: int, documents: dict[str, YMap]) -> Any:
    """A JSON-valued attribute (jsonencode, heredoc, JSON string, data document reference) as a
    document with the file's lines; None when it is computed."""
    return _policy_value(value, line, documents)


def _list_attr(block: hcl.Block, name: str) -> Any:
    return block.attrs.get(name)


def policy_from_document(block: hcl.Block) -> YMap:
    """Convert `data "aws_iam_policy_document"` into the JSON policy shape, keeping lines."""
    policy = YMap(block.line, 1)
    policy["Version"] = block.attrs.get("version", "2012-10-17")
    policy.key_lines["Version"] = block.attrs.line_of("version") if "version" in block.attrs else block.line
    stmts = YList(block.line, 1)
    for st in block.blocks_of("statement"):
        out = YMap(st.line, 1)

        def put(key: str, value: Any, line: int, out: YMap = out) -> None:
            out[key] = value
            out.key_lines[key] = line

        put("Effect", st.attrs.get("effect", "Allow"), st.attrs.line_of("effect"))
        if "sid" in st.attrs:
            put("Sid", st.attrs["sid"], st.attrs.line_of("sid"))
        for hcl_name, json_name in (
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ):
            if hcl_name in st.attrs:
                put(json_name, st.attrs[hcl_name], st.attrs.line_of(hcl_name))
        for hcl_name, json_name in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            pblocks = st.blocks_of(hcl_name)
            if pblocks:
                principal = YMap(pblocks[0].line, 1)
                for pb in pblocks:
                    ptype = str(pb.attrs.get("type", "AWS"))
                    ids = pb.attrs.get("identifiers")
                    principal[ptype] = ids
                    principal.key_lines[ptype] = pb.line
                # `type = "*"` with `identifiers = ["*"]` is Terraform's spelling of Principal "*".
                put(json_name, principal, pblocks[0].line)
        cblocks = st.blocks_of("condition")
        if cblocks:
            cond = YMap(cblocks[0].line, 1)
            for cb in cblocks:
                test = str(cb.attrs.get("test", ""))
                variable = str(cb.attrs.get("variable", ""))
                inner = cond.get(test)
                if not isinstance(inner, YMap):
                    inner = YMap(cb.line, 1)
                    cond[test] = inner
                    cond.key_lines[test] = cb.line
                inner[variable] = cb.attrs.get("values")
                inner.key_lines[variable] = cb.attrs.line_of("variable")
            put("Condition", cond, cblocks[0].line)
        stmts.append(out)
        stmts.item_lines.append(st.line)
    policy["Statement"] = stmts
    policy.key_lines["Statement"] = block.line
    return policy


def scan(text: str, ctx: Context) -> None:
    scan_root(hcl.parse(text), ctx)


# In the JSON syntax, a nested block is an object (or a list of objects) under its type name;
# only the block types our checks read need telling apart from object-valued attributes.
_NESTED_BLOCKS = frozenset(
    {
        "statement",
        "principals",
        "not_principals",
        "condition",
        "inline_policy",
        # Read by the API Gateway, bucket encryption and endpoint checks (terraform_modules).
        "settings",
        "throttle",
        "throttle_settings",
        "quota_settings",
        "api_stages",
        "default_route_settings",
        "route_settings",
        "endpoint_configuration",
        "environment",
        "production_variants",
        "serverless_config",
        "rule",
        "apply_server_side_encryption_by_default",
        "server_side_encryption_configuration",
    }
)
_LABELS = {"resource": 2, "data": 2, "module": 1, "provider": 1, "variable": 1, "output": 1}


def _json_body(type_: str, labels: list[str], body: Any, line: int) -> list[hcl.Block]:
    """Blocks of one JSON body: a list body means the same block written several times."""
    bodies = body if isinstance(body, YList) else [body]
    out: list[hcl.Block] = []
    for item in bodies:
        if not isinstance(item, YMap):
            continue
        attrs = YMap(item.line, item.column)
        # A single body is named by its key's line, as `condition {` is in HCL; list items by their own.
        block = hcl.Block(type_, labels, item.line if isinstance(body, YList) else line, attrs)
        for key, value in item.items():
            if key in _NESTED_BLOCKS and isinstance(value, (YMap, YList)):
                block.blocks.extend(_json_body(key, [], value, item.line_of(key)))
            else:
                attrs[key] = _json_value(value)
                attrs.key_lines[key] = item.line_of(key)
        out.append(block)
    return out


def _json_value(value: Any) -> Any:
    """`"${...}"` strings are expressions; a bare reference keeps the HCL reader's spelling."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        inner = value[2:-1].strip()
        if inner.startswith("jsonencode(") or "(" in inner:
            return hcl.OPAQUE
        return "${" + inner + "}"
    return value


def root_from_json(doc: Any) -> hcl.Block:
    """The root block of a `.tf.json` document, shaped like the HCL reader's."""
    root = hcl.Block("", [], 1, YMap())
    if not isinstance(doc, YMap):
        return root
    for top, content in doc.items():
        depth = _LABELS.get(top, 0)
        if depth == 0:
            root.blocks.extend(_json_body(top, [], content, doc.line_of(top)))
            continue

        def walk(value: Any, labels: list[str], line: int, top: str = top, depth: int = depth) -> None:
            if len(labels) == depth:
                root.blocks.extend(_json_body(top, labels, value, line))
                return
            for item in value if isinstance(value, YList) else [value]:
                if isinstance(item, YMap):
                    for label, inner in item.items():
                        walk(inner, [*labels, label], item.line_of(label))

        walk(content, [], doc.line_of(top))
    return root


def scan_root(root: hcl.Block, ctx: Context) -> None:
    documents: dict[str, YMap] = {}
    for b in root.blocks_of("data"):
        if len(b.labels) == 2 and b.labels[0] == "aws_iam_policy_document":
            documents[b.labels[1]] = policy_from_document(b)
    referenced: set[str] = set()
    for b in root.blocks_of("resource"):
        if len(b.labels) != 2:
            continue
        rtype, rname = b.labels
        specs = list(_RESOURCES.get(rtype, ()))
        for attr, kind, bucket in specs:
            if attr not in b.attrs:
                continue
            raw = b.attrs[attr]
            if isinstance(raw, str):
                m = _DATA_REF_RE.match(raw.strip())
                if m:
                    referenced.add(m.group(1))
            policy = _policy_value(raw, b.attrs.line_of(attr), documents)
            if policy is not None:
                analyse_policy(
                    policy,
                    ctx,
                    where=f"{rtype}.{rname}",
                    key=f"{rtype}.{rname}.{attr}",
                    line=b.attrs.line_of(attr),
                    kind=kind,
                    bucket=bucket,
                )
        if rtype == "aws_iam_role":
            for inline in b.blocks_of("inline_policy"):
                if "policy" in inline.attrs:
                    policy = _policy_value(inline.attrs["policy"], inline.attrs.line_of("policy"), documents)
                    if policy is not None:
                        name = str(inline.attrs.get("name", inline.line))
                        analyse_policy(
                            policy,
                            ctx,
                            where=f"{rtype}.{rname} inline policy {name}",
                            key=f"{rtype}.{rname}.inline.{name}",
                            line=inline.line,
                            kind=POLICY_IDENTITY,
                        )
    # Documents not wired to a resource in this file are still policies someone will attach.
    for name, doc in sorted(documents.items()):
        if name not in referenced:
            analyse_policy(
                doc,
                ctx,
                where=f"data.aws_iam_policy_document.{name}",
                key=f"data.aws_iam_policy_document.{name}",
                line=doc.line,
            )
    sagemaker.check_terraform(root, ctx, lambda value, line: _policy_value(value, line, documents))
