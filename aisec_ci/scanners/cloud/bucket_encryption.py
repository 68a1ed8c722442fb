"""S3 buckets that hold models or ML artifacts without SSE-KMS: neither default encryption with
a KMS key nor a bucket policy that refuses uploads without it. CloudFormation (`BucketEncryption`,
`AWS::S3::BucketPolicy`) and Terraform (the bucket's own block, or
`aws_s3_bucket_server_side_encryption_configuration` and `aws_s3_bucket_policy` elsewhere in
the module)."""

from __future__ import annotations

import re
from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.cloud import cfn_values
from aisec_ci.scanners.cloud.policy_model import statements
from aisec_ci.scanners.cloud.tf_module import Module, TfResource, literal
from aisec_ci.scanners.common.context import Context
from aisec_ci.severity import Severity
from aisec_ci.yamlfile.values import YList, YMap

MODEL_BUCKET_KMS = Rule(
    id="s3/model-bucket-without-kms",
    profile="strict",
    name="Model or artifact bucket not encrypted with a KMS key",
    short_description="An S3 bucket for models or ML artifacts has no SSE-KMS default encryption and no "
    "policy that refuses unencrypted uploads.",
    severity=Severity.LOW,
    what="Reports S3 buckets (`AWS::S3::Bucket`, `aws_s3_bucket`) that hold models or ML artifacts (their "
    "name or logical name says model, artifact, checkpoint, weights, mlflow, sagemaker, dataset, training, "
    "inference or ml, or a SageMaker resource of the template or module refers to them) when nothing sets "
    "SSE-KMS: no default encryption configuration and no bucket policy that denies `s3:PutObject` without "
    "`s3:x-amz-server-side-encryption`, or SSE-S3 (`AES256`) only. "
    "Encryption set in another resource of the same template or Terraform module directory "
    "(`aws_s3_bucket_server_side_encryption_configuration`, a bucket policy) counts; a value from a variable "
    "counts as set. In the strict profile: which buckets hold models is read from names.",
    why="Since January 2023 S3 encrypts new objects with SSE-S3 when nothing else is set, but with a key that "
    "anyone allowed `s3:GetObject` uses without knowing it. With SSE-KMS, reading a model also needs "
    "`kms:Decrypt` on a key whose policy you control, every use of the key is in CloudTrail, and disabling "
    "the key cuts off a leaked role or a bucket made public by mistake. Model weights and training data are "
    "what an attacker wants from an ML account.",
    example="ModelArtifactsBucket:\n  Type: AWS::S3::Bucket\n  Properties:\n    BucketName: acme-model-artifacts",
    example_language="yaml",
    fix="Set default encryption with a customer managed key: `BucketEncryption: "
    "{ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: aws:kms, "
    "KMSMasterKeyID: !Ref ModelKey}, BucketKeyEnabled: true}]}` (Terraform: "
    '`aws_s3_bucket_server_side_encryption_configuration` with `sse_algorithm = "aws:kms"`), and deny '
    "uploads that ask for another algorithm.",
    tags=("CWE-311",),
    precision="medium",
    references=("https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html",),
)

RULES: tuple[Rule, ...] = (MODEL_BUCKET_KMS,)

_MODEL_WORDS = frozenset(
    {
        "model",
        "models",
        "artifact",
        "artifacts",
        "checkpoint",
        "checkpoints",
        "weights",
        "mlflow",
        "sagemaker",
        "dataset",
        "datasets",
        "training",
        "inference",
        "ml",
        "mlops",
        "llm",
        "bedrock",
    }
)
_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

KMS, SSE_S3, NONE = "kms", "sse-s3", "none"
_RANK = {NONE: 0, SSE_S3: 1, KMS: 2}


def model_words(*names: str) -> list[str]:
    """Words of bucket names that say it holds models (`ModelArtifacts` -> model, artifacts)."""
    found: list[str] = []
    for name in names:
        for word in _WORD_RE.findall(name):
            w = word.lower()
            if w in _MODEL_WORDS and w not in found:
                found.append(w)
    return found


def _algorithm_level(algorithm: Any) -> str | None:
    """None: computed at deploy time (not judged)."""
    if not isinstance(algorithm, str) or "${" in algorithm or algorithm == "<expr>":
        return None
    return KMS if algorithm.lower().startswith("aws:kms") else SSE_S3


def _policy_level(policy: Any) -> str:
    """What a bucket policy's Deny statements make uploads carry."""
    level = NONE
    for s in statements(policy):
        if s.effect != "Deny" or not s.matches_action("s3:PutObject"):
            continue
        if "s3:x-amz-server-side-encryption" not in s.condition_keys():
            continue
        values = [v.lower() for v in s.condition_values("s3:x-amz-server-side-encryption")]
        level = max(level, KMS if any(v.startswith("aws:kms") for v in values) else SSE_S3, key=_RANK.__getitem__)
    return level


def _best(*levels: str | None) -> str | None:
    if any(level is None for level in levels):
        return None
    return max((level for level in levels if level is not None), key=_RANK.__getitem__, default=NONE)


def _report(ctx: Context, line: int, label: str, why: str, level: str, key: str) -> None:
    if level == KMS:
        return
    if level == NONE:
        ctx.report(
            MODEL_BUCKET_KMS,
            line,
            f"bucket {label} holds models or artifacts ({why}) and sets no default encryption and no policy "
            "that refuses unencrypted uploads: S3 falls back to SSE-S3, not a KMS key you control",
            key=f"{key}:kms",
        )
    else:
        ctx.report(
            MODEL_BUCKET_KMS,
            line,
            f"bucket {label} holds models or artifacts ({why}) and is encrypted with SSE-S3 (AES256), not a KMS key",
            key=f"{key}:kms",
        )


