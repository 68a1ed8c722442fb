"""The `deps` scanner: parse every manifest, audit all pins in one batch, point findings at manifest lines."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import Scanner
from aisec_ci.scanners.deps import incomplete, locks, pinning, vulnerable
from aisec_ci.scanners.deps.audit import SOURCE_NAMES, build_services, default_cache_dir, run_audit
from aisec_ci.scanners.deps.collect import MANIFEST_KINDS, collect, is_manifest
from aisec_ci.scanners.deps.model import Dependency, PinKind, redact_credentials, redacted_finding
from aisec_ci.scanners.deps.services.breaker import lookup_deadline
from aisec_ci.scanners.deps.services.interface import PackageVersion
from aisec_ci.scanners.deps.sources.requirements import CONSTRAINTS_GROUP
from aisec_ci.scanners.deps.target import DEFAULT_PLATFORM, PLATFORM_CHOICES, MarkerCheck, Targets
from aisec_ci.workspace.files import SkippedFile, SourceFile
from aisec_ci.workspace.kinds import FileKind

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sources": {
            "type": "array",
            "items": {"enum": list(SOURCE_NAMES)},
            "uniqueItems": True,
            "minItems": 1,
            "description": "Vulnerability sources, asked in order: `osv` (OSV API, the default), `offline` "
            "(OSV JSON directory or all.zip, see `database`), `pip-audit`, `safety`.",
        },
        "osv_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "OSV API base URL (default https://api.osv.dev; env AISEC_OSV_URL).",
        },
        "database": {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            ],
            "description": "Offline OSV database: a directory of OSV JSON files or an osv.dev all.zip, or a "
            "list of them, one per ecosystem (env AISEC_OSV_DB, paths joined by the OS path separator; "
            "default: every archive `aisec-ci db update [--ecosystem NAME]` left in the cache).",
        },
        "cache_dir": {
            "type": "string",
            "minLength": 1,
            "description": "Cache for OSV advisory details, kept between runs (default $AISEC_CACHE_DIR, "
            "else $XDG_CACHE_HOME/aisec-ci or ~/.cache/aisec-ci).",
        },
        "timeout": {"type": "number", "minimum": 1, "maximum": 600, "description": "Seconds per request (15)."},
        "retries": {"type": "integer", "minimum": 0, "maximum": 5, "description": "Retries per request (2)."},
        "deadline": {
            "type": "number",
            "minimum": 1,
            "maximum": 3600,
            "description": "Seconds one network source (the OSV API, the PyPI index) may spend on a whole "
            "lookup before the rest falls back to the offline data (120; env AISEC_DEPS_DEADLINE). A source "
            "that fails a request on every attempt is not asked again during the run.",
        },
        "safety_db": {"type": "string", "minLength": 1, "description": "Safety schema-2.0.0 database directory."},
        "safety_auth_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "Safety's auth server (env SAFETY_AUTH_SERVER_URL), probed by safety at start-up.",
        },
        "snapshot_fallback": {
            "type": "boolean",
            "description": "Check packages no source could audit against the embedded snapshot (true).",
        },
        "report_unpinned": {"type": "boolean", "description": "Report deps/unpinned-requirement (true)."},
        "check_pypi": {
            "type": "boolean",
            "description": "Ask PyPI's JSON API whether each pin without advisories is a real release, and "
            "report the ones it does not list as deps/audit-incomplete (false: one request per pin, "
            "remembered in the cache; never with --offline).",
        },
        "pypi_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "PyPI base URL for `check_pypi` (default https://pypi.org; env AISEC_PYPI_URL).",
        },
        "pyproject_ranges": {
            "enum": ["summary", "each", "off"],
            "description": "Ranges in a pyproject.toml with no lock file beside it (a library): one "
            "deps/unpinned-requirement finding per file (`summary`, the default), one per range (`each`), "
            "or none (`off`).",
        },
        "python_version": {
            # A string only: YAML reads an unquoted 3.10 as the number 3.1.
            "type": "string",
            "minLength": 1,
            "description": "The Python the project installs into, for environment markers: one version "
            '(`"3.11"`) or a range (`">=3.9,<3.13"`). Default: the nearest `requires-python` (pyproject.toml '
            "`[project]` or Poetry's `python`, setup.cfg `python_requires`), else every Python 3. A pin whose "
            'marker is false for every version in it (`; python_version < "3.0"`) is not audited and is '
            "listed in a note.",
        },
        "python-version": {"type": "string", "minLength": 1, "description": "Same as `python_version`."},
        "platform": {
            "enum": list(PLATFORM_CHOICES),
            "description": "The platform markers are evaluated for (`linux`, the default, on x86_64 and "
            "aarch64; `macos`; `windows`; `any` keeps every platform-specific pin).",
        },
        "sbom": {
            "type": "string",
            "minLength": 1,
            "description": "Write a CycloneDX 1.6 JSON SBOM of every declared dependency to this path "
            "(relative to the scanned root; env AISEC_DEPS_SBOM).",
        },
    },
}


class DepsScanner(Scanner):
    name: ClassVar[str] = "deps"
    description: ClassVar[str] = (
        "Known-vulnerable and malicious dependencies in every Python manifest and lock file and in Go "
        "(go.mod, go.sum), npm (package-lock.json, yarn.lock, pnpm-lock.yaml) and Cargo lock files (OSV, "
        "offline database, pip-audit, safety), plus unpinned and unverifiable requirements"
    )
    rules: ClassVar[tuple[Rule, ...]] = (
        vulnerable.VULNERABLE_PACKAGE,
        vulnerable.MALICIOUS_PACKAGE,
        pinning.UNPINNED_REQUIREMENT,
        pinning.UNVERIFIABLE_SOURCE,
        incomplete.AUDIT_INCOMPLETE,
        incomplete.STALE_ADVISORY_DATA,
    )
    kinds: ClassVar[frozenset[FileKind]] = MANIFEST_KINDS
    options_schema: ClassVar[dict[str, Any]] = OPTIONS_SCHEMA

    def wants(self, file: SourceFile) -> bool:
        return is_manifest(file)

    def scan_file(self, file: SourceFile) -> Iterable[Finding]:
        # Everything happens once in scan_repository: pins are audited in one batch and includes
        # resolved across files. A manifest that cannot be read is listed as skipped from there.
        return ()

    def scan_repository(self, files: list[SourceFile]) -> Iterable[Finding]:
        self.notes = []
        inv = collect(self.context.root, files)
        self.skipped = [SkippedFile(path, reason) for path, reason in sorted(inv.broken.items())]
        sbom_target = self.context.options.get("sbom") or self.context.env.get("AISEC_DEPS_SBOM")
        if sbom_target:
            target = Path(str(sbom_target)).expanduser()
            target = target if target.is_absolute() else self.context.root / target
            # Imported here: the CycloneDX library costs start-up time on every run without --sbom.
            from aisec_ci.scanners.deps.sbom import write_sbom

            try:
                write_sbom(target, self.context.root.name, inv.dependencies)
            except OSError as exc:
                # An unwritable SBOM path must not cost the audit itself.
                self.notes.append(f"deps: cannot write the SBOM to {target} ({exc.strerror or exc})")
        findings: list[Finding] = []
        for item in inv.problems:
            findings.extend(incomplete.problem(item))
        options = self.context.options
        dependencies = self._installable(inv.dependencies, files, options)
        # A manifest pin its lock restates is one installed package: report it at the lock line.
        shadow = locks.shadowed(dependencies)
        also = locks.declared_in(shadow)
        pinned = [d for d in dependencies if d.auditable]
        packages = sorted({_pin(d) for d in pinned})
        if packages:
            services, notes = build_services(options, self.context.env, self.context.offline, self.context.root)
            self.notes.extend(notes)
            result = run_audit(packages, services, use_snapshot=bool(options.get("snapshot_fallback", True)))
            self.notes.extend(result.notes)
            snapshot_deps: dict[str, list[Dependency]] = {}
            lock_unaudited: dict[str, list[Dependency]] = {}
            for dep in pinned:
                pv = _pin(dep)
                if pv in result.unaudited and dep.ecosystem != "PyPI":
                    # A Go, npm or Cargo lock holds hundreds of packages that fail together (an
                    # offline database without that ecosystem): one finding per lock file.
                    lock_unaudited.setdefault(dep.path, []).append(dep)
                    continue
                if pv in result.unaudited:
                    if dep not in shadow:
                        findings.extend(
                            locks.mention(f, also.get(dep, ())) for f in incomplete.unaudited(dep, result.unaudited[pv])
                        )
                    continue
                if dep not in shadow:
                    found = vulnerable.findings(dep, result.advisories.get(pv, []), result.snapshot_date)
                    findings.extend(locks.mention(f, also.get(dep, ())) for f in found)
                if pv in result.snapshot_only:
                    snapshot_deps.setdefault(dep.path, []).append(dep)
            findings.extend(self._not_on_index(pinned, result.advisories, result.unaudited, shadow, also))
            for path, deps in sorted(lock_unaudited.items()):
                findings.extend(incomplete.unaudited_lock(path, deps, [result.unaudited[_pin(d)] for d in deps]))
            for path, deps in sorted(snapshot_deps.items()):
                why = [result.fallback_reasons.get(_pin(d), "") for d in deps]
                findings.extend(incomplete.snapshot_only(path, deps, result.snapshot_date, why))
        findings.extend(self._hygiene(dependencies, options, shadow, also))
        for f in findings:
            yield redacted_finding(f)

    def _installable(self, deps: list[Dependency], files: list[SourceFile], options: Any) -> list[Dependency]:
        """The dependencies whose environment marker can hold on the target; the rest go to a note."""
        if not any(d.marker for d in deps):
            return deps
        projects = {f.path: f.text for f in files if f.path.rsplit("/", 1)[-1].lower() in _PROJECT_FILES}
        version = options.get("python_version", options.get("python-version"))
        targets = Targets(projects, version, str(options.get("platform") or DEFAULT_PLATFORM))
        if version is not None and not targets.configured:
            self.notes.append(f"deps: python_version {version!r} is neither a version nor a range; ignored")
        check = MarkerCheck()
        kept: list[Dependency] = []
        dropped: dict[str, list[Dependency]] = {}
        for dep in deps:
            target = targets.for_manifest(dep.path)
            if check.can_install(dep, target):
                kept.append(dep)
            else:
                dropped.setdefault(target.describe(), []).append(dep)
        for where, items in sorted(dropped.items()):
            shown = [redact_credentials(f"{d.path}:{d.line} {d.name}{d.specifier} ; {d.marker}") for d in items[:10]]
            more = f" and {len(items) - 10} more" if len(items) > 10 else ""
            self.notes.append(
                f"deps: {len(items)} dependenc{'y' if len(items) == 1 else 'ies'} not audited because "
                f"{'its' if len(items) == 1 else 'their'} environment marker is never true for {where}: "
                + "; ".join(shown)
                + more
            )
        if check.unevaluated:
            self.notes.append(
                f"deps: {check.unevaluated} dependencies were audited without evaluating their environment "
                f"marker: more than {check.budget} distinct markers"
            )
        return kept

    def _not_on_index(
        self,
        pinned: list[Dependency],
        advisories: Mapping[PackageVersion, list[Any]],
        unaudited: Mapping[PackageVersion, str],
        shadow: dict[Dependency, Dependency],
        also: dict[Dependency, list[Dependency]],
    ) -> Iterator[Finding]:
        """Pins every source called clean that PyPI does not list: their "clean" means nothing."""
        options, env = self.context.options, self.context.env
        if not options.get("check_pypi", False):
            return
        if self.context.offline:
            self.notes.append("deps: --offline: skipped the PyPI release check (check_pypi)")
            return
        clean = sorted(
            {_pin(d) for d in pinned if d.ecosystem == "PyPI"}
            - set(unaudited)
            - {pv for pv, found in advisories.items() if found}
        )
        # Imported here: the opt-in PyPI check is the only user of requests in a scan.
        from aisec_ci.scanners.deps.services.pypi_index import DEFAULT_PYPI_URL, PypiIndex

        cache = options.get("cache_dir")
        index = PypiIndex(
            str(options.get("pypi_url") or env.get("AISEC_PYPI_URL") or DEFAULT_PYPI_URL),
            timeout=float(options.get("timeout", 15)),
            deadline=lookup_deadline(options, env),
            cache_dir=_under(self.context.root, str(cache)) if cache else default_cache_dir(env),
        )
        absent, notes = index.missing(clean)
        self.notes.extend(f"deps: {n}" for n in notes)
        for dep in pinned:
            pv = _pin(dep)
            if pv in absent and dep not in shadow:
                yield from (locks.mention(f, also.get(dep, ())) for f in incomplete.not_on_index(dep, absent[pv]))

    def _hygiene(
        self,
        deps: list[Dependency],
        options: Any,
        shadow: dict[Dependency, Dependency],
        also: dict[Dependency, list[Dependency]],
    ) -> Iterator[Finding]:
        pinned_here = {(posixpath.dirname(d.path), d.canonical) for d in deps if d.kind is PinKind.PINNED}
        ranges_mode = str(options.get("pyproject_ranges", "summary"))
        conda: dict[str, list[Dependency]] = {}
        library_ranges: dict[str, list[Dependency]] = {}
        lock_beside: dict[str, bool] = {}
        for dep in deps:
            if dep.kind is PinKind.RANGE:
                locked = (posixpath.dirname(dep.path), dep.canonical) in pinned_here
                if not options.get("report_unpinned", True) or locked or dep.group == CONSTRAINTS_GROUP:
                    continue
                if dep.origin == "pyproject" and ranges_mode != "each":
                    if dep.path not in lock_beside:
                        lock_beside[dep.path] = locks.has_lock_beside(self.context.root, dep.path, deps)
                    if not lock_beside[dep.path]:
                        library_ranges.setdefault(dep.path, []).append(dep)
                        continue
                yield from pinning.unpinned(dep)
            elif dep.kind in (PinKind.URL, PinKind.VCS, PinKind.LOCAL):
                if dep not in shadow:
                    yield from (locks.mention(f, also.get(dep, ())) for f in pinning.unverifiable(dep))
            elif dep.kind is PinKind.CONDA and dep.canonical not in ("python", "pip"):
                conda.setdefault(dep.path, []).append(dep)
        if ranges_mode == "summary":
            for path, items in sorted(library_ranges.items()):
                yield from pinning.unpinned_summary(path, items)
        for path, items in sorted(conda.items()):
            yield from incomplete.conda_packages(path, items)


_PROJECT_FILES = frozenset({"pyproject.toml", "setup.cfg"})


def _pin(dep: Dependency) -> PackageVersion:
    """What the sources are asked about for a pinned dependency."""
    if dep.ecosystem == "PyPI":
        return PackageVersion(dep.canonical, dep.version or "")
    return PackageVersion(dep.canonical, dep.audit_version, dep.ecosystem)


def _under(root: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path
