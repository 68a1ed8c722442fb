"""The baseline: fingerprints of findings a team has accepted for now.

The file is JSON meant to be committed and reviewed, so it is sorted by
fingerprint and carries enough context (rule, path, line, message) to read a
diff of it. Only the fingerprints matter for matching: they survive line
shifts, so moving code does not resurrect baselined findings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aisec_ci.errors import ConfigError
from aisec_ci.findings import Finding
from aisec_ci.sameproblem import merged_fingerprints
from aisec_ci.workspace.reading import UnreadableFile, read_bounded

MAX_BASELINE_BYTES = 64 * 1024 * 1024
"""About 300,000 entries: far past any real baseline, far short of exhausting a runner."""
BASELINE_VERSION = 1
TOOL_NAME = "aisec-ci"


DS_LINE = "detect-secrets-line:"
"""Baseline marker `detect-secrets-line:<path>:<line>` (from a detect-secrets baseline whose entry
was verified against today's line): the secrets findings on that line are accepted."""


def baselined_line(finding: Finding, baseline: frozenset[str]) -> bool:
    """Whether a verified detect-secrets entry accepts this secrets finding."""
    return finding.rule_id.startswith("secrets/") and f"{DS_LINE}{finding.path}:{finding.start_line}" in baseline


def baseline_document(findings: Iterable[Finding]) -> dict[str, Any]:
    """The baseline's JSON object; one entry per fingerprint, sorted.

    A result that stands for several findings of one problem (`aisec_ci.sameproblem`)
    adds an entry for each finding merged into it: the baseline is matched finding by
    finding before the merge, and hides the result only when it holds all of them."""
    entries: dict[str, dict[str, Any]] = {}
    for f in findings:
        if not f.fingerprint:
            raise ValueError(f"finding {f.rule_id} at {f.path}:{f.start_line} has no fingerprint")
        entries.setdefault(
            f.fingerprint,
            {
                "fingerprint": f.fingerprint,
                "rule_id": f.rule_id,
                "path": f.path,
                "start_line": f.start_line,
                "message": f.message,
            },
        )
        for fingerprint, rule_id in merged_fingerprints(f).items():
            entries.setdefault(
                fingerprint,
                {
                    "fingerprint": fingerprint,
                    "rule_id": rule_id,
                    "path": f.path,
                    "start_line": f.start_line,
                    "message": f"{f.message} (merged into {f.rule_id})",
                },
            )
    return {
        "version": BASELINE_VERSION,
        "tool": TOOL_NAME,
        "findings": [entries[k] for k in sorted(entries)],
    }


def write_baseline(path: Path, findings: Iterable[Finding]) -> None:
    """Write the baseline atomically, so an interrupted run never leaves half a file."""
    from aisec_ci.outputs import write_output  # only `baseline create` writes one

    text = json.dumps(baseline_document(findings), indent=2, ensure_ascii=False) + "\n"
    try:
        # Atomic for a regular file (keeping its mode); a device or symlink is written through.
        write_output(path, text, atomic=True)
    except OSError as exc:
        raise ConfigError(f"baseline {path}: cannot write ({exc.strerror or exc})") from None


def load_baseline(path: Path) -> frozenset[str]:
    """Fingerprints in a baseline file; ConfigError naming the file when it is missing or malformed."""
    try:
        raw = read_bounded(path, MAX_BASELINE_BYTES)
    except FileNotFoundError:
        raise ConfigError(f"baseline {path}: file not found (create one with `aisec-ci baseline create`)") from None
    except UnreadableFile as exc:
        raise ConfigError(f"baseline {path}: cannot read: it {exc.reason}") from None
    except OSError as exc:
        raise ConfigError(f"baseline {path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"baseline {path}: not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"baseline {path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    return frozenset(_fingerprints(data, path))


def _fingerprints(data: Any, path: Path) -> list[str]:
    if not isinstance(data, dict):
        raise ConfigError(f"baseline {path}: the top level must be a JSON object")
    if "schema_version" in data and "version" not in data:
        raise ConfigError(
            f"baseline {path}: this is a JSON scan report, not a baseline; create one with `aisec-ci baseline create`"
        )
    version = data.get("version")
    if version != BASELINE_VERSION:
        raise ConfigError(f"baseline {path}: unsupported version {version!r} (expected {BASELINE_VERSION})")
    entries = data.get("findings")
    if not isinstance(entries, list):
        raise ConfigError(f"baseline {path}: 'findings' must be a list")
    out: list[str] = []
    for i, entry in enumerate(entries):
        fingerprint = entry.get("fingerprint") if isinstance(entry, dict) else None
        if not isinstance(fingerprint, str) or not fingerprint:
            raise ConfigError(f"baseline {path}: findings[{i}] has no 'fingerprint' string")
        out.append(fingerprint)
    return out
