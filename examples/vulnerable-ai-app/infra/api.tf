# A public REST API in front of the endpoint: API Gateway calls SageMaker runtime directly.

resource "aws_iam_role" "apigw_invoke" {
  name = "sentiment-demo-apigw"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "apigw_invoke" {
  name = "invoke-sentiment"
  role = aws_iam_role.apigw_invoke.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "sagemaker:InvokeEndpoint"
      Resource = "*"
    }]
  })
}

resource "aws_api_gateway_rest_api" "sentiment" {
  name = "sentiment-demo"
}

resource "aws_api_gateway_resource" "predict" {
  rest_api_id = aws_api_gateway_rest_api.sentiment.id
  parent_id   = aws_api_gateway_rest_api.sentiment.root_resource_id
  path_part   = "predict"
}

resource "aws_api_gateway_method" "predict" {
  rest_api_id   = aws_api_gateway_rest_api.sentiment.id
  resource_id   = aws_api_gateway_resource.predict.id
  http_method   = "POST"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "predict" {
  rest_api_id             = aws_api_gateway_rest_api.sentiment.id
  resource_id             = aws_api_gateway_resource.predict.id
  http_method             = aws_api_gateway_method.predict.http_method
  type                    = "AWS"
  integration_http_method = "POST"
  credentials             = aws_iam_role.apigw_invoke.arn
  uri                     = "arn:aws:apigateway:us-east-1:runtime.sagemaker:path//endpoints/${aws_sagemaker_endpoint.sentiment.name}/invocations"
}

resource "aws_api_gateway_deployment" "sentiment" {
  rest_api_id = aws_api_gateway_rest_api.sentiment.id
  depends_on  = [aws_api_gateway_integration.predict]
}

resource "aws_api_gateway_stage" "prod" {
  rest_api_id   = aws_api_gateway_rest_api.sentiment.id
  deployment_id = aws_api_gateway_deployment.sentiment.id
  stage_name    = "prod"
}

resource "aws_api_gateway_usage_plan" "demo" {
  name = "sentiment-demo"

  api_stages {
    api_id = aws_api_gateway_rest_api.sentiment.id
    stage  = aws_api_gateway_stage.prod.stage_name
  }
}
