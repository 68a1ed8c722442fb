"""Redaction: the only form in which a secret value may leave this package."""

from __future__ import annotations

import hashlib

from aisec_ci.redaction import redact_value

SNIPPET_WIDTH = 160


def redact(secret: str) -> str:
    """The one redacted form every output uses (see aisec_ci.redaction)."""
    return redact_value(secret)


def secret_hash(secret: str) -> str:
    """SHA-1 of the value, the identity detect-secrets stores as `hashed_secret`.

    Used only inside fingerprint keys (the engine hashes the key again with the
    path and rule), so a baseline written by detect-secrets can be matched."""
    return hashlib.sha1(secret.encode("utf-8", "surrogatepass")).hexdigest()


def redact_line(line: str, secrets: list[tuple[int, int]], focus: int = 0) -> str:
    """The line with every secret span replaced by its redacted form, cut to a
    window around `focus` (an offset in the line) so minified lines stay short."""
    parts: list[str] = []
    pos = 0
    new_focus = 0
    for start, end in sorted(secrets):
        if end <= start:
            continue  # a multi-line secret that starts after this line's end (a PEM header line)
        if start < pos:
            # Overlapping spans: the earlier replacement already covers this one's head.
            start = pos
            if end <= start:
                continue
        parts.append(line[pos:start])
        if start <= focus < max(end, start + 1):
            new_focus = sum(len(p) for p in parts)
        parts.append(redact(line[start:end]))
        pos = end
    parts.append(line[pos:])
    out = "".join(parts)
    if len(out) <= SNIPPET_WIDTH:
        return out.strip()
    lo = max(0, new_focus - SNIPPET_WIDTH // 3)
    hi = lo + SNIPPET_WIDTH
    # Never cut through a redaction marker: a cut could leave a raw-looking fragment
    # only if we cut raw text, which is harmless, but keep the marker whole for reading.
    return ("…" if lo > 0 else "") + out[lo:hi].strip() + ("…" if hi < len(out) else "")
