"""Workflow commands on stdout: annotations, warnings, and a fence around untrusted text.

The runner treats any stdout line that starts with `::` after leading
whitespace as a command. Scanned files are attacker-controlled in a pull
request, so text that echoes them (the terminal report prints snippets) is
printed between `::stop-commands::TOKEN` and `::TOKEN::`, and every value we
put into a command is escaped the way the runner unescapes it.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping
from typing import TextIO

from aisec_ci.redaction import safe_message

MAX_MESSAGE = 4096
"""The runner truncates longer annotation messages anyway."""


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: Mapping[str, str | int] | None = None) -> str:
    # Workflow commands end up in the public log: the last redaction pass before it.
    message = safe_message(message)
    props = ",".join(f"{k}={escape_property(safe_message(str(v)))}" for k, v in (properties or {}).items())
    head = f"::{name} {props}" if props else f"::{name}"
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return f"{head}::{escape_data(message)}"


def warning(message: str, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    out.write(command("warning", message) + "\n")
    out.flush()


def print_untrusted(text: str, stream: TextIO | None = None) -> None:
    """Print text that may contain `::command` lines without the runner obeying them."""
    out = stream or sys.stdout
    token = secrets.token_hex(16)
    out.write(f"::stop-commands::{token}\n")
    out.write(text if text.endswith("\n") else text + "\n")
    out.write(f"::{token}::\n")
    out.flush()
