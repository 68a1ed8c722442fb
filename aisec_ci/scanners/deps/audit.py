"""Choosing the vulnerability sources, asking them, and merging what they say.

Default: the OSV API. `--offline` swaps network sources for the offline
database. pip-audit and safety run when configured. The embedded snapshot
answers only for packages no configured source could check, and everything
still unchecked is reported as such, never as clean.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.services.breaker import lookup_deadline
from aisec_ci.scanners.deps.services.interface import (
    DEFAULT_OSV_URL,
    AuditAnswer,
    PackageVersion,
    ServiceUnavailable,
    VulnerabilityService,
)
from aisec_ci.scanners.deps.services.snapshot import SnapshotService, snapshot_records, snapshot_records_any
from aisec_ci.scanners.deps.versions import PYPI, sort_key

SOURCE_NAMES = ("osv", "offline", "pip-audit", "safety")
# Ids from these databases name an advisory most precisely for their ecosystem's users (PYSEC for
# PyPI, the Go vulnerability database, RustSec); prefer them as the finding's id.
# Debian's, Ubuntu's and Alpine's own advisories (DSA/DLA/USN, then their per-CVE records) name the
# distribution's fix, so they lead for OS packages (PyPI and lock-file records never carry them).
_ID_PREFERENCE = (
    "MAL-",
    "PYSEC-",
    "GO-",
    "RUSTSEC-",
    "DSA-",
    "DLA-",
    "DTSA-",
    "USN-",
    "UBUNTU-",
    "DEBIAN-",
    "ALPINE-",
    "GHSA-",
    "CVE-",
)


@dataclass
class AuditResult:
    advisories: dict[PackageVersion, list[Advisory]] = field(default_factory=dict)
    """Merged advisories for every package some source audited."""
    audited_by: dict[PackageVersion, list[str]] = field(default_factory=dict)
    unaudited: dict[PackageVersion, str] = field(default_factory=dict)
    """Packages no source could check, with the reasons."""
    snapshot_only: set[PackageVersion] = field(default_factory=set)
    fallback_reasons: dict[PackageVersion, str] = field(default_factory=dict)
    """Why the snapshot had to answer for a package (each configured source's failure)."""
    snapshot_date: str = ""
    notes: list[str] = field(default_factory=list)


def default_cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("AISEC_CACHE_DIR"):
        return Path(env["AISEC_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aisec-ci"


def default_database(env: Mapping[str, str], ecosystem: str = PYPI) -> Path:
    return default_cache_dir(env) / "osv" / f"{ecosystem}-all.zip"


def default_databases(env: Mapping[str, str]) -> list[Path]:
    """The archives `db update` left in the cache: PyPI's (named even when absent, so that the
    error says what to run), then every other ecosystem's that is there."""
    pypi = default_database(env)
    try:
        others = sorted(p for p in pypi.parent.glob("*-all.zip") if p != pypi and p.is_file())
    except OSError:
        others = []
    return [pypi, *others]


def configured_databases(value: Any, root: Path) -> list[Path]:
    """The `database` option (one path or a list) or AISEC_OSV_DB (paths joined by os.pathsep)."""
    items = [value] if isinstance(value, str) else list(value)
    parts = [p for item in items for p in str(item).split(os.pathsep) if p]
    return [_path(p, root) for p in parts]


def osv_base_url(options: Mapping[str, Any], env: Mapping[str, str]) -> str:
    return str(options.get("osv_url") or env.get("AISEC_OSV_URL") or DEFAULT_OSV_URL).rstrip("/")


def build_services(
    options: Mapping[str, Any], env: Mapping[str, str], offline: bool, root: Path
) -> tuple[list[VulnerabilityService], list[str]]:
    """The configured sources in order, and notes about the ones left out."""
    wanted = list(dict.fromkeys(options.get("sources") or ["osv"]))
    notes: list[str] = []
    database = options.get("database") or env.get("AISEC_OSV_DB")
    auth_url = str(options.get("safety_auth_url") or env.get("SAFETY_AUTH_SERVER_URL") or "")
    if offline:
        network = {"osv", "pip-audit"}
        if not _is_loopback(auth_url):
            network.add("safety")  # safety probes its auth server on every start
        dropped = [s for s in wanted if s in network]
        if dropped:
            notes.append(f"deps: --offline: skipped the network source(s) {', '.join(dropped)}")
        wanted = [s for s in wanted if s not in network]
        if "offline" not in wanted:
            wanted.insert(0, "offline")
    timeout = float(options.get("timeout", 15))
    services: list[VulnerabilityService] = []
    # Each source's module is imported only when it is configured (zipfile, subprocess and the
    # HTTP client are start-up cost for runs that do not use them).
    for name in wanted:
        if name == "osv":
            from aisec_ci.scanners.deps.services.osv_api import OsvApiService

            cache = options.get("cache_dir")
            services.append(
                OsvApiService(
                    osv_base_url(options, env),
                    timeout=timeout,
                    retries=int(options.get("retries", 2)),
                    # Persisted by default so that a second run (or a CI job restoring the cache with
                    # actions/cache) fetches only advisories that changed.
                    cache_dir=_path(cache, root) if cache else default_cache_dir(env),
                    known=snapshot_records,
                    deadline=lookup_deadline(options, env),
                    older=snapshot_records_any,
                )
            )
        elif name == "offline":
            from aisec_ci.scanners.deps.services.offline_db import OfflineDbService

            cache = options.get("cache_dir")
            services.append(
                OfflineDbService(
                    configured_databases(database, root) if database else default_databases(env),
                    cache_dir=_path(cache, root) if cache else default_cache_dir(env),
                )
            )
        elif name == "pip-audit":
            from aisec_ci.scanners.deps.services.pip_audit import PipAuditService

            services.append(PipAuditService(osv_base_url(options, env), timeout=timeout))
        elif name == "safety":
            from aisec_ci.scanners.deps.services.safety import SafetyService

            db = options.get("safety_db") or env.get("AISEC_SAFETY_DB")
            services.append(
                SafetyService(
                    db_dir=_path(db, root) if db else None,
                    api_key="" if offline else env.get("SAFETY_API_KEY", ""),
                    auth_url=auth_url,
                    timeout=max(timeout, 30.0),
                )
            )
    return services, notes


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def _path(value: Any, root: Path) -> Path:
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else root / p


def run_audit(
    packages: Sequence[PackageVersion], services: Sequence[VulnerabilityService], use_snapshot: bool = True
) -> AuditResult:
    result = AuditResult()
    pending = sorted(set(packages))
    reasons: dict[PackageVersion, list[str]] = {pv: [] for pv in pending}
    answers: list[AuditAnswer] = []
    for service in services:
        if not pending:
            break
        # A source is asked only about ecosystems it holds advisories for (pip-audit and safety
        # know PyPI alone): its silence about the others would read as "no vulnerabilities".
        asked = [pv for pv in pending if service.covers(pv.ecosystem)]
        for pv in pending:
            if pv not in asked:
                reasons[pv].append(f"{service.name}: does not cover {pv.ecosystem} packages")
        if not asked:
            continue
        try:
            answer = service.audit(asked)
        except ServiceUnavailable as exc:
            result.notes.append(f"deps: {service.name} unavailable: {exc}")
            for pv in asked:
                reasons[pv].append(f"{service.name}: {exc}")
            continue
        answers.append(answer)
        result.notes.extend(f"deps: {n}" for n in answer.notes)
        for pv, why in answer.failed.items():
            if pv in reasons:
                reasons[pv].append(f"{service.name}: {why}")
    for answer in answers:
        for pv, found in answer.advisories.items():
            result.advisories.setdefault(pv, []).extend(found)
            result.audited_by.setdefault(pv, []).append(answer.source)
    snapshot = SnapshotService()
    missing = [pv for pv in pending if pv not in result.audited_by and snapshot.covers(pv.ecosystem)]
    if missing and use_snapshot:
        try:
            answer = snapshot.audit(missing)
        except ServiceUnavailable as exc:
            result.notes.append(f"deps: {exc}")
        else:
            result.snapshot_date = snapshot.date
            for pv, found in answer.advisories.items():
                result.advisories[pv] = list(found)
                result.audited_by[pv] = [snapshot.name]
                result.snapshot_only.add(pv)
                result.fallback_reasons[pv] = "; ".join(reasons[pv])
            result.notes.append(
                f"deps: {len(answer.advisories)} package(s) were checked only against the embedded advisory "
                f"snapshot of {snapshot.date}; advisories published after that date are not known"
            )
    for pv in pending:
        if pv not in result.audited_by:
            result.unaudited[pv] = "; ".join(reasons[pv]) or "no vulnerability source was configured"
    for pv, found in result.advisories.items():
        result.advisories[pv] = merge_advisories(found, pv.ecosystem)
    return result


def merge_advisories(items: Sequence[Advisory], ecosystem: str = PYPI) -> list[Advisory]:
    """One advisory per group of ids that share an id or alias, listing every source that reported it.

    Groups are found through an id -> group map, so each advisory costs a few lookups instead of a
    comparison with every group so far (a package with hundreds of advisories, such as an old
    tensorflow, made that quadratic per pin). A group's members are kept in the order the merge
    has always produced (the joining advisory first, then the groups it joins, oldest first),
    because the first member with a summary or severity supplies it."""
    group_of: dict[str, int] = {}
    members: dict[int, list[Advisory]] = {}
    ids_of: dict[int, set[str]] = {}
    for n, adv in enumerate(items):
        ids = set(adv.ids)
        merged = [adv]
        for key in sorted({group_of[i] for i in ids if i in group_of}):
            merged.extend(members.pop(key))
            ids |= ids_of.pop(key)
        members[n] = merged
        ids_of[n] = ids
        for i in ids:
            group_of[i] = n
    out = [_merge_group(members[key], ecosystem) for key in sorted(members)]
    return sorted(out, key=lambda a: a.id)


def _merge_group(group: list[Advisory], ecosystem: str = PYPI) -> Advisory:
    ids = set().union(*(a.ids for a in group))
    primary = min(ids, key=_id_rank)
    first = group[0]
    fixed: dict[str, None] = {}
    for a in group:
        fixed.update(dict.fromkeys(a.fixed))
    ordered_fixed = sorted(fixed, key=sort_key(ecosystem))
    return Advisory(
        id=primary,
        aliases=tuple(sorted(ids - {primary})),
        summary=next((a.summary for a in group if a.summary and not a.summary.startswith("(details")), first.summary),
        fixed=tuple(ordered_fixed),
        cvss=tuple(dict.fromkeys(v for a in group for v in a.cvss)),
        database_severity=next((a.database_severity for a in group if a.database_severity), ""),
        published=next((a.published for a in group if a.published), ""),
        modified=max((a.modified for a in group), default=""),
        # One source's doubt is enough: the same CVE text reaches every source.
        disputed=any(a.disputed for a in group),
        withdrawn=any(a.withdrawn for a in group),
        # Unlisted only if every record that names this version stops short of it.
        unlisted=all(a.unlisted for a in group) and not ordered_fixed,
        sources=tuple(sorted({s for a in group for s in a.sources})),
        distro_severity=next((a.distro_severity for a in group if a.distro_severity), ""),
    )


def _id_rank(vid: str) -> tuple[int, str]:
    for n, prefix in enumerate(_ID_PREFERENCE):
        if vid.startswith(prefix):
            return n, vid
    return len(_ID_PREFERENCE), vid
