"""Running an external audit tool: no stdin (so no prompt can wait), a hard timeout, a scrubbed environment."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from aisec_ci.scanners.deps.services.interface import ServiceUnavailable


def run_tool(
    label: str, argv: Sequence[str], timeout: float, env: Mapping[str, str], drop_prefixes: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(drop_prefixes)}
    full_env.update(env)
    full_env.setdefault("PIP_NO_INPUT", "1")
    try:
        return subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            check=False,
        )
    except FileNotFoundError:
        raise ServiceUnavailable(f"{label} is not installed ({argv[0]} not found)") from None
    except subprocess.TimeoutExpired:
        raise ServiceUnavailable(f"{label} did not finish within {timeout:g} s and was stopped") from None


def last_line(text: str, limit: int = 300) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:limit] if lines else "no output"
