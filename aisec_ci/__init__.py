"""aisec-ci: the security gate for AI/ML repositories."""

__version__ = "0.1.0"
