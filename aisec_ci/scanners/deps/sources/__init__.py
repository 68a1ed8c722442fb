"""Manifest readers: one module per format, all producing `Dependency` records with file and line."""

from __future__ import annotations

from aisec_ci.scanners.deps.model import ManifestError, Parsed
from aisec_ci.scanners.deps.sources import (
    conda,
    notebook,
    pdm_lock,
    pipfile,
    poetry_lock,
    pylock,
    pyproject,
    requirements,
    setup_cfg,
    uv_lock,
)
from aisec_ci.scanners.deps.sources.repofiles import RepoFiles
from aisec_ci.workspace.kinds import FileKind

__all__ = ["ManifestError", "Parsed", "RepoFiles", "format_of", "parse_manifest"]


def format_of(path: str, kind: FileKind) -> str | None:
    """Which reader handles this file, or None when it is not a dependency manifest."""
    name = path.rsplit("/", 1)[-1].lower()
    if name == "poetry.lock":
        return "poetry.lock"
    if name == "uv.lock":
        return "uv.lock"
    if name == "pdm.lock":
        return "pdm.lock"
    if name == "pipfile.lock":
        return "Pipfile.lock"
    if name == "pipfile" or kind is FileKind.PIPFILE:
        return "Pipfile"
    if name.startswith("pylock.") and name.endswith(".toml"):
        return "pylock.toml"
    if name == "pyproject.toml" or kind is FileKind.PYPROJECT:
        return "pyproject"
    if name == "setup.cfg" or kind is FileKind.SETUP_CFG:
        return "setup.cfg"
    if kind is FileKind.CONDA_ENV:
        return "conda"
    if kind is FileKind.NOTEBOOK or name.endswith(".ipynb"):
        return "notebook"
    if kind is FileKind.REQUIREMENTS:
        return "requirements"
    return None


def parse_manifest(path: str, text: str, fmt: str, files: RepoFiles | None) -> Parsed:
    """Parse one manifest; raises ManifestError when the file cannot be read at all."""
    if "\x00" in text:
        raise ManifestError(f"{path}: binary content (NUL bytes), not a {fmt} file")
    if fmt == "requirements":
        return requirements.parse_requirements(path, text, files)
    if fmt == "pyproject":
        return pyproject.parse(path, text)
    if fmt == "poetry.lock":
        return poetry_lock.parse(path, text)
    if fmt == "uv.lock":
        return uv_lock.parse(path, text)
    if fmt == "pdm.lock":
        return pdm_lock.parse(path, text)
    if fmt == "pylock.toml":
        return pylock.parse(path, text)
    if fmt == "Pipfile":
        return pipfile.parse_pipfile(path, text)
    if fmt == "Pipfile.lock":
        return pipfile.parse_lock(path, text)
    if fmt == "setup.cfg":
        return setup_cfg.parse(path, text)
    if fmt == "conda":
        return conda.parse(path, text, files)
    if fmt == "notebook":
        return notebook.parse(path, text, files)
    raise ManifestError(f"{path}: no reader for {fmt}")
