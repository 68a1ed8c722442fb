"""A CycloneDX JSON SBOM of every dependency the manifests declare (name, version, purl, origin)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from pathlib import Path

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentScope, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from aisec_ci import __version__
from aisec_ci.outputs import write_output
from aisec_ci.scanners.deps.model import Dependency, PinKind, redact_credentials

# Origins and kinds go into namespaced properties (CycloneDX's extension point).
_NS = "aisec-ci"


def build_sbom(project: str, dependencies: Iterable[Dependency]) -> str:
    """The SBOM as a JSON string. One component per distinct package and version (or specifier),
    with every manifest line that declares it as `aisec-ci:origin` properties."""
    groups: dict[tuple[str, str, str, str], list[Dependency]] = {}
    conda_versions: dict[tuple[str, str], str] = {}
    for dep in dependencies:
        if not dep.canonical.strip("-"):
            continue  # `-e .`: the project itself, which is the SBOM's subject, not a component
        ident = dep.version if dep.kind is PinKind.PINNED else redact_credentials(dep.specifier)
        # The ecosystem sorts after the other parts ("" for PyPI), so a Python-only SBOM keeps its order.
        eco = "" if dep.ecosystem == "PyPI" else dep.ecosystem
        groups.setdefault((dep.canonical, dep.kind.value, ident or "", eco), []).append(dep)
        if dep.kind is PinKind.CONDA and dep.version:
            conda_versions[(dep.canonical, ident or "")] = dep.version
    bom = Bom()
    root = Component(name=project, type=ComponentType.APPLICATION, bom_ref="root")
    bom.metadata.component = root
    components: list[Component] = []
    bom.metadata.properties.add(Property(name=f"{_NS}:generator", value=f"aisec-ci {__version__}"))
    digest = hashlib.sha256()
    for (name, kind, ident, eco), deps in sorted(groups.items()):
        # PyPI components hash as they always did, so a Python project's serial number stays put.
        digest.update((f"{name}\0{kind}\0{ident}" + (f"\0{eco}" if eco else "") + "\n").encode())
        purl_type = "conda" if kind == PinKind.CONDA.value else _PURL_TYPES.get(eco, "pypi")
        version = ident if kind == PinKind.PINNED.value else conda_versions.get((name, ident))
        if version is None and eco and deps[0].version:
            version = deps[0].version  # a checkout or local crate that still states its version
        props = [Property(name=f"{_NS}:kind", value=kind)]
        if kind != PinKind.PINNED.value and ident:
            props.append(Property(name=f"{_NS}:specifier", value=ident))
        for origin in sorted({f"{d.path}:{d.line}" for d in deps}):
            props.append(Property(name=f"{_NS}:origin", value=origin))
        components.append(
            Component(
                name=deps[0].name if len({d.name for d in deps}) == 1 else name,
                version=version,
                type=ComponentType.LIBRARY,
                scope=ComponentScope.REQUIRED,
                purl=_purl(purl_type, name, version),
                bom_ref=f"{purl_type}:{name}:{kind}:{ident}",
                properties=props,
            )
        )
    for component in components:
        bom.components.add(component)
    bom.register_dependency(root, components)
    # Same dependencies, same serial number: the SBOM diffs cleanly between runs.
    bom.serial_number = uuid.uuid5(uuid.NAMESPACE_URL, "aisec-ci-sbom:" + project + digest.hexdigest())
    return JsonV1Dot6(bom).output_as_string(indent=2)


_PURL_TYPES = {"Go": "golang", "npm": "npm", "crates.io": "cargo"}


def _purl(purl_type: str, name: str, version: str | None) -> PackageURL:
    """The package URL: npm scopes and Go module paths up to the last `/` are the purl namespace
    (`pkg:npm/%40babel/core@7.12.3`, `pkg:golang/golang.org/x/net@v0.7.0`)."""
    if purl_type in ("npm", "golang") and "/" in name:
        namespace, _, short = name.rpartition("/")
        return PackageURL(type=purl_type, namespace=namespace, name=short, version=version)
    return PackageURL(type=purl_type, name=name, version=version)


def write_sbom(path: Path, project: str, dependencies: Iterable[Dependency]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_output(path, build_sbom(project, dependencies) + "\n")
