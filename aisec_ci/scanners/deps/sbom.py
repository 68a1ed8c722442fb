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
    groups: dict[tuple[str, str, str], list[Dependency]] = {}
    conda_versions: dict[tuple[str, str], str] = {}
    for dep in dependencies:
        if not dep.canonical.strip("-"):
            continue  # `-e .`: the project itself, which is the SBOM's subject, not a component
        ident = dep.version if dep.kind is PinKind.PINNED else redact_credentials(dep.specifier)
        groups.setdefault((dep.canonical, dep.kind.value, ident or ""), []).append(dep)
        if dep.kind is PinKind.CONDA and dep.version:
            conda_versions[(dep.canonical, ident or "")] = dep.version
    bom = Bom()
    root = Component(name=project, type=ComponentType.APPLICATION, bom_ref="root")
    bom.metadata.component = root
    components: list[Component] = []
    bom.metadata.properties.add(Property(name=f"{_NS}:generator", value=f"aisec-ci {__version__}"))
    digest = hashlib.sha256()
    for (name, kind, ident), deps in sorted(groups.items()):
        digest.update(f"{name}\0{kind}\0{ident}\n".encode())
        purl_type = "conda" if kind == PinKind.CONDA.value else "pypi"
        version = ident if kind == PinKind.PINNED.value else conda_versions.get((name, ident))
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
                purl=PackageURL(type=purl_type, name=name, version=version),
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


def write_sbom(path: Path, project: str, dependencies: Iterable[Dependency]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_output(path, build_sbom(project, dependencies) + "\n")
