"""API Gateway in front of models (#16.3): throttling, usage plans and API keys in CloudFormation,
SAM, OpenAPI and Terraform, tied together across resources of one template or module."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from aisec_ci.workspace.kinds import FileKind
from tests.conftest import run_cli
from tests.scanners.cloud.cloud_support import FIXTURES, by_rule, line_of, scan, scan_tree, summary

STAGE = "apigateway/stage-without-throttling"
PLAN = "apigateway/usage-plan-without-limits"
KEY = "apigateway/model-method-without-api-key"
INVOKE = "iam/model-invoke-on-any-resource"


def _cfn(path: str | Path) -> list:
    return scan(path, FileKind.CLOUDFORMATION)


def test_rest_api_in_front_of_sagemaker() -> None:
    path = "cloudformation-apigw-rest-unsafe.yaml"
    fs = _cfn(path)
    assert summary(fs) == {
        (INVOKE, path, line_of(path, 'Resource: "*"'), "medium"),
        (KEY, path, line_of(path, "PredictMethod:"), "high"),
        (STAGE, path, line_of(path, "ProdStage:"), "medium"),
        (PLAN, path, line_of(path, "PartnerUsagePlan:"), "medium"),
        (STAGE, path, line_of(path, "StatusDeployment:"), "low"),
    }
    (stage,) = [f for f in by_rule(fs, STAGE) if f.severity.label == "medium"]
    assert "PredictMethod (POST /predict) -> a SageMaker endpoint" in stage.message
    # An API that invokes no model is reported in the strict profile only.
    assert [f.profile for f in by_rule(fs, STAGE) if f.severity.label == "low"] == ["strict"]
    # ThrottlingRateLimit -1 is API Gateway's "no limit": not a throttle.
    assert "ThrottlingRateLimit: -1" in (FIXTURES / path).read_text()


def test_rest_api_keyed_and_throttled_is_clean() -> None:
    # MethodSettings */*, a usage plan that names its stage through a parameter, and a
    # Deployment's StageDescription all count as throttles; ApiKeyRequired or IAM auth as keys.
    assert _cfn("cloudformation-apigw-rest-safe.yaml") == []


def test_sam_api_functions_and_implicit_http_api() -> None:
    path = "cloudformation-apigw-sam-unsafe.yaml"
    fs = _cfn(path)
    assert summary(fs) == {
        (STAGE, path, line_of(path, "ChatApi:"), "medium"),
        (PLAN, path, line_of(path, "UsagePlan:"), "medium"),
        (INVOKE, path, line_of(path, 'Resource: "*"'), "medium"),
        (KEY, path, line_of(path, "Chat:"), "high"),
        (KEY, path, line_of(path, "Summarise:"), "high"),
        (STAGE, path, line_of(path, "Summarise:"), "medium"),
    }
    messages = " ".join(f.message for f in fs)
    assert "Lambda ChatFunction (calls Bedrock)" in messages
    # The function's environment names a SageMaker endpoint: it fronts a model.
    assert "Lambda SummariseFunction (calls SageMaker)" in messages
    assert "implicit SAM HTTP API ServerlessHttpApi" in messages
    assert "HTTP APIs have no API keys" in messages


def test_sam_keyed_throttled_and_jwt_protected_is_clean() -> None:
    # Globals.Api.MethodSettings, Auth.ApiKeyRequired + UsagePlan with limits, an HttpApi with
    # DefaultRouteSettings and a JWT DefaultAuthorizer, and an ApiGatewayV2 route with a JWT authorizer.
    assert _cfn("cloudformation-apigw-sam-safe.yaml") == []


def test_standalone_openapi_is_judged_in_the_strict_profile() -> None:
    path = "openapi-sagemaker-unsafe.yaml"
    fs = scan(path, FileKind.YAML)
    assert summary(fs) == {
        (KEY, path, line_of(path, "post:"), "low"),
        (KEY, path, line_of(path, "post:", nth=2), "low"),
    }
    assert {f.profile for f in fs} == {"strict"}
    assert all("unless the template that imports this definition adds one" in f.message for f in fs)
    # `security: [{}, {api_key: []}]` lets callers skip the key.
    assert any("POST /generate invokes a Bedrock model" in f.message for f in fs)
    assert scan("openapi-sagemaker-safe.yaml", FileKind.YAML) == []


def test_terraform_module_across_files() -> None:
    root = FIXTURES / "terraform-model-api-unsafe"
    fs = scan_tree(root)
    api = root / "api.tf"

    def at(needle: str) -> int:
        return line_of(str(api.relative_to(FIXTURES)), needle)

    assert summary(fs) == {
        (KEY, "api.tf", at('resource "aws_api_gateway_method" "predict"'), "high"),
        (STAGE, "api.tf", at('resource "aws_api_gateway_stage" "prod"'), "medium"),
        (PLAN, "api.tf", at('resource "aws_api_gateway_usage_plan" "partners"'), "medium"),
        (KEY, "api.tf", at('resource "aws_apigatewayv2_route" "chat"'), "high"),
        (STAGE, "api.tf", at('resource "aws_apigatewayv2_stage" "chat"'), "medium"),
        ("s3/model-bucket-without-kms", "storage.tf", 1, "low"),
        ("s3/model-bucket-without-kms", "storage.tf", 5, "low"),
        ("sagemaker/endpoint-config-without-kms", "storage.tf", 19, "low"),
    }
    # The Lambda's role policy in lambda.tf says what the REST method fronts.
    assert any("Lambda aws_lambda_function.predict (calls SageMaker)" in f.message for f in fs)
    assert scan_tree(FIXTURES / "terraform-model-api-safe") == []


def test_terraform_throttles_in_another_file_are_seen(tmp_path: Path) -> None:
    module = tmp_path / "infra"
    shutil.copytree(FIXTURES / "terraform-model-api-safe", module)
    assert scan_tree(tmp_path) == []
    # Without throttling.tf (method settings, usage plan, HTTP stage) every stage is unthrottled.
    (module / "throttling.tf").unlink()
    got = {(f.rule_id, f.message.split(" (")[0]) for f in scan_tree(tmp_path)}
    assert got == {(STAGE, "stage prod"), (STAGE, "stage v1")}
    # The same files in two directories are two modules: nothing crosses between them.
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(FIXTURES / "terraform-model-api-safe" / "throttling.tf", other / "throttling.tf")
    assert {f.rule_id for f in scan_tree(tmp_path)} == {STAGE}


def test_terraform_values_from_variables_are_not_guessed(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_api_gateway_rest_api" "api" { name = "x" }\n'
        'resource "aws_api_gateway_method" "m" {\n'
        "  rest_api_id      = aws_api_gateway_rest_api.api.id\n"
        "  resource_id      = aws_api_gateway_rest_api.api.root_resource_id\n"
        '  http_method      = "POST"\n'
        "  authorization    = var.authorization\n"
        "  api_key_required = var.require_key\n"
        "}\n"
        'resource "aws_api_gateway_integration" "i" {\n'
        "  rest_api_id = aws_api_gateway_rest_api.api.id\n"
        "  resource_id = aws_api_gateway_rest_api.api.root_resource_id\n"
        '  http_method = "POST"\n'
        '  type        = "AWS"\n'
        '  uri         = "arn:aws:apigateway:us-east-1:runtime.sagemaker:path//endpoints/e/invocations"\n'
        "}\n"
        'resource "aws_api_gateway_stage" "s" {\n'
        "  rest_api_id   = aws_api_gateway_rest_api.api.id\n"
        "  deployment_id = var.deployment\n"
        "  stage_name    = var.stage\n"
        "}\n"
        'resource "aws_api_gateway_method_settings" "all" {\n'
        "  rest_api_id = aws_api_gateway_rest_api.api.id\n"
        "  stage_name  = var.stage\n"
        '  method_path = "*/*"\n'
        "  settings {\n    throttling_rate_limit = var.rate\n  }\n"
        "}\n"
        'resource "aws_sagemaker_endpoint_configuration" "c" {\n'
        "  kms_key_arn = var.kms\n"
        "  production_variants {\n    instance_type = var.instance_type\n  }\n"
        "}\n"
        'resource "aws_s3_bucket" "models" { bucket = var.bucket }\n'
        'resource "aws_s3_bucket_server_side_encryption_configuration" "e" {\n'
        "  bucket = var.bucket\n"
        "  rule {\n    apply_server_side_encryption_by_default {\n"
        '      sse_algorithm = "AES256"\n    }\n  }\n'
        "}\n"
    )
    # Method auth and key, the stage a setting targets, the bucket an encryption names: unknown.
    assert scan_tree(tmp_path) == []


def test_terraform_quick_create_http_api_and_local_storage_endpoints(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_apigatewayv2_api" "quick" {\n'
        '  name          = "quick"\n'
        '  protocol_type = "HTTP"\n'
        "  target        = aws_lambda_function.llm.arn\n"
        "}\n"
        'resource "aws_lambda_function" "llm" {\n'
        '  function_name = "llm"\n'
        '  role          = "arn:aws:iam::123456789012:role/llm"\n'
        "  environment {\n    variables = { SAGEMAKER_ENDPOINT = aws_sagemaker_endpoint.llm.name }\n  }\n"
        "}\n"
        'resource "aws_sagemaker_endpoint_configuration" "gpu" {\n'
        '  production_variants {\n    instance_type = "ml.g5.12xlarge"\n  }\n'
        '  production_variants {\n    instance_type = "ml.p4d.24xlarge"\n  }\n'
        "}\n"
        'resource "aws_sagemaker_endpoint_configuration" "serverless" {\n'
        "  production_variants {\n    serverless_config {\n      max_concurrency = 2\n"
        "      memory_size_in_mb = 2048\n    }\n  }\n"
        "}\n"
    )
    got = {(f.rule_id, f.start_line, f.severity.label) for f in scan_tree(tmp_path)}
    assert got == {(STAGE, 1, "medium"), (KEY, 1, "high")}


def test_terraform_bucket_policy_refusing_unencrypted_uploads(tmp_path: Path) -> None:
    (tmp_path / "s3.tf").write_text(
        'resource "aws_s3_bucket" "checkpoints" {\n  bucket_prefix = "llm-checkpoints-"\n}\n'
        'resource "aws_s3_bucket_policy" "checkpoints" {\n'
        "  bucket = aws_s3_bucket.checkpoints.id\n"
        "  policy = jsonencode({\n"
        '    Version = "2012-10-17"\n'
        "    Statement = [{\n"
        '      Effect    = "Deny"\n'
        '      Principal = "*"\n'
        '      Action    = "s3:PutObject"\n'
        '      Resource  = "${aws_s3_bucket.checkpoints.arn}/*"\n'
        '      Condition = { Null = { "s3:x-amz-server-side-encryption" = "true" } }\n'
        "    }]\n"
        "  })\n"
        "}\n"
    )
    # Uploads must be encrypted, but SSE-S3 is accepted: the low finding.
    (f,) = scan_tree(tmp_path)
    assert (f.rule_id, f.start_line, f.severity.label) == ("s3/model-bucket-without-kms", 1, "low")
    assert "its name says checkpoints" in f.message and "encrypted with SSE-S3" in f.message


def test_websocket_api_is_judged_on_connect(tmp_path: Path) -> None:
    template = (
        "Resources:\n"
        "  Ws:\n"
        "    Type: AWS::ApiGatewayV2::Api\n"
        "    Properties:\n"
        "      Name: stream\n"
        "      ProtocolType: WEBSOCKET\n"
        "      RouteSelectionExpression: $request.body.action\n"
        "  Connect:\n"
        "    Type: AWS::ApiGatewayV2::Route\n"
        "    Properties:\n"
        "      ApiId: !Ref Ws\n"
        "      RouteKey: $connect\n"
        "      AuthorizationType: NONE\n"
        "  Generate:\n"
        "    Type: AWS::ApiGatewayV2::Route\n"
        "    Properties:\n"
        "      ApiId: !Ref Ws\n"
        "      RouteKey: generate\n"
        "      Target: !Join [/, [integrations, !Ref GenerateIntegration]]\n"
        "  GenerateIntegration:\n"
        "    Type: AWS::ApiGatewayV2::Integration\n"
        "    Properties:\n"
        "      ApiId: !Ref Ws\n"
        "      IntegrationType: AWS_PROXY\n"
        "      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${GenerateFunction.Arn}/invocations\n"
        "  GenerateFunction:\n"
        "    Type: AWS::Lambda::Function\n"
        "    Properties:\n"
        "      Role: arn:aws:iam::123456789012:role/generate\n"
        "      Environment:\n"
        "        Variables:\n"
        "          MODEL_ID: amazon.titan-text-express-v1\n"
        "  Stage:\n"
        "    Type: AWS::ApiGatewayV2::Stage\n"
        "    Properties:\n"
        "      ApiId: !Ref Ws\n"
        "      StageName: prod\n"
        "      DefaultRouteSettings:\n"
        "        ThrottlingRateLimit: 10\n"
    )
    p = tmp_path / "ws.yaml"
    p.write_text(template)
    (f,) = _cfn(p)
    assert (f.rule_id, f.start_line) == (KEY, 8)
    assert "anyone can connect to WebSocket API Ws and call route Generate (generate)" in f.message
    p.write_text(template.replace("AuthorizationType: NONE", "AuthorizationType: AWS_IAM"))
    assert _cfn(p) == []


def test_quick_create_http_api_and_managed_overrides(tmp_path: Path) -> None:
    template = (
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Handler: app.handler\n"
        "      Policies:\n"
        "        - AmazonBedrockFullAccess\n"
        "  Quick:\n"
        "    Type: AWS::ApiGatewayV2::Api\n"
        "    Properties:\n"
        "      Name: quick\n"
        "      ProtocolType: HTTP\n"
        "      Target: !GetAtt Fn.Arn\n"
    )
    p = tmp_path / "quick.yaml"
    p.write_text(template)
    assert {(f.rule_id, f.start_line) for f in _cfn(p)} == {(STAGE, 8), (KEY, 8)}
    p.write_text(
        template + "  Overrides:\n"
        "    Type: AWS::ApiGatewayV2::ApiGatewayManagedOverrides\n"
        "    Properties:\n"
        "      ApiId: !Ref Quick\n"
        "      Stage:\n"
        "        DefaultRouteSettings:\n"
        "          ThrottlingBurstLimit: 10\n"
        "          ThrottlingRateLimit: 5\n"
    )
    assert {f.rule_id for f in _cfn(p)} == {KEY}


def test_sam_inline_definition_and_event_are_one_method(tmp_path: Path) -> None:
    template = (
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Api:\n"
        "    Type: AWS::Serverless::Api\n"
        "    Properties:\n"
        "      StageName: prod\n"
        "      MethodSettings:\n"
        "        - {HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 5}\n"
        "      DefinitionBody:\n"
        "        openapi: 3.0.1\n"
        "        paths:\n"
        "          /story:\n"
        "            post:\n"
        "              x-amazon-apigateway-integration:\n"
        "                type: aws_proxy\n"
        "                httpMethod: POST\n"
        "                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
        "${Story.Arn}/invocations\n"
        "  Story:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Handler: app.handler\n"
        "      Policies:\n"
        "        - Statement:\n"
        "            - Effect: Allow\n"
        "              Action: bedrock:InvokeModelWithResponseStream\n"
        "              Resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0\n"
        "      Events:\n"
        "        Post:\n"
        "          Type: Api\n"
        "          Properties:\n"
        "            RestApiId: !Ref Api\n"
        "            Path: /story\n"
        "            Method: post\n"
    )
    p = tmp_path / "sam.yaml"
    p.write_text(template)
    keys = [f for f in _cfn(p) if f.rule_id == KEY]
    assert [f.start_line for f in keys] == [13]  # the definition's operation, reported once
    # The event's Auth is merged into the definition by SAM: then the method is keyed.
    p.write_text(template + "            Auth:\n              ApiKeyRequired: true\n")
    assert [f for f in _cfn(p) if f.rule_id == KEY] == []


def test_private_api_and_authorizer_without_key(tmp_path: Path) -> None:
    base = (FIXTURES / "cloudformation-apigw-rest-unsafe.yaml").read_text()
    p = tmp_path / "private.yaml"
    p.write_text(base.replace("          - REGIONAL", "          - PRIVATE"))
    (f,) = by_rule(_cfn(p), KEY)
    assert f.severity.label == "medium" and "private API" in f.message
    p.write_text(base.replace("AuthorizationType: NONE", "AuthorizationType: COGNITO_USER_POOLS", 1))
    (f,) = by_rule(_cfn(p), KEY)
    assert (f.severity.label, f.profile) == ("low", "strict")
    assert "authorizer but no API key" in f.message


def test_cli_default_profile_shows_model_findings_and_hides_hygiene(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "terraform-model-api-unsafe", repo / "infra")
    shutil.copy(FIXTURES / "cloudformation-apigw-rest-unsafe.yaml", repo / "template.yaml")
    shutil.copy(FIXTURES / "openapi-sagemaker-unsafe.yaml", repo / "openapi.yaml")
    out = tmp_path / "r.json"
    proc = run_cli(
        "scan", repo, "--scanners", "cloud", "--format", "json", "-o", out, "--fail-on", "high", plugin=False
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    got = {(f["path"], f["rule_id"]) for f in report["findings"]}
    assert ("infra/api.tf", KEY) in got and ("template.yaml", STAGE) in got and ("infra/lambda.tf", INVOKE) in got
    # Storage encryption, the strict-only stage and the standalone OpenAPI wait for --profile strict.
    assert not {r for _, r in got} & {"s3/model-bucket-without-kms", "sagemaker/endpoint-config-without-kms"}
    assert "openapi.yaml" not in {p for p, _ in got}
    assert report["summary"]["hidden"]["out_of_profile"]["strict"] == 6


def test_terraform_json_syntax_module(tmp_path: Path) -> None:
    api = {
        "resource": {
            "aws_api_gateway_rest_api": {"api": {"name": "scorer"}},
            "aws_api_gateway_method": {
                "score": {
                    "rest_api_id": "${aws_api_gateway_rest_api.api.id}",
                    "resource_id": "${aws_api_gateway_rest_api.api.root_resource_id}",
                    "http_method": "POST",
                    "authorization": "NONE",
                    "api_key_required": True,
                }
            },
            "aws_api_gateway_integration": {
                "score": {
                    "rest_api_id": "${aws_api_gateway_rest_api.api.id}",
                    "resource_id": "${aws_api_gateway_rest_api.api.root_resource_id}",
                    "http_method": "${aws_api_gateway_method.score.http_method}",
                    "type": "AWS",
                    "uri": "arn:aws:apigateway:us-east-1:runtime.sagemaker:path//endpoints/scorer/invocations",
                }
            },
            "aws_api_gateway_stage": {
                "prod": {"rest_api_id": "${aws_api_gateway_rest_api.api.id}", "stage_name": "prod"}
            },
        }
    }
    settings = {
        "resource": {
            "aws_api_gateway_method_settings": {
                "all": {
                    "rest_api_id": "${aws_api_gateway_rest_api.api.id}",
                    "stage_name": "${aws_api_gateway_stage.prod.stage_name}",
                    "method_path": "*/*",
                    "settings": {"throttling_rate_limit": 10, "throttling_burst_limit": 20},
                }
            }
        }
    }
    (tmp_path / "api.tf.json").write_text(json.dumps(api, indent=2))
    (tmp_path / "settings.tf.json").write_text(json.dumps(settings, indent=2))
    assert scan_tree(tmp_path) == []
    (tmp_path / "settings.tf.json").unlink()
    (f,) = scan_tree(tmp_path)
    assert (f.rule_id, f.path, f.severity.label) == (STAGE, "api.tf.json", "medium")
    assert f.start_line == line_of(str(tmp_path / "api.tf.json"), '"prod": {')


def test_sam_event_on_an_api_of_another_stack_is_not_guessed(tmp_path: Path) -> None:
    p = tmp_path / "sam.yaml"
    p.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Handler: app.handler\n"
        "      Policies: [AmazonSageMakerFullAccess]\n"
        "      Events:\n"
        "        Predict:\n"
        "          Type: Api\n"
        "          Properties:\n"
        "            RestApiId: !ImportValue shared-api-id\n"
        "            Path: /predict\n"
        "            Method: post\n"
    )
    assert _cfn(p) == []
