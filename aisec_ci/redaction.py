"""The redaction stage: no secret value leaves the process, whichever scanner quoted it.

Redaction used to be a property of the secrets scanner's own findings, so a token
that another scanner quoted (a code snippet, a workflow `run:` line, an IAM `Sid`,
a pickle's call argument, a path) reached every report. Here it is a stage of the
pipeline that every outgoing string passes: messages, snippets, properties (keys
and values), paths, suppression reasons, skip reasons, notes, and the CLI's error
messages. It replaces

1. every secret value the secrets engine finds in the files that findings quote
   (`Redactor.learn`, fed by the engine while each file's text is in memory), and
2. whatever the provider detectors (formats with a fixed shape: `ghp_`, `hf_`,
   `sk-ant-`, `AKIA`, private-key headers, credentials in URLs ...) recognise in
   the outgoing text itself, as the last line of defence for values from files the
   secrets engine never reads (model files, binary blobs, file names).

A replaced value takes the form every report already uses: at most its first 4
characters and its length, `ghp_…[40 chars]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aisec_ci.findings import Finding
    from aisec_ci.scanners.secrets.detector import Detector
    from aisec_ci.scanners.secrets.engine import Prefilter

MIN_KNOWN_LENGTH = 6
"""Shorter values are too likely to be ordinary words to replace them everywhere."""
_RUN = re.compile(r"[A-Za-z0-9+=_\-]{16,}")  # no "/": a path is not one token
_SHAPE_WINDOW = 1024
"""How far past a keyword a shape may reach (the longest provider tokens are a few hundred characters)."""
_HEX = re.compile(r"[0-9a-fA-F]{32,}")


def redact_value(secret: str) -> str:
    """At most the first 4 characters and the length; fewer for short values, so a
    short password is never mostly revealed."""
    shown = min(4, len(secret) // 4)
    return f"{secret[:shown]}…[{len(secret)} chars]"


@lru_cache(maxsize=1)
def _provider_prefilter() -> Prefilter:
    # Imported on first use: a scan with nothing to report never pays for compiling the detectors.
    from aisec_ci.scanners.secrets.scanner import prefilter

    return prefilter(False)


def _generic_prefilter() -> Prefilter:
    from aisec_ci.scanners.secrets.scanner import prefilter

    return prefilter(True)


def detected_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every value in `text` that has the shape of a provider
    credential. Shapes only: a checksum that fails or a value that looks like a
    placeholder is still redacted here (a needless mask costs nothing; a leak does)."""
    from aisec_ci.scanners.secrets.detector import RegexDetector

    prefilter = _provider_prefilter()
    woken: dict[int, Detector] = {}
    starts: list[int] = []
    for m in prefilter.pattern.finditer(text.lower()):
        starts.append(m.start())
        for det in prefilter.detectors_for(m.group()):
            woken.setdefault(id(det), det)
    spans: list[tuple[int, int]] = []
    for det in woken.values():
        if det.generic:
            continue  # keyword judgement needs the file's context; `secret_values` applies it there
        if isinstance(det, RegexDetector):
            group = "secret" if "secret" in det.pattern.groupindex else 0
            spans.extend(m.span(group) for m in det.pattern.finditer(text) if m.group(group))
            # Detectors want a token boundary before the prefix; in a quoted name such as
            # `evil_ghp_…` or `AllowAKIA…` there is none, yet the token is whole. Try each
            # keyword position as a start of its own.
            for start in starts:
                at = det.pattern.match(text[start : start + _SHAPE_WINDOW])
                if at is not None and at.group(group):
                    spans.append((start + at.start(group), start + at.end(group)))
        else:
            spans.extend((c.start, c.end) for c in det.find(text))
    return spans


def secret_values(text: str) -> set[str]:
    """Every secret value the secrets engine confirms in a file's text (its keyword
    and entropy judgement included): what other scanners must not quote from it."""
    from aisec_ci.scanners.secrets.engine import scan_text

    hits = scan_text(text, "redaction.txt", _generic_prefilter(), generic_enabled=True)
    return {h.candidate.secret for h in hits if len(h.candidate.secret) >= MIN_KNOWN_LENGTH}


class Redactor:
    """Replaces known secret values and detector hits in every string it is given."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._known: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.learn(known)

    def learn(self, values: Iterable[str]) -> None:
        new = {v for v in values if len(v) >= MIN_KNOWN_LENGTH} - self._known
        if new:
            self._known |= new
            self._pattern = None

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self._known)

    def _known_pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._known:
            # Longest first, so a value that contains another is replaced whole.
            alternatives = sorted(self._known, key=lambda v: (-len(v), v))
            self._pattern = re.compile("|".join(map(re.escape, alternatives)))
        return self._pattern

    def text(self, value: str) -> str:
        if not value:
            return value
        pattern = self._known_pattern()
        if pattern is not None:
            value = pattern.sub(lambda m: redact_value(m.group(0)), value)
        return scrub(value)

    def data(self, value: Any) -> Any:
        """A JSON-like value with every string (dictionary keys included) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.data(v) for v in value)
        return value

    def finding(self, f: Finding) -> Finding:
        changes: dict[str, Any] = {}
        for name in ("message", "snippet", "path"):
            old = getattr(f, name)
            new = self.text(old)
            if new != old:
                changes[name] = new
        if f.properties:
            props = self.data(f.properties)
            if props != f.properties:
                changes["properties"] = props
        return f.evolve(**changes) if changes else f


def scrub(text: str) -> str:
    """`text` with every value a provider detector recognises replaced by its
    redacted form. For report prose and error messages, where no file's own
    secret list is at hand."""
    if not text:
        return text
    spans = detected_spans(text)
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        parts.append(text[pos:start])
        parts.append(redact_value(text[start:end]))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def quote_value(value: object, limit: int = 80) -> str:
    """A user-supplied value for an error message: redacted, token-like runs cut, bounded.

    Config and usage errors name the value that was wrong so the user can find it;
    the value may be a token pasted into the wrong key, so it is never echoed raw."""
    text = _cut_tokens(scrub(str(value)), 16).replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def safe_error_text(exc: BaseException) -> str:
    """An exception's message made safe for reports: parsers like to quote the
    offending input, which may be a secret, so token-like runs are cut to their
    head and length, and the whole is bounded."""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    text = _RUN.sub(lambda m: redact_value(m.group(0)), scrub(text))
    return text[:300]


def safe_message(text: str) -> str:
    """An error or log line made safe to print: detector hits redacted and any
    other long token-like run cut to its head and length."""
    return _cut_tokens(scrub(text), 20)


def looks_like_token(run: str) -> bool:
    """Mixed-case letters with digits (base62/base64 keys) or a long hex string:
    what random credentials look like and names, ids and paths rarely do."""
    if _HEX.fullmatch(run):
        return True
    return any(c.islower() for c in run) and any(c.isupper() for c in run) and any(c.isdigit() for c in run)


def _cut_tokens(text: str, min_length: int) -> str:
    def cut(m: re.Match[str]) -> str:
        run = m.group(0)
        return redact_value(run) if len(run) >= min_length and looks_like_token(run) else run

    return _RUN.sub(cut, text)
