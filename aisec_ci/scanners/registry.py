"""Finding scanners: every subpackage of `aisec_ci.scanners` that exposes a
`SCANNER` class, plus third-party scanners installed under the
`aisec_ci.scanners` entry-point group."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from importlib.metadata import entry_points

import aisec_ci.scanners as _pkg
from aisec_ci.core_rules import CORE_RULES
from aisec_ci.rules import RuleCatalog
from aisec_ci.scanners.base import Scanner

ENTRY_POINT_GROUP = "aisec_ci.scanners"


class RegistryError(Exception):
    """A scanner package is broken (missing SCANNER, duplicate name)."""


@lru_cache(maxsize=1)
def all_scanners() -> dict[str, type[Scanner]]:
    """Scanner classes by name, sorted by name. Cached: discovery imports modules."""
    found: dict[str, type[Scanner]] = {}
    for info in pkgutil.iter_modules(_pkg.__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{_pkg.__name__}.{info.name}")
        cls = getattr(module, "SCANNER", None)
        if cls is None:
            continue
        _register(found, cls, f"{_pkg.__name__}.{info.name}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _register(found, ep.load(), f"entry point {ep.name}")
    return dict(sorted(found.items()))


def _register(found: dict[str, type[Scanner]], cls: object, origin: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Scanner)) or not cls.name:
        raise RegistryError(f"{origin}: SCANNER must be a named Scanner subclass")
    if cls.name in found and found[cls.name] is not cls:
        raise RegistryError(f"{origin}: scanner name {cls.name!r} is already registered")
    found[cls.name] = cls


def scanner_names() -> list[str]:
    return list(all_scanners())


@lru_cache(maxsize=1)
def catalog() -> RuleCatalog:
    """Every rule: the core's and each scanner's."""
    cat = RuleCatalog()
    cat.extend(CORE_RULES)
    for cls in all_scanners().values():
        cat.extend(cls.rules)
    return cat
