# The sentiment model on a SageMaker real-time endpoint.

resource "aws_s3_bucket" "model_artifacts" {
  bucket = "sentiment-demo-model-artifacts"
}

resource "aws_iam_role" "sagemaker_execution" {
  name = "sentiment-demo-sagemaker"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "sagemaker.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_sagemaker_model" "sentiment" {
  name               = "sentiment-demo"
  execution_role_arn = aws_iam_role.sagemaker_execution.arn

  primary_container {
    image          = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310"
    model_data_url = "s3://${aws_s3_bucket.model_artifacts.bucket}/sentiment/model.tar.gz"
  }
}

resource "aws_sagemaker_endpoint_configuration" "sentiment" {
  name = "sentiment-demo"

  production_variants {
    variant_name           = "AllTraffic"
    model_name             = aws_sagemaker_model.sentiment.name
    initial_instance_count = 1
    instance_type          = "ml.m5.xlarge"
  }
}

resource "aws_sagemaker_endpoint" "sentiment" {
  name                 = "sentiment-demo"
  endpoint_config_name = aws_sagemaker_endpoint_configuration.sentiment.name
}
