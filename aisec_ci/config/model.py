"""The configuration's data model: what `.aisec.yml` becomes once validated, and where it lives.

Kept apart from the loader so that a scan without a config file never imports
the YAML parser, the JSON Schema validator or the glob library.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aisec_ci.errors import ConfigError
from aisec_ci.severity import Severity

CONFIG_NAMES = (".aisec.yml", ".aisec.yaml")

# Keys that belong to the core; everything else at the top level must be a scanner section.
CORE_KEYS = (
    "scanners",
    "fail-on",
    "profile",
    "min-severity",
    "roles",
    "include",
    "exclude",
    "max-file-size",
    "max-model-size",
    "max-file-seconds",
    "max-file-memory",
    "baseline",
    "rules",
    "ignores",
)
# Keys whose empty YAML value (`rules:` with nothing under it) means "nothing configured".
EMPTY_MEANS_DEFAULT = ("scanners", "include", "exclude", "rules", "ignores", "roles")

# A config file is a few hundred values; anything far larger is an alias bomb or a mistake.
MAX_VALUES = 100_000
MAX_ERRORS = 20

DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KkMmGgTt][Ii]?[Bb]|[Bb])?\s*$")
_SIZE_FACTORS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


@dataclass(frozen=True)
class RuleOverride:
    """A per-rule setting from the `rules:` section."""

    enabled: bool | None = None
    """False disables the rule, True enables a rule that ships disabled; None leaves it alone."""
    severity: Severity | None = None
    """Replaces the severity of every finding of this rule."""
    reason: str = ""


@dataclass(frozen=True)
class IgnoreEntry:
    """One entry of `ignores:`. At least one of rule, path, fingerprint and advisory is set."""

    rule: str | None
    """Rule id or fnmatch glob (`secrets/*`)."""
    path: str | None
    """Gitignore-style glob of repository-relative paths."""
    fingerprint: str | None
    reason: str
    until: dt.date | None
    """Last day the entry suppresses; from the next day on it has expired."""
    line: int
    """1-based line of the entry in the config file."""
    advisory: str | None = None
    """An advisory id a dependency finding reports (its `advisory_id` or one of its `aliases`),
    the way pip-audit's --ignore-vuln and osv-scanner's IgnoredVulns name a vulnerability."""

    def describe(self) -> str:
        """What the entry matches, for messages: `rule 'x' on path 'y'`."""
        parts = []
        if self.rule is not None:
            parts.append(f"rule '{self.rule}'")
        if self.path is not None:
            parts.append(f"path '{self.path}'")
        if self.fingerprint is not None:
            parts.append(f"fingerprint {self.fingerprint}")
        if self.advisory is not None:
            parts.append(f"advisory {self.advisory}")
        return " on ".join(parts) if parts else "everything"


@dataclass(frozen=True)
class Config:
    """The validated configuration; the defaults when there is no file."""

    path: Path | None = None
    """Absolute path of the file read, or None for the defaults."""
    scanners: tuple[str, ...] | None = None
    """Enabled scanner names; None means every installed scanner."""
    fail_on: Severity | None = None
    """The gate threshold (None with `fail_on_set` means `none`: never fail)."""
    fail_on_set: bool = False
    """Whether the file set `fail-on` at all (otherwise the CLI default applies)."""
    profile: str | None = None
    """`default`, `strict` or `audit`; None: not set (the CLI's choice, else default)."""
    min_severity: Severity | None = None
    """Lowest severity the text and markdown reports show (display only)."""
    role_paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """`roles: <role>: paths:` globs by role name."""
    role_policies: Mapping[str, str] = field(default_factory=dict)
    """`roles: <role>: policy:` (report, lower, skip) by role name."""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_file_size: int | None = None
    max_model_size: int | None = None
    max_file_seconds: float | None = None
    max_file_memory: int | None = None
    baseline: str | None = None
    """Baseline path as written, relative to the repository root."""
    rules: Mapping[str, RuleOverride] = field(default_factory=dict)
    ignores: tuple[IgnoreEntry, ...] = ()
    scanner_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Each scanner's section, validated against its options schema. Plain dicts
    (not proxies) so the config pickles into worker processes."""

    def relpath(self, root: Path) -> str | None:
        """The config file's path relative to `root` with `/`, or None when it lies outside."""
        if self.path is None:
            return None
        try:
            return self.path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return None


def parse_size(value: int | str) -> int:
    """Bytes from an int or a string like `10MiB`, `1.5GB`, `512`; ValueError when malformed."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size")
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"{value} is not a positive size")
        return value
    m = SIZE_RE.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a size such as 10MiB")
    number, unit = m.group(1), (m.group(2) or "b").lower()
    size = int(float(number) * _SIZE_FACTORS[unit])
    if size < 1:
        raise ValueError(f"{value!r} is not a positive size")
    return size


def find_config(root: Path) -> Path | None:
    """`.aisec.yml` or `.aisec.yaml` in `root`; both present is an error (one would be ignored)."""
    found = [root / name for name in CONFIG_NAMES if (root / name).is_file()]
    if len(found) > 1:
        raise ConfigError(f"{root}: both {CONFIG_NAMES[0]} and {CONFIG_NAMES[1]} exist; keep one")
    return found[0] if found else None