# -- CloudFormation ----------------------------------------------------------------------
def _walk_refs(value: Any, depth: int = 0) -> set[str]:
    if depth > 30:
        return set()
    if isinstance(value, dict):
        if cfn_values.ref_id(value) is not None or any(str(k).startswith("Fn::") for k in value):
            return cfn_values.refs_in(value) | {cfn_values.ref_id(value) or ""}
        out: set[str] = set()
        for v in value.values():
            out |= _walk_refs(v, depth + 1)
        return out
    if isinstance(value, list):
        out = set()
        for v in value:
            out |= _walk_refs(v, depth + 1)
        return out
    return set()


def check_cloudformation(resources: YMap, ctx: Context) -> None:
    used_by_sagemaker: set[str] = set()
    policies: dict[str, list[Any]] = {}
    for res in resources.values():
        if not isinstance(res, YMap) or not isinstance(res.get("Type"), str):
            continue
        props = res.get("Properties")
        if res["Type"].startswith("AWS::SageMaker::"):
            used_by_sagemaker |= _walk_refs(props)
        elif res["Type"] == "AWS::S3::BucketPolicy" and isinstance(props, YMap):
            bucket = cfn_values.ref_id(props.get("Bucket"))
            policies.setdefault(bucket or "?", []).append(props.get("PolicyDocument"))
    for name, res in resources.items():
        if not isinstance(res, YMap) or res.get("Type") != "AWS::S3::Bucket":
            continue
        props = res.get("Properties")
        props = props if isinstance(props, YMap) else YMap()
        bucket_name = cfn_values.text_of(props.get("BucketName")) if "BucketName" in props else ""
        words = model_words(name, bucket_name)
        why = f"its name says {', '.join(words)}" if words else ""
        if name in used_by_sagemaker:
            why = why or "a SageMaker resource of this template uses it"
        if not why:
            continue
        level = _best(_cfn_default_level(props), *[_policy_level(p) for p in policies.get(name, [])])
        if "?" in policies:
            level = None  # a bucket policy for a bucket we cannot name may be this one's
        if level is not None:
            _report(ctx, resources.line_of(name), name, why, level, name)


def _cfn_default_level(props: YMap) -> str | None:
    encryption = props.get("BucketEncryption")
    if encryption is None:
        return NONE
    rules = encryption.get("ServerSideEncryptionConfiguration") if isinstance(encryption, YMap) else None
    if not isinstance(rules, YList):
        return None
    levels: list[str | None] = []
    for rule in rules:
        default = rule.get("ServerSideEncryptionByDefault") if isinstance(rule, YMap) else None
        if isinstance(default, YMap):
            levels.append(_algorithm_level(default.get("SSEAlgorithm")))
        else:
            levels.append(None)
    return _best(*levels) if levels else NONE


# -- Terraform ---------------------------------------------------------------------------
def _tf_default_level(blocks: list[Any]) -> str | None:
    """Level of `rule { apply_server_side_encryption_by_default { sse_algorithm } }` blocks."""
    levels: list[str | None] = []
    for config in blocks:
        for rule in config.blocks_of("rule"):
            for default in rule.blocks_of("apply_server_side_encryption_by_default"):
                levels.append(_algorithm_level(default.attrs.get("sse_algorithm")))
    return _best(*levels) if levels else NONE


def _tf_strings(value: Any, depth: int = 0) -> list[str]:
    if depth > 30:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _tf_strings(v, depth + 1)]
    if isinstance(value, list):
        return [s for v in value for s in _tf_strings(v, depth + 1)]
    return []


def _block_strings(block: Any) -> list[str]:
    out = _tf_strings(dict(block.attrs))
    for inner in block.blocks:
        out.extend(_block_strings(inner))
    return out


def check_terraform(module: Module) -> None:
    buckets = module.of("aws_s3_bucket")
    if not buckets:
        return
    used_by_sagemaker = {
        r.address
        for sm in module.resources
        if sm.type.startswith("aws_sagemaker_")
        for text in _block_strings(sm.block)
        for r in module.mentioned(text, "aws_s3_bucket")
    }
    separate: dict[str, list[str | None]] = {}
    unknown_target = False

    def target(r: TfResource) -> TfResource | None:
        value = r.attrs.get("bucket")
        found = module.resolve(value, "aws_s3_bucket")
        if found is not None:
            return found
        name = literal(value)
        for b in buckets:
            if name is not None and literal(b.attrs.get("bucket")) == name:
                return b
        return None

    for r in module.of("aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_policy"):
        bucket = target(r)
        if bucket is None:
            unknown_target = True  # for a bucket named by a variable: it may be any of ours
            continue
        if r.type == "aws_s3_bucket_policy":
            doc = module.document_of(r.attrs.get("policy"), r.attrs.line_of("policy"))
            level: str | None = _policy_level(doc) if doc is not None else None
        else:
            level = _tf_default_level([r.block])
        separate.setdefault(bucket.address, []).append(level)
    if unknown_target:
        return
    for b in buckets:
        name = literal(b.attrs.get("bucket")) or literal(b.attrs.get("bucket_prefix")) or ""
        words = model_words(b.name, name)
        why = f"its name says {', '.join(words)}" if words else ""
        if b.address in used_by_sagemaker:
            why = why or "a SageMaker resource of this module uses it"
        if not why:
            continue
        inline = b.block.blocks_of("server_side_encryption_configuration")
        level = _best(_tf_default_level(inline), *separate.get(b.address, []))
        if level is not None:
            _report(b.ctx, b.line, b.address, why, level, b.address)
