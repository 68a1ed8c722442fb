"""Manifest readers: one module per format, all producing `Dependency` records with file and line."""

from __future__ import annotations

import importlib

from aisec_ci.scanners.deps.model import ManifestError, Parsed
from aisec_ci.scanners.deps.sources.repofiles import RepoFiles
from aisec_ci.workspace.kinds import FileKind

__all__ = ["ManifestError", "Parsed", "RepoFiles", "format_of", "parse_manifest"]


# format -> (module in this package, function, whether it follows includes through RepoFiles)
_READERS: dict[str, tuple[str, str, bool]] = {
    "requirements": ("requirements", "parse_requirements", True),
    "pyproject": ("pyproject", "parse", False),
    "poetry.lock": ("poetry_lock", "parse", False),
    "uv.lock": ("uv_lock", "parse", False),
    "pdm.lock": ("pdm_lock", "parse", False),
    "pylock.toml": ("pylock", "parse", False),
    "Pipfile": ("pipfile", "parse_pipfile", False),
    "Pipfile.lock": ("pipfile", "parse_lock", False),
    "setup.cfg": ("setup_cfg", "parse", False),
    "conda": ("conda", "parse", True),
    "notebook": ("notebook", "parse", True),
    "go.mod": ("go_mod", "parse_go_mod", False),
    "go.sum": ("go_mod", "parse_go_sum", True),
    "package-lock.json": ("npm_lock", "parse", False),
    "yarn.lock": ("yarn_lock", "parse", False),
    "pnpm-lock.yaml": ("pnpm_lock", "parse", False),
    "Cargo.lock": ("cargo_lock", "parse", False),
}

# Lock files of other ecosystems, by lower-cased base name.
_OTHER_LOCKS = {
    "go.mod": "go.mod",
    "go.sum": "go.sum",
    "package-lock.json": "package-lock.json",
    "npm-shrinkwrap.json": "package-lock.json",  # the same format, published with a package
    "yarn.lock": "yarn.lock",
    "pnpm-lock.yaml": "pnpm-lock.yaml",
    "cargo.lock": "Cargo.lock",
}


def format_of(path: str, kind: FileKind) -> str | None:
    """Which reader handles this file, or None when it is not a dependency manifest."""
    name = path.rsplit("/", 1)[-1].lower()
    if name in _OTHER_LOCKS:
        return _OTHER_LOCKS[name]
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
    reader = _READERS.get(fmt)
    if reader is None:
        raise ManifestError(f"{path}: no reader for {fmt}")
    module_name, function, takes_files = reader
    # Each reader is imported on first use: a repository with only requirements files never
    # loads the TOML or YAML parsers.
    parse = getattr(importlib.import_module(f"{__name__}.{module_name}"), function)
    result: Parsed = parse(path, text, files) if takes_files else parse(path, text)
    return result
