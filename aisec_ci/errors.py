"""Errors that end a run with exit code 2 and a one-line message (no traceback)."""

from __future__ import annotations


class AisecError(Exception):
    """Base for user-facing errors: usage, configuration, unreadable inputs."""

    exit_code = 2


class UsageError(AisecError):
    """Bad command-line arguments or paths."""


class ConfigError(AisecError):
    """Invalid `.aisec.yml`, baseline or other configuration input."""
