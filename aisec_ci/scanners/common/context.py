"""The per-file finding context of object files (Kubernetes manifests, cloud
templates and policies): the object being checked, the config allowlist, and
the one place findings are built, with credentials masked in snippets."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SourceFile
from aisec_ci.yamlfile.values import YMap


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object (a List's items are objects of their own)."""

    doc: YMap
    kind: str
    api_version: str
    name: str
    namespace: str
    line: int

    @property
    def metadata(self) -> YMap | None:
        meta = self.doc.get("metadata")
        return meta if isinstance(meta, YMap) else None

    @property
    def spec(self) -> YMap | None:
        spec = self.doc.get("spec")
        return spec if isinstance(spec, YMap) else None

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind


@dataclass(frozen=True)
class AllowEntry:
    """One config allowlist entry: privileged infrastructure accepted with a reason."""

    reason: str
    images: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def matches(self, rule_id: str, image: str, namespace: str, name: str) -> bool:
        if self.rules and rule_id not in self.rules:
            return False
        if self.images and not any(fnmatch.fnmatchcase(image, p) for p in self.images):
            return False
        if self.namespaces and not any(fnmatch.fnmatchcase(namespace, p) for p in self.namespaces):
            return False
        return not (self.names and not any(fnmatch.fnmatchcase(name, p) for p in self.names))


# Snippets are copied into SARIF, PR comments and logs: credentials that happen to sit on the
# offending line (a database URI on an `mlflow server` command, a `--password=` flag) are masked.
_URI_CREDENTIALS_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@'\"]+):[^@\s'\"]+@")
_ASSIGNED_SECRET_RE = re.compile(
    r"(?i)((?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key)['\"]?\s*[=:]\s*['\"]?)"
    r"(?!['\"]{2})([^\s'\",]{3,})"
)


def redact(text: str) -> str:
    text = _URI_CREDENTIALS_RE.sub(r"\1:<redacted>@", text)
    return _ASSIGNED_SECRET_RE.sub(r"\1<redacted>", text)


@dataclass
class Context:
    """Per-file state shared by the checks: the file, options, and finding factory."""

    file: SourceFile
    allowlist: tuple[AllowEntry, ...] = ()
    model_paths: tuple[str, ...] = ()
    partial: bool = False
    """The file is a kustomize patch: it holds only the fields it overrides."""
    findings: list[Finding] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    @contextmanager
    def fragment(self, on: bool = True) -> Iterator[None]:
        """Within the block, fields that are not written are not judged: the object is
        completed elsewhere (a KServe container the ServingRuntime fills in)."""
        old = self.partial
        self.partial = old or on
        try:
            yield
        finally:
            self.partial = old

    def report(
        self,
        rule: Rule,
        line: int,
        message: str,
        *,
        key: str,
        manifest: Manifest | None = None,
        image: str = "",
        severity: Severity | None = None,
        snippet: str | None = None,
        column: int = 1,
        properties: dict[str, Any] | None = None,
        absent: bool = False,
        profile: str = "",
    ) -> None:
        """Add a finding; config-allowlisted workloads are kept, downgraded to info, with the reason.

        `absent` marks findings about a field that is not written at all: a kustomize patch
        states only what it changes, so such findings are dropped for patch files."""
        if absent and self.partial:
            return
        sev = severity if severity is not None else rule.severity
        props: dict[str, Any] = dict(properties or {})
        if manifest is not None:
            props.setdefault("kind", manifest.kind)
            if manifest.name:
                props.setdefault("name", manifest.name)
            message = f"{manifest.label}: {message}"
            ident = f"{manifest.kind}/{manifest.namespace}/{manifest.name}:{key}"
        else:
            ident = key
        # Argo templates share one workflow spec: report its pod-level fields once.
        if (rule.id, ident) in self._seen:
            return
        self._seen.add((rule.id, ident))
        if image:
            props.setdefault("image", image)
        for entry in self.allowlist:
            ns = manifest.namespace if manifest else ""
            nm = manifest.name if manifest else ""
            if (image or entry.namespaces or entry.names) and entry.matches(rule.id, image, ns, nm):
                sev = Severity.INFO
                props["allowlisted"] = entry.reason
                message += f" (allowed by config: {entry.reason})"
                break
        text = redact(self.file.line(line).strip()) if snippet is None else snippet
        self.findings.append(
            Finding(
                rule_id=rule.id,
                severity=sev,
                message=message,
                path=self.file.path,
                start_line=line,
                start_column=column,
                snippet=text[:200],
                key=ident,
                properties=props,
                profile=profile,
            )
        )
