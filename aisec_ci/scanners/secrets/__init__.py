"""Hard-coded secrets: detect-secrets as plugin, filter and baseline host, driven
by aisec-ci's own prefiltered scan loop, with AI-provider detectors and offline
format validation. Verification (network calls to providers) is never done."""

from aisec_ci.scanners.secrets.scanner import SecretsScanner

SCANNER = SecretsScanner

__all__ = ["SCANNER", "SecretsScanner"]
