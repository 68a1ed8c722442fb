"""Secrets in one text: the detectors, the decoding of encoded values and the
findings they become. Shared by the working-tree scan (`scanner.py`) and the
history scan (`history.py`), which hand it file contents from disk or from git."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.secrets import (
    ai_providers,
    cloud_credentials,
    code_hosts,
    credential_urls,
    generic_detectors,
    jwt_tokens,
    notebooks,
    private_keys,
)
from aisec_ci.scanners.secrets.detector import Detector
from aisec_ci.scanners.secrets.engine import Hit, Prefilter, scan_text
from aisec_ci.scanners.secrets.false_positives import is_lock_file, is_vendored_bundle, lower_for_test_path
from aisec_ci.scanners.secrets.json_positions import JsonPositionError
from aisec_ci.scanners.secrets.keyed_encodings import docker_config_segments, kubernetes_secret_segments
from aisec_ci.scanners.secrets.public_values import PUBLIC, public_credential
from aisec_ci.scanners.secrets.redaction import redact, redact_line, secret_hash
from aisec_ci.scanners.secrets.segments import Segment, notebook_segments
from aisec_ci.workspace.kinds import FileKind

_MODULES = (ai_providers, code_hosts, cloud_credentials, private_keys, jwt_tokens, credential_urls, generic_detectors)
ALL_RULES: tuple[Rule, ...] = tuple(r for m in _MODULES for r in m.RULES) + notebooks.RULES
SPECIFIC_DETECTORS: tuple[Detector, ...] = tuple(d for m in _MODULES for d in m.DETECTORS)

HIGH_ENTROPY_ID = generic_detectors.HIGH_ENTROPY.id
_ENCODED_DUPLICATES = frozenset({HIGH_ENTROPY_ID, generic_detectors.GENERIC_SECRET.id})
_YAML_KINDS = frozenset({FileKind.KUBERNETES, FileKind.YAML, FileKind.HELM_TEMPLATE, FileKind.COMPOSE})


@lru_cache(maxsize=4)
def prefilter(entropy: bool = True) -> Prefilter:
    """Built once per process (the engine runs scanners in worker processes)."""
    return Prefilter(SPECIFIC_DETECTORS, generic_detectors.ENTROPY_DETECTORS if entropy else ())


class ContentScanner:
    """The secrets scanner's options applied to texts, one file at a time."""

    def __init__(self, options: Mapping[str, Any], *, skip_allowlisted: bool = False) -> None:
        self.options = options
        self.skip_allowlisted = skip_allowlisted
        """Drop lines under other tools' allow-list comments here (scans whose findings
        get no inline-suppression pass, such as history); otherwise they are reported
        and the engine lists them as suppressed."""

    def _opt(self, key: str, default: bool = True) -> bool:
        return bool(self.options.get(key, default))

    def scan(self, path: str, text: str, kind: FileKind, lines: list[str] | None = None) -> list[Finding]:
        """Findings in one file's text (`lines`: its lines, when the caller has them split)."""
        generic = (
            self._opt("generic")
            and not is_lock_file(path)
            and kind is not FileKind.LOCKFILE
            and not is_vendored_bundle(path)
        )
        pf = prefilter(self._opt("entropy") and generic)
        findings: list[Finding] = []
        if kind is FileKind.NOTEBOOK or path.endswith(".ipynb"):
            return self._scan_notebook(path, text, pf, generic)
        hits = scan_text(text, path, pf, generic_enabled=generic, skip_allowlisted=self.skip_allowlisted)
        findings.extend(self._findings(path, text, hits))
        if self._opt("decode"):
            decoded: list[Finding] = []
            for seg in self._decoded_segments(path, text, kind, lines):
                seg_hits = scan_text(
                    seg.text,
                    "decoded.py",
                    pf,
                    raw_line=seg.raw_line,
                    newline_only=True,
                    skip_allowlisted=self.skip_allowlisted,
                )
                decoded.extend(self._findings(path, seg.text, seg_hits, seg))
            if decoded:
                decoded = _with_file_lines(decoded, lines if lines is not None else text.splitlines())
            # The encoded form of a decoded secret is the same secret: keep the decoded finding, which
            # names the provider, over the entropy or keyword hit on the base64 text.
            lines_done = {f.start_line for f in decoded}
            findings = [
                f for f in findings if not (f.rule_id in _ENCODED_DUPLICATES and f.start_line in lines_done)
            ] + decoded
        return findings

    def _scan_notebook(self, path: str, text: str, pf: Prefilter, generic: bool) -> list[Finding]:
        if not notebooks.may_hold_secrets(text, pf, generic):
            # Most notebooks: nothing to find, so only validity needs checking (C-speed parse).
            error = notebooks.json_error(text)
            return [] if error is None else [notebooks.unparsed_finding(path, *error)]
        try:
            segments = notebook_segments(text)
        except JsonPositionError as exc:
            # A malformed notebook is still scanned, as raw text, so nothing hides in it; the note says so.
            findings = [notebooks.unparsed_finding(path, exc.line, exc.reason)]
            findings.extend(
                self._findings(
                    path,
                    text,
                    scan_text(text, path, pf, generic_enabled=generic, skip_allowlisted=self.skip_allowlisted),
                )
            )
            return findings
        findings = []
        for seg in segments:
            seg_hits = scan_text(
                seg.text,
                path + (".py" if seg.region == "source" else ".txt"),
                pf,
                raw_line=seg.raw_line,
                newline_only=True,
                generic_enabled=generic,
                skip_allowlisted=self.skip_allowlisted,
            )
            findings.extend(self._findings(path, seg.text, seg_hits, seg))
        return findings

    def _decoded_segments(self, path: str, text: str, kind: FileKind, lines: list[str] | None) -> list[Segment]:
        segments: list[Segment] = []
        if (kind in _YAML_KINDS or path.endswith((".yaml", ".yml"))) and "Secret" in text:
            segments.extend(kubernetes_secret_segments(lines if lines is not None else text.splitlines(), text))
        if '"auths"' in text and (kind is FileKind.JSON or path.endswith(".json")):
            segments.extend(docker_config_segments(text))
        return segments

    def _findings(self, path: str, text: str, hits: list[Hit], seg: Segment | None = None) -> Iterator[Finding]:
        # Hits inside a multi-line block (a PEM body) are the block's, not new secrets.
        blocks = [(h.candidate.start, h.candidate.end) for h in hits if h.detector.multiline]
        by_line: dict[int, list[tuple[int, int]]] = {}
        for h in hits:
            rel = (h.candidate.start - h.line_start, min(h.candidate.end - h.line_start, len(h.line_text)))
            by_line.setdefault(h.line_start, []).append(rel)
        service_account = '"service_account"' in text or "'service_account'" in text
        for h in hits:
            c = h.candidate
            if not h.detector.multiline and any(s <= c.start < e for s, e in blocks):
                continue
            rule = h.detector.rule
            if rule is private_keys.PRIVATE_KEY and service_account and "private_key" in h.line_text:
                rule = private_keys.GCP_SERVICE_ACCOUNT
            yield self._finding(path, rule, h, by_line[h.line_start], seg)

    def _finding(self, path: str, rule: Rule, h: Hit, spans: list[tuple[int, int]], seg: Segment | None) -> Finding:
        c = h.candidate
        severity = c.verdict.severity
        if self._opt("lower-severity-in-tests") and c.verdict.validation not in ("checksum", "structure"):
            # A key proven real offline is a leak wherever it sits (the role policy agrees).
            severity = lower_for_test_path(severity, path)
        shown = redact(c.secret)
        where = ""
        props: dict[str, Any] = {
            "secret_type": h.detector.secret_type,
            "validation": c.verdict.validation,
            "redacted": shown,
            "length": len(c.secret),
        }
        if seg is not None and seg.cell is not None:
            where = f" in cell {seg.cell} ({seg.region})"
            props["cell"] = seg.cell
            props["region"] = seg.region
        elif seg is not None and seg.region:
            props["region"] = seg.region
        if seg is not None and seg.encoding:
            props["encoding"] = seg.encoding
            where += f" ({seg.encoding}-encoded)"
        how = {
            "checksum": "checksum verified",
            "structure": "format validated",
            "format": "matches the provider's format",
            "keyword": "assigned to a secret-named key",
            "url": "embedded in a URL",
            "entropy": "high-entropy string",
        }.get(c.verdict.validation, c.verdict.validation)
        public = public_credential(c.secret) if c.verdict.validation == PUBLIC else None
        if public is not None:
            props["public"] = public
            message = (
                f"{h.detector.secret_type} {shown}{where} is a public value ({public}, published in its "
                "documentation): not a leak, but anything deployed with it is open to anyone who reads "
                "that documentation; set a private value where it is deployed."
            )
        else:
            message = (
                f"{h.detector.secret_type} {shown}{where} is hard-coded ({how}); "
                "revoke it and load it from the environment or a secret manager."
            )
        in_segment = seg is not None
        return Finding(
            rule_id=rule.id,
            severity=severity,
            message=message,
            path=path,
            start_line=h.line,
            end_line=h.end_line if h.end_line != h.line else None,
            # A PEM block's body starts after its header line; the finding starts with the block.
            start_column=1 if in_segment or h.detector.multiline else h.column,
            end_column=None if in_segment or h.end_line != h.line else h.column + (c.end - c.start),
            snippet=redact_line(h.line_text, spans, c.start - h.line_start),
            key="sha1:" + secret_hash(c.secret),
            properties=props,
        )


# `KEY: value` (a Secret's data entry) or `"auth": "value",` (a docker config): key, value, tail.
_KEYED_LINE = re.compile(r'^(\s*"?[^":#]+"?\s*:\s*)("?)([^"]*)("?,?\s*)$')
_ENCODED_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def _masked_line(line: str) -> str:
    m = _KEYED_LINE.match(line)
    if m is not None and m.group(3).strip():
        return (m.group(1) + m.group(2) + redact(m.group(3).strip()) + m.group(4)).strip()
    return _ENCODED_RUN.sub(lambda run: redact(run.group(0)), line).strip()


def _with_file_lines(findings: list[Finding], lines: list[str]) -> list[Finding]:
    """A secret found in decoded data (a Kubernetes Secret's `data:`, a docker config's `auth`) is
    shown on the file's own line with the encoded value masked, not on the decoded text the
    detectors read (`KEY = "..."` is not what the file says)."""
    out = []
    for f in findings:
        if 1 <= f.start_line <= len(lines):
            f = f.evolve(snippet=_masked_line(lines[f.start_line - 1])[:200])
        out.append(f)
    return out
