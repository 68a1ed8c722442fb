"""Import a detect-secrets `.secrets.baseline` as aisec-ci suppressions.

detect-secrets identifies a secret by (filename, type, SHA-1 of the value).
Our findings carry `key = "sha1:<same SHA-1>"`, and the engine fingerprints
(rule id, path, key, occurrence). detect-secrets' type names do not map one to
one onto our rule ids, so every secrets rule is tried: the SHA-1 of the exact
value makes an accidental match impossible.
"""

from __future__ import annotations

import json
from pathlib import Path

from aisec_ci.errors import ConfigError
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.redaction import safe_error_text
from aisec_ci.scanners.secrets.scanner import ALL_RULES
from aisec_ci.severity import Severity
from aisec_ci.suppress.baseline import MAX_BASELINE_BYTES
from aisec_ci.workspace.reading import UnreadableFile, read_bounded

MAX_OCCURRENCES = 8
"""detect-secrets keeps one entry per secret per file; we report each occurrence,
so the first few occurrences of a baselined value are suppressed too."""


def load_detect_secrets_baseline(path: Path | str) -> frozenset[str]:
    """Fingerprints of every audited-or-not secret in the baseline, except those
    an auditor marked `is_secret: true` (a confirmed leak stays reported)."""
    p = Path(path)
    try:
        data = json.loads(read_bounded(p, MAX_BASELINE_BYTES).decode("utf-8"))
    except UnreadableFile as exc:
        raise ConfigError(f"{p}: cannot read detect-secrets baseline: it {exc.reason}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{p}: cannot read detect-secrets baseline: {safe_error_text(exc)}") from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, dict):
        raise ConfigError(f"{p}: not a detect-secrets baseline (no `results` object)")
    fingerprints: set[str] = set()
    for filename, entries in results.items():
        if not isinstance(entries, list):
            continue
        rel = str(filename).replace("\\", "/").removeprefix("./")
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("is_secret") is True:
                continue
            hashed = entry.get("hashed_secret")
            if not isinstance(hashed, str):
                continue
            key = "sha1:" + hashed
            for rule in ALL_RULES:
                copies = [
                    Finding(rule_id=rule.id, severity=Severity.INFO, message="", path=rel, key=key)
                    for _ in range(MAX_OCCURRENCES)
                ]
                fingerprints.update(f.fingerprint for f in assign_fingerprints(copies, None))
    return frozenset(fingerprints)
