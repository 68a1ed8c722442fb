"""Kubernetes objects of one file: parsing, Lists, Helm detection, and the
context every check uses to build findings."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.common.context import AllowEntry, Manifest
from aisec_ci.scanners.common.treewalk import walk_tree
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.reading import read_bounded_text
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
    # Every action holds `{{`: a memchr-speed test spares most files the multi-line regex.
    return "{{" in text and _GO_TEMPLATE_RE.search(text) is not None


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


_CRD_KIND = re.compile(r"(?m)^kind:[ \t]*[\"']?CustomResourceDefinition\b")


def without_crd_bodies(text: str) -> str:
    """`text` with every CustomResourceDefinition document blanked, line for line.

    No check reads a CRD, and a CRD is most of the bytes of an operator's manifests: a full
    OpenAPI schema is megabytes of YAML (kserve's InferenceService CRD is 2 MB, its install
    bundles 3.6 MB). Blank lines keep every other document's line numbers, and a schema's
    description text can no longer pass for a Go template."""
    if "CustomResourceDefinition" not in text:
        return text
    starts = [0]
    at = text.find("\n---")
    while at >= 0:  # str.find runs at memchr speed; a `^---` regex tries every position
        starts.append(at + 1)
        at = text.find("\n---", at + 4)
    parts: list[str] = []
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        doc = text[begin:end]
        if "CustomResourceDefinition" in doc and _CRD_KIND.search(doc):
            # Keep the separator line (a document boundary) and one newline per line.
            head, sep, _ = doc.partition("\n") if doc.startswith("---") else ("", "", doc)
            parts.append(head + sep + "\n" * (doc.count("\n") - (1 if sep else 0)))
        else:
            parts.append(doc)
    return "".join(parts)


def parse_manifests(file: SourceFile, text: str | None = None) -> list[Manifest]:
    """All objects in the file but CRDs; SkipFile for templates and unparseable YAML.
    `text`: the file's text with its CRDs blanked already (`without_crd_bodies`)."""
    text = without_crd_bodies(file.text) if text is None else text
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


def _kustomizations(directory: Path) -> Iterator[YMap]:
    """The mapping documents of a directory's kustomization file(s); unreadable ones yield nothing."""
    for name in KUSTOMIZATION_NAMES:
        path = directory / name
        try:
            # Never follow a symlink here: the workspace keeps scans inside the root.
            if path.is_symlink():
                continue
            docs = load_documents(read_bounded_text(path, 1_000_000), max_documents=2)
        except (OSError, YamlError):
            continue
        yield from (doc.value for doc in docs if isinstance(doc.value, YMap))


def kustomize_patches(directory: Path) -> frozenset[str]:
    """Normalised absolute paths of the patch files a directory's kustomization names."""
    out: set[str] = set()
    for doc in _kustomizations(directory):
        for key in _PATCH_KEYS:
            items = doc.get(key)
            for item in items if isinstance(items, list) else ():
                ref = item.get("path") if isinstance(item, YMap) else item
                if isinstance(ref, str) and ref.strip() and "\n" not in ref:
                    out.update(_patch_files(os.path.normpath(os.path.join(str(directory), ref.strip()))))
    return frozenset(out)


def kustomize_images(directory: Path) -> frozenset[str]:
    """Image names a directory's kustomization rewrites with its `images:` transformer."""
    out: set[str] = set()
    for doc in _kustomizations(directory):
        items = doc.get("images")
        for item in items if isinstance(items, list) else ():
            ref = item.get("name") if isinstance(item, YMap) else None
            if isinstance(ref, str) and ref.strip():
                out.add(ref.strip())
    return frozenset(out)


def _patch_files(path: str) -> Iterator[str]:
    """The path itself, or every file below it when a kustomization names a directory."""
    if not os.path.isdir(path) or os.path.islink(path):
        yield path
        return
    for base, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(base, d)))
        for name in names:
            yield os.path.normpath(os.path.join(base, name))


def _kustomization_dirs(root: Path, limit: int) -> Iterator[Path]:
    """Directories below `root` holding a kustomization (a bounded walk: see treewalk.py)."""
    for base, names in walk_tree(root, limit):
        if any(n in KUSTOMIZATION_NAMES for n in names):
            yield Path(base)


def kustomize_images_under(root: Path, limit: int = 20_000) -> frozenset[str]:
    """Every image name some kustomization below `root` sets the tag or digest of: the tag
    written in the manifest (often none, or `:latest`) is not the one that is deployed."""
    return frozenset(name for d in _kustomization_dirs(root, limit) for name in kustomize_images(d))


def kustomize_patches_under(root: Path, limit: int = 20_000) -> frozenset[str]:
    """The patch files every kustomization below `root` names, wherever they sit: a patch is
    often kept beside the overlay that uses it, or shared from `../../patches/`."""
    return frozenset(path for d in _kustomization_dirs(root, limit) for path in kustomize_patches(d))


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
