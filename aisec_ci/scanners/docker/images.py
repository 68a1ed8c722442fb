"""Container image references: `[registry/]repository[:tag][@digest]`."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_REGISTRY = "docker.io"


@dataclass(frozen=True)
class ImageRef:
    registry: str
    """`docker.io` when the reference names none."""
    repository: str
    """Path inside the registry; Docker Hub official images get `library/`."""
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """Last path component (`nvidia/cuda` -> `cuda`)."""
        return self.repository.rsplit("/", 1)[-1]

    @property
    def full_name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def short(self) -> str:
        """How people write it: without the implicit registry and `library/`."""
        repo = self.repository
        if self.registry == DEFAULT_REGISTRY:
            repo = repo.removeprefix("library/")
            return repo
        return f"{self.registry}/{repo}"

    def matches(self, patterns: Iterable[str]) -> bool:
        """Whether a glob in `patterns` matches this image (with or without tag, short or full name)."""
        forms = {self.short, self.full_name}
        if self.tag:
            forms |= {f"{self.short}:{self.tag}", f"{self.full_name}:{self.tag}"}
        for pattern in patterns:
            p = pattern.strip()
            if any(fnmatch.fnmatchcase(form, p) for form in forms):
                return True
        return False


def parse_image(ref: str) -> ImageRef | None:
    """Parse an image reference; None for an empty or obviously malformed one."""
    ref = ref.strip()
    if not ref or any(c.isspace() for c in ref):
        return None
    digest: str | None = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag: str | None = None
    last_slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > last_slash:
        ref, tag = ref[:colon], ref[colon + 1 :]
    first, sep, rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first.lower(), rest
    else:
        registry, repository = DEFAULT_REGISTRY, ref
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    if not repository:
        return None
    return ImageRef(registry, repository.lower(), tag or None, digest or None)


def registry_allowed(image: ImageRef, allowed: Iterable[str]) -> bool:
    """Whether `image` comes from one of `allowed` (registry hosts or `host/path` prefixes)."""
    full = image.full_name
    for entry in allowed:
        e = entry.strip().lower().rstrip("/")
        if not e:
            continue
        if e in ("docker.io", "index.docker.io", "hub.docker.com"):
            if image.registry == DEFAULT_REGISTRY:
                return True
            continue
        if "/" not in e and image.registry == e:
            return True
        if full == e or full.startswith(e + "/"):
            return True
        if image.short == e or image.short.startswith(e + "/"):
            return True
    return False
