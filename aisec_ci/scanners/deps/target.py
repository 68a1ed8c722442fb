"""The environment a project installs into, and whether a dependency's environment marker can hold there.

`Jinja2==2.11.2 ; python_version < "3.0"` is never installed on the Python 3
the project targets, so auditing it reports a package nobody runs. pip (and so
pip-audit) evaluates markers for the interpreter at hand; a scanner runs
somewhere else, so the target comes from the project: the nearest
`requires-python` (pyproject.toml `[project]`, Poetry's `python` dependency,
setup.cfg `python_requires`) or the deps options `python_version` and
`platform`. A range of Pythons keeps a pin when its marker holds for at least
one minor version in the range, so only pins that can never be installed drop.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aisec_ci.scanners.deps.model import Dependency

# Python 3 minor versions a range is expanded over: every 3.x released or in beta. A range with no
# upper bound ends here, which is enough for markers (they compare against named versions).
_MINORS = tuple(f"3.{n}" for n in range(0, 16))
# A declared range may still reach back to Python 2 (`>=2.7`); with no declaration, only Python 3 counts.
_CANDIDATES = ("2.7", *_MINORS)
# Patch levels tried per minor: a marker on `python_full_version` can split a minor series.
_PATCHES = ("0", "99")

PLATFORMS: dict[str, tuple[dict[str, str], ...]] = {
    # One environment per machine type commonly deployed: a marker on `platform_machine` keeps its pin
    # if either could run the code.
    "linux": (
        {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
        {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"},
    ),
    "macos": (
        {"os_name": "posix", "sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
        {"os_name": "posix", "sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "x86_64"},
    ),
    "windows": ({"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"},),
}
PLATFORM_CHOICES = (*PLATFORMS, "any")
DEFAULT_PLATFORM = "linux"
_UNKNOWABLE = ("platform_release", "platform_version")
_COMMON = {"implementation_name": "cpython", "platform_python_implementation": "CPython"}


@dataclass(frozen=True)
class Target:
    """Python minor versions and a platform name; `source` says where the versions came from."""

    minors: tuple[str, ...]
    platform: str
    source: str

    def describe(self) -> str:
        if not self.minors:
            pythons = "no Python 3 version"
        elif len(self.minors) == 1:
            pythons = f"Python {self.minors[0]}"
        else:
            pythons = f"Python {self.minors[0]}-{self.minors[-1]}"
        where = "any platform" if self.platform == "any" else self.platform
        return f"{pythons} on {where} ({self.source})"


def minors_in(spec: str) -> tuple[str, ...] | None:
    """The minors a `requires-python` specifier allows (any patch level of the minor counts), or
    None when the text is not a specifier set or allows none we know."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = spec.strip()
    if re.fullmatch(r"\d+(\.\d+)*", text):
        text = f"=={text}.*" if text.count(".") < 2 else f"=={text}"
    try:
        specs = SpecifierSet(text)
    except InvalidSpecifier:
        return None
    found = tuple(m for m in _CANDIDATES if any(specs.contains(f"{m}.{p}", prereleases=True) for p in _PATCHES))
    return found or None


def poetry_minors(constraint: str) -> tuple[str, ...] | None:
    """Poetry's `python = "^3.9"` / `"~3.10"` / `">=3.9,<3.13"` / `"3.10.*"`, with `||` alternatives."""
    found: set[str] = set()
    for alternative in constraint.split("||"):
        parts: list[str] = []
        for item in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", alternative.strip()):
            if not item:
                continue
            parts.extend(_poetry_part(item))
        minors = minors_in(",".join(parts)) if parts else _MINORS
        found.update(minors or ())
    return tuple(m for m in _CANDIDATES if m in found) or None


def _poetry_part(item: str) -> list[str]:
    if item == "*":
        return []
    m = re.fullmatch(r"([\^~])\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", item)
    if m:
        op, major, minor, patch = m.group(1), int(m.group(2)), m.group(3), m.group(4)
        low = ".".join(x for x in (str(major), minor, patch) if x is not None)
        if op == "^":
            # ^3.9 means >=3.9,<4.0 (the first non-zero component stays).
            return [f">={low}", f"<{major + 1}"] if major else [f">={low}", f"<0.{int(minor or 0) + 1}"]
        # ~3.9 means >=3.9,<3.10; ~3 means >=3,<4.
        return [f">={low}", f"<{major}.{int(minor) + 1}"] if minor is not None else [f">={low}", f"<{major + 1}"]
    if re.fullmatch(r"\d+(\.\d+)*(\.\*)?", item):
        return [f"=={item}" if "*" in item or item.count(".") >= 2 else f"=={item}.*"]
    return [item]


def requires_python(path: str, text: str) -> str | None:
    """The Python requirement a pyproject.toml or setup.cfg states, as written, or None."""
    name = path.rsplit("/", 1)[-1].lower()
    if name == "pyproject.toml":
        from aisec_ci.scanners.deps.model import ManifestError
        from aisec_ci.scanners.deps.sources.textpos import load_toml

        try:
            data = load_toml(path, text)
        except ManifestError:
            return None
        project = data.get("project")
        if isinstance(project, dict) and isinstance(project.get("requires-python"), str):
            return str(project["requires-python"])
        poetry = _table(data, "tool", "poetry", "dependencies")
        value = poetry.get("python") if poetry else None
        if isinstance(value, dict):
            value = value.get("version")
        return f"poetry:{value}" if isinstance(value, str) else None
    if name == "setup.cfg":
        m = re.search(r"^\[options\][^\[]*?^python_requires\s*[=:]\s*(.+?)\s*$", text, re.MULTILINE | re.DOTALL)
        return m.group(1).strip().strip("'\"") if m else None
    return None


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any] | None:
    node: Any = data
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def configured_minors(value: Any) -> tuple[str, ...] | None:
    """The `python_version` option: one version (`"3.11"`) or a specifier set (`">=3.9,<3.13"`)."""
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return minors_in(value)


