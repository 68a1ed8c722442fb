"""Cloud scanner package: IAM/S3 policies and ML service exposure (see `scanner.py`)."""

from aisec_ci.scanners.cloud.scanner import CloudScanner

SCANNER = CloudScanner

__all__ = ["SCANNER", "CloudScanner"]
