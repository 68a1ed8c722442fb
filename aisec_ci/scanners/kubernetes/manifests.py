"""Kubernetes objects of one file: parsing, Lists, Helm detection, and the
context every check uses to build findings."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import SkipFile
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SourceFile
from aisec_ci.yamlfile.values import YamlError, YMap, load_documents

# A Go-template action as Helm (or any Go text/template) writes it: `{{ .Values.x }}`,
# `{{- if ... }}`, `{{ include ... }}`. Argo's `{{inputs.parameters.x}}` and
# Prometheus-adapter's `{{.Series}}` inside quoted strings are not templates of the
# file itself, so only an action that starts a line or a value is taken as one.
# Only spaces and tabs are skipped (never newlines), which keeps the search linear.
_GO_TEMPLATE_RE = re.compile(
    r"(?m)(?:^[ \t]*(?:-[ \t]*)?|:[ \t]*\"?)\{\{-?[ \t]*(?:\.|\$|/\*|(?:if|else|end|range|with|include|template|define|"
    r"toYaml|tpl|required|default|quote|printf|nindent|indent)\b)"
)


def looks_like_go_template(text: str) -> bool:
    return _GO_TEMPLATE_RE.search(text) is not None


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


def _manifest(doc: YMap) -> Manifest | None:
    kind = doc.get("kind")
    api = doc.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api, str):
        return None
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return Manifest(
        doc=doc,
        kind=kind,
        api_version=api,
        name=name if isinstance(name, str) else "",
        namespace=namespace if isinstance(namespace, str) else "",
        line=doc.line,
    )


def _expand(doc: YMap, depth: int = 0) -> Iterator[Manifest]:
    manifest = _manifest(doc)
    if manifest is None:
        return
    items = doc.get("items")
    if manifest.kind.endswith("List") and isinstance(items, list) and depth < 3:
        for item in items:
            if isinstance(item, YMap):
                yield from _expand(item, depth + 1)
        return
    yield manifest


def parse_manifests(file: SourceFile) -> list[Manifest]:
    """All objects in the file; SkipFile for templates and unparseable YAML."""
    text = file.text
    if looks_like_go_template(text):
        raise SkipFile(
            "Helm/Go template with {{ }} directives: not valid YAML until rendered "
            "(run `helm template` and scan the rendered output)"
        )
    try:
        docs = load_documents(text)
    except YamlError as exc:
        raise SkipFile(exc.reason) from None
    out: list[Manifest] = []
    for doc in docs:
        if isinstance(doc.value, YMap):
            out.extend(_expand(doc.value))
    return out


KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_PATCH_KEYS = ("patchesStrategicMerge", "patches", "patchesJson6902")


def kustomize_patches(directory: Path) -> frozenset[str]:
    """Normalised absolute paths of the patch files a directory's kustomization names."""
    out: set[str] = set()
    for name in KUSTOMIZATION_NAMES:
        path = directory / name
        try:
            # Never follow a symlink here: the workspace keeps scans inside the root.
            if path.is_symlink() or not path.is_file() or path.stat().st_size > 1_000_000:
                continue
            docs = load_documents(path.read_text(encoding="utf-8", errors="replace"), max_documents=2)
        except (OSError, YamlError):
            continue
        for doc in docs:
            if not isinstance(doc.value, YMap):
                continue
            for key in _PATCH_KEYS:
                items = doc.value.get(key)
                for item in items if isinstance(items, list) else ():
                    ref = item.get("path") if isinstance(item, YMap) else item
                    if isinstance(ref, str) and "\n" not in ref:
                        out.add(os.path.normpath(os.path.join(str(directory), ref)))
    return frozenset(out)


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


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str))
    return ()


def parse_allowlist(options: Mapping[str, Any]) -> tuple[AllowEntry, ...]:
    entries = []
    for raw in options.get("allowlist") or ():
        if not isinstance(raw, Mapping) or not str(raw.get("reason") or "").strip():
            continue  # the schema requires a reason; never allow silently
        entries.append(
            AllowEntry(
                reason=str(raw["reason"]).strip(),
                images=_strings(raw.get("images", raw.get("image"))),
                namespaces=_strings(raw.get("namespaces", raw.get("namespace"))),
                names=_strings(raw.get("names", raw.get("name"))),
                rules=_strings(raw.get("rules")),
            )
        )
    return tuple(entries)


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
            )
        )
