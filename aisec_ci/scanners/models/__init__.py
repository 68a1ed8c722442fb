"""The `models` scanner: code-execution payloads in serialized models, found without loading them."""

from aisec_ci.scanners.models.scanner import ModelsScanner

SCANNER = ModelsScanner

__all__ = ["SCANNER", "ModelsScanner"]