class Targets:
    """The target of each manifest: the configured Python, else the nearest requires-python
    at or above the manifest's directory, else every Python 3."""

    def __init__(self, project_files: Mapping[str, str], python_version: Any = None, platform: str = "") -> None:
        self.platform = platform if platform in PLATFORM_CHOICES else DEFAULT_PLATFORM
        self._fixed: Target | None = None
        if python_version is not None and str(python_version).strip():
            minors = configured_minors(python_version)
            if minors is not None:
                self._fixed = Target(minors, self.platform, f"deps option python_version {python_version}")
        # directory -> (file, requirement) for each directory holding a pyproject.toml or setup.cfg
        # that states one; a pyproject wins over a setup.cfg beside it.
        self._declared: dict[str, tuple[str, str]] = {}
        for path in sorted(project_files, key=lambda p: (p.rsplit("/", 1)[-1].lower() != "pyproject.toml", p)):
            stated = requires_python(path, project_files[path])
            if stated is not None:
                self._declared.setdefault(posixpath.dirname(path), (path, stated))
        self._cache: dict[str, Target] = {}

    @property
    def configured(self) -> bool:
        return self._fixed is not None

    def for_manifest(self, path: str) -> Target:
        if self._fixed is not None:
            return self._fixed
        folder = posixpath.dirname(path)
        if folder not in self._cache:
            self._cache[folder] = self._lookup(folder)
        return self._cache[folder]

    def _lookup(self, folder: str) -> Target:
        here = folder
        while True:
            if here in self._declared:
                origin, stated = self._declared[here]
                if stated.startswith("poetry:"):
                    minors = poetry_minors(stated.removeprefix("poetry:"))
                    shown = f"python {stated.removeprefix('poetry:')}"
                else:
                    minors = minors_in(stated)
                    shown = f"requires-python {stated}"
                if minors is not None:
                    return Target(minors, self.platform, f"{shown} in {origin}")
            if not here:
                break
            here = posixpath.dirname(here)
        return Target(_MINORS, self.platform, "no requires-python found: every Python 3")


MAX_MARKERS = 2_000
"""Distinct markers evaluated per run. A marker costs up to a few hundred microseconds (one evaluation
per Python and machine of the target); real repositories have dozens. Past the budget a pin is kept and
audited, which is the answer that never hides a vulnerability."""


class MarkerCheck:
    """Whether a dependency's marker can hold on its target, each distinct question answered once."""

    def __init__(self, budget: int = MAX_MARKERS) -> None:
        self.budget = budget
        self.unevaluated = 0
        """Pins kept without evaluating their marker because the budget was spent."""
        self._answers: dict[tuple[str, tuple[str, ...], str, str], bool] = {}

    def can_install(self, dep: Dependency, target: Target) -> bool:
        """False only when the marker parses and is false for every Python and machine of the target."""
        if not dep.marker:
            return True
        key = (dep.marker, target.minors, target.platform, dep.group)
        answer = self._answers.get(key)
        if answer is None:
            if len(self._answers) >= self.budget:
                self.unevaluated += 1
                return True
            answer = self._answers[key] = _marker_possible(*key)
        return answer


def _environments(marker: str, minors: tuple[str, ...], platform: str, group: str) -> list[dict[str, str]]:
    """One environment per combination of the target's values, keeping only combinations that differ
    in a name the marker mentions (a marker on python_version alone needs one per minor)."""
    machines: tuple[dict[str, str], ...] = PLATFORMS.get(platform, ())
    if platform == "any":
        machines = tuple(env for envs in PLATFORMS.values() for env in envs)
    seen: set[tuple[str, ...]] = set()
    out: list[dict[str, str]] = []
    for minor in minors:
        for patch in _PATCHES:
            for machine in machines:
                env = {
                    **_COMMON,
                    **machine,
                    "python_version": minor,
                    "python_full_version": f"{minor}.{patch}",
                    "implementation_version": f"{minor}.{patch}",
                    # An `extra == ...` marker holds inside the extra (group) that declares it.
                    "extra": group,
                }
                projected = tuple(value for name, value in sorted(env.items()) if name in marker)
                if projected not in seen:
                    seen.add(projected)
                    out.append(env)
    return out


def _marker_possible(marker: str, minors: tuple[str, ...], platform: str, group: str) -> bool:
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

    if any(name in marker for name in _UNKNOWABLE):
        return True  # the kernel or build string of the target machine: not knowable here
    try:
        parsed = Marker(marker)
    except InvalidMarker:
        return True  # unreadable: audit it rather than guess it away
    for env in _environments(marker, minors, platform, group):
        try:
            if parsed.evaluate(env):
                return True
        except (UndefinedComparison, UndefinedEnvironmentName, ValueError, TypeError):
            return True
    return False
