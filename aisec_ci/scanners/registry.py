"""Finding scanners: every subpackage of `aisec_ci.scanners` that exposes a
`SCANNER` class, plus third-party scanners installed under the
`aisec_ci.scanners` entry-point group."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from functools import cache, lru_cache
from typing import cast

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
    for package in _builtin_packages():
        cls = _builtin(package)
        if cls is not None:
            _register(found, cls, f"{_pkg.__name__}.{package}")
    # Imported here: reading every installed distribution's metadata is only needed for full discovery.
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _register(found, ep.load(), f"entry point {ep.name}")
    return dict(sorted(found.items()))


@lru_cache(maxsize=1)
def _builtin_packages() -> tuple[str, ...]:
    """Names of the scanner subpackages, listed without importing any of them."""
    return tuple(sorted(info.name for info in pkgutil.iter_modules(_pkg.__path__) if info.ispkg))


@cache
def _builtin(package: str) -> type[Scanner] | None:
    module = importlib.import_module(f"{_pkg.__name__}.{package}")
    cls = getattr(module, "SCANNER", None)
    if cls is None:
        return None
    _register({}, cls, f"{_pkg.__name__}.{package}")
    return cast("type[Scanner]", cls)


def scanners_named(names: Iterable[str]) -> dict[str, type[Scanner]]:
    """The classes of `names` (sorted by name), leaving out names nobody registered.

    Importing every scanner package costs more start-up than a small scan of
    one kind of file takes, so a built-in scanner asked for by the name of its
    package is imported alone; any other name (a plugin) needs full discovery.
    """
    wanted = sorted(set(names))
    packages = set(_builtin_packages())
    found: dict[str, type[Scanner]] = {}
    for name in wanted:
        cls = _builtin(name) if name in packages else None
        if cls is None or cls.name != name:
            available = all_scanners()
            return {n: available[n] for n in wanted if n in available}
        found[name] = cls
    return found


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
    """Every rule: the core's, each scanner's and the `image` command's."""
    cat = catalog_of(all_scanners().values())
    # Imported here: the image rules are plain data, but the image package is not a scanner.
    from aisec_ci.image.rules import image_rules

    cat.add_scanner("image", image_rules())
    return cat


def catalog_of(scanners: Iterable[type[Scanner]]) -> RuleCatalog:
    """The core's rules and those of `scanners` only."""
    cat = RuleCatalog()
    cat.extend(CORE_RULES)
    for cls in scanners:
        cat.add_scanner(cls.name, cls.rules)
    return cat


class KnownRuleIds(AbstractSet[str]):
    """Every registered rule id, discovered on first use.

    Only a file carrying an inline suppression needs the full set (to report
    a directive that names no rule), so a scan that meets none never imports
    the scanners it was not asked to run.
    """

    def __contains__(self, item: object) -> bool:
        return item in self._ids()

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids())

    def __len__(self) -> int:
        return len(self._ids())

    @staticmethod
    def _ids() -> frozenset[str]:
        return _rule_ids()


@lru_cache(maxsize=1)
def _rule_ids() -> frozenset[str]:
    return frozenset(rule.id for rule in catalog())
