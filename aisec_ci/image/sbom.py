"""A CycloneDX SBOM of an image: every OS package and every installed Python distribution, each
with its package URL, the file that records it and the layer that put it there."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from aisec_ci import __version__
from aisec_ci.outputs import write_output
from aisec_ci.scanners.deps.model import PinKind

_NS = "aisec-ci"


def build_image_sbom(image: str, packages: Mapping[str, Any]) -> str:
    bom = Bom()
    root = Component(name=image, type=ComponentType.CONTAINER, bom_ref="image")
    bom.metadata.component = root
    bom.metadata.properties.add(Property(name=f"{_NS}:generator", value=f"aisec-ci {__version__}"))
    components: list[Component] = []
    digest = hashlib.sha256()
    distro = packages.get("distro")
    layers: Mapping[tuple[str, str], int] = packages.get("os_layers", {})
    for pkg in sorted(packages.get("os", ()), key=lambda p: (p.name, p.version, p.arch)):
        purl = _os_purl(pkg, distro)
        ref = f"{purl.to_string()}#{pkg.path}"
        digest.update((ref + "\n").encode())
        props = [Property(name=f"{_NS}:path", value=f"{pkg.path}:{pkg.line}")]
        layer = layers.get((pkg.name, pkg.version))
        if layer is not None:
            props.append(Property(name=f"{_NS}:layer", value=str(layer)))
        if pkg.source and pkg.source != pkg.name:
            props.append(Property(name=f"{_NS}:source-package", value=pkg.source))
        components.append(
            Component(
                name=pkg.name,
                version=pkg.version,
                type=ComponentType.LIBRARY if pkg.name.startswith("lib") else ComponentType.APPLICATION,
                purl=purl,
                bom_ref=ref,
                properties=props,
            )
        )
    for dep, layer in packages.get("python", ()):
        conda = dep.kind is PinKind.CONDA
        purl = PackageURL(type="conda" if conda else "pypi", name=dep.canonical, version=dep.version)
        ref = f"{purl.to_string()}#{dep.path}"
        digest.update((ref + "\n").encode())
        components.append(
            Component(
                name=dep.name,
                version=dep.version,
                type=ComponentType.LIBRARY,
                purl=purl,
                bom_ref=ref,
                properties=[
                    Property(name=f"{_NS}:path", value=dep.path),
                    Property(name=f"{_NS}:layer", value=str(layer)),
                ],
            )
        )
    for component in components:
        bom.components.add(component)
    bom.register_dependency(root, components)
    bom.serial_number = uuid.uuid5(uuid.NAMESPACE_URL, "aisec-ci-image-sbom:" + image + digest.hexdigest())
    return JsonV1Dot6(bom).output_as_string(indent=2)


def _os_purl(pkg: Any, distro: Any) -> PackageURL:
    """`pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12`, `pkg:apk/alpine/musl@1.2.4-r2?...`."""
    namespace = str(getattr(distro, "id", "") or ("alpine" if pkg.kind == "apk" else "debian"))
    qualifiers: dict[str, str] = {}
    if pkg.arch:
        qualifiers["arch"] = pkg.arch
    if distro is not None and distro.version_id:
        qualifiers["distro"] = f"{distro.id}-{distro.version_id}"
    if pkg.source and pkg.source != pkg.name:
        qualifiers["upstream"] = pkg.source
    return PackageURL(type=pkg.kind, namespace=namespace, name=pkg.name, version=pkg.version, qualifiers=qualifiers)


def write_image_sbom(path: Path, image: str, packages: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_output(path, build_image_sbom(image, packages) + "\n")
