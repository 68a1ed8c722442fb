"""SageMaker endpoint configurations without a KMS key for the ML storage volume
(`AWS::SageMaker::EndpointConfig` `KmsKeyId`, `aws_sagemaker_endpoint_configuration`
`kms_key_arn`)."""

from __future__ import annotations

import re
from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.cloud.tf_module import Module, literal
from aisec_ci.scanners.common.context import Context
from aisec_ci.severity import Severity
from aisec_ci.yamlfile.values import YList, YMap

ENDPOINT_KMS = Rule(
    id="sagemaker/endpoint-config-without-kms",
    profile="strict",
    name="SageMaker endpoint config without a KMS key",
    short_description="An endpoint configuration sets no `KmsKeyId` / `kms_key_arn` for the volumes of its instances.",
    severity=Severity.LOW,
    what="Reports `AWS::SageMaker::EndpointConfig` without `KmsKeyId` and Terraform "
    "`aws_sagemaker_endpoint_configuration` without `kms_key_arn`, unless every production variant is "
    "serverless or runs on an instance type with local NVMe storage (m5d, c5d, r5d, g4dn, g5, g6, p3dn, p4d, "
    "p5, trn1 ...), for which SageMaker refuses a key because the local disks are encrypted in hardware. "
    "An instance type from a parameter or variable is assumed to have an EBS volume.",
    why="The storage volume holds the model artifacts SageMaker downloads and the endpoint's scratch data. "
    "Without a customer managed key it is encrypted with a key the account does not control: there is no "
    "key policy to limit who can use snapshots or volumes, no CloudTrail record of key use, and no way to "
    "revoke access to the data by disabling the key.",
    example="EndpointConfig:\n  Type: AWS::SageMaker::EndpointConfig\n  Properties:\n    ProductionVariants:\n"
    "      - ModelName: !GetAtt Model.ModelName\n        VariantName: AllTraffic\n"
    "        InstanceType: ml.m5.xlarge\n        InitialInstanceCount: 1",
    example_language="yaml",
    fix="Set `KmsKeyId: !Ref EndpointKey` (Terraform: `kms_key_arn = aws_kms_key.endpoint.arn`) with a "
    "customer managed key whose policy allows the SageMaker execution role.",
    tags=("CWE-311",),
    precision="high",
    references=("https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html",),
)

RULES: tuple[Rule, ...] = (ENDPOINT_KMS,)

# Families whose instance storage is local NVMe (a `d` in the family: m5d, g4dn, p4de, c6id ...),
# and the accelerated families that carry it without saying so.
_LOCAL_STORAGE_RE = re.compile(r"^ml\.(?:[a-z]+\d+[a-z]*d[a-z]*|g5|g6|g6e|gr6|p5|p5e|p5en|trn1|trn1n|trn2)\.", re.I)


def _needs_key(instance_type: Any, serverless: bool) -> bool:
    if serverless:
        return False
    name = instance_type if isinstance(instance_type, str) and "${" not in instance_type else None
    return name is None or not _LOCAL_STORAGE_RE.match(name)


def check_cloudformation(resources: YMap, ctx: Context) -> None:
    for name, res in resources.items():
        if not isinstance(res, YMap) or res.get("Type") != "AWS::SageMaker::EndpointConfig":
            continue
        props = res.get("Properties")
        if not isinstance(props, YMap) or props.get("KmsKeyId") is not None:
            continue
        variants = props.get("ProductionVariants")
        if not isinstance(variants, YList):
            continue
        if any(
            isinstance(v, YMap) and _needs_key(v.get("InstanceType"), v.get("ServerlessConfig") is not None)
            for v in variants
        ):
            ctx.report(
                ENDPOINT_KMS,
                resources.line_of(name),
                f"endpoint config {name} sets no KmsKeyId: its instances' storage volumes are not encrypted with "
                "a key you control",
                key=f"{name}:kms",
            )


def check_terraform(module: Module) -> None:
    for r in module.of("aws_sagemaker_endpoint_configuration"):
        if r.attrs.get("kms_key_arn") is not None:
            continue
        variants = r.block.blocks_of("production_variants")
        if any(
            _needs_key(literal(v.attrs.get("instance_type")), bool(v.blocks_of("serverless_config"))) for v in variants
        ):
            r.ctx.report(
                ENDPOINT_KMS,
                r.line,
                f"endpoint config {r.address} sets no kms_key_arn: its instances' storage volumes are not encrypted "
                "with a key you control",
                key=f"{r.address}:kms",
            )
