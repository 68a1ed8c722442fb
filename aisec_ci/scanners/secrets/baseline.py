"""Import a detect-secrets `.secrets.baseline` as aisec-ci suppressions.

detect-secrets identifies a secret by (filename, type, SHA-1 of what its plugin
yields). Our findings carry `key = "sha1:<SHA-1 of the value>"`, and the engine
fingerprints (rule id, path, key, occurrence). detect-secrets' type names do not
map one to one onto our rule ids, so every secrets rule is tried: the SHA-1 of
the exact value makes an accidental match impossible.

That SHA-1 is often not of the value we find: a regex plugin with a group hashes
the group (`ghp` for every GitHub token), a private key is hashed by its `BEGIN`
line, a base64 Secret value by its encoded text. For those, the entry's line is
checked the way detect-secrets checked it: its own plugin for the entry's type
runs over today's line, and when it yields the recorded hash, the secrets found
on that line are the audited ones (`DS_LINE` markers). A changed secret on that
line hashes differently and stays reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aisec_ci.errors import ConfigError
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.redaction import safe_error_text
from aisec_ci.scanners.secrets.scanner import ALL_RULES
from aisec_ci.severity import Severity
from aisec_ci.suppress.baseline import DS_LINE, MAX_BASELINE_BYTES
from aisec_ci.workspace.reading import UnreadableFile, read_bounded

MAX_OCCURRENCES = 8
"""detect-secrets keeps one entry per secret per file; we report each occurrence,
so the first few occurrences of a baselined value are suppressed too."""


MAX_VERIFIED_FILE_BYTES = 8 * 1024 * 1024


def load_detect_secrets_baseline(path: Path | str, root: Path | None = None) -> frozenset[str]:
    """Fingerprints of every audited-or-not secret in the baseline, except those
    an auditor marked `is_secret: true` (a confirmed leak stays reported), plus
    `DS_LINE` markers for entries whose line still yields their hash (files relative to `root`,
    by default the baseline's directory)."""
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
    lines = _LineVerifier(root if root is not None else p.parent, data)
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
            line_number = entry.get("line_number")
            if isinstance(line_number, int) and lines.yields(rel, line_number, hashed):
                fingerprints.add(f"{DS_LINE}{rel}:{line_number}")
            for rule in ALL_RULES:
                copies = [
                    Finding(rule_id=rule.id, severity=Severity.INFO, message="", path=rel, key=key)
                    for _ in range(MAX_OCCURRENCES)
                ]
                fingerprints.update(f.fingerprint for f in assign_fingerprints(copies, None))
    return frozenset(fingerprints)


class _LineVerifier:
    """Runs detect-secrets itself over a baseline's files, with the baseline's own plugin settings,
    so an entry is checked against exactly what detect-secrets hashes today (its YAML and INI
    transformers included). Only built-in plugins and filters run: a baseline naming a plugin by
    file path would make detect-secrets import that file, and scanned code is never executed."""

    def __init__(self, root: Path, data: dict[str, Any]) -> None:
        self.root = root
        self._found: dict[str, set[tuple[int, str]]] = {}
        self._settings = {
            "plugins_used": [
                p for p in data.get("plugins_used") or [] if isinstance(p, dict) and "path" not in p and "name" in p
            ],
            "filters_used": [
                f for f in data.get("filters_used") or [] if isinstance(f, dict) and "path" in f and _builtin(f["path"])
            ],
        }

    def yields(self, rel: str, line_number: int, hashed: str) -> bool:
        if rel not in self._found:
            self._found[rel] = self._scan(rel)
        return (line_number, hashed) in self._found[rel]

    def _scan(self, rel: str) -> set[tuple[int, str]]:
        target = (self.root / rel).resolve()
        try:
            if not target.is_relative_to(self.root.resolve()) or not target.is_file():
                return set()
            if target.stat().st_size > MAX_VERIFIED_FILE_BYTES:
                return set()
            from detect_secrets.core.scan import scan_file
            from detect_secrets.settings import transient_settings

            with transient_settings(self._settings):
                return {(s.line_number, s.secret_hash) for s in scan_file(str(target))}
        except Exception:  # detect-secrets failing on a file means only: not verified
            return set()


# The verification filter asks each provider's API whether a secret is live: never from here.
_NETWORK_FILTERS = frozenset({"detect_secrets.filters.common.is_ignored_due_to_verification_policies"})


def _builtin(path: object) -> bool:
    """A filter detect-secrets ships (`detect_secrets.filters.heuristic.is_sequential_string`)
    that works offline."""
    return isinstance(path, str) and path.startswith("detect_secrets.") and path not in _NETWORK_FILTERS
