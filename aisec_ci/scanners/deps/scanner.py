"""The `deps` scanner: parse every manifest, audit all pins in one batch, point findings at manifest lines."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.base import Scanner, SkipFile
from aisec_ci.scanners.deps import incomplete, pinning, vulnerable
from aisec_ci.scanners.deps.audit import SOURCE_NAMES, build_services, run_audit
from aisec_ci.scanners.deps.collect import MANIFEST_KINDS, collect, is_manifest
from aisec_ci.scanners.deps.model import Dependency, ManifestError, PinKind, redact_credentials
from aisec_ci.scanners.deps.sbom import write_sbom
from aisec_ci.scanners.deps.services.interface import PackageVersion
from aisec_ci.scanners.deps.sources import format_of, parse_manifest
from aisec_ci.scanners.deps.sources.requirements import CONSTRAINTS_GROUP
from aisec_ci.workspace.files import SourceFile
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
            "type": "string",
            "minLength": 1,
            "description": "Offline OSV database: a directory of OSV JSON files or a PyPI all.zip "
            "(env AISEC_OSV_DB; default: the `aisec-ci db update` cache).",
        },
        "cache_dir": {
            "type": "string",
            "minLength": 1,
            "description": "Cache for OSV advisory details, kept between runs (default $AISEC_CACHE_DIR, "
            "else $XDG_CACHE_HOME/aisec-ci or ~/.cache/aisec-ci).",
        },
        "timeout": {"type": "number", "minimum": 1, "maximum": 600, "description": "Seconds per request (15)."},
        "retries": {"type": "integer", "minimum": 0, "maximum": 5, "description": "Retries per request (2)."},
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
        "Known-vulnerable and malicious Python dependencies in every manifest and lock file (OSV, offline "
        "database, pip-audit, safety), plus unpinned and unverifiable requirements"
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
        # Only the cheap "can this file be read at all" check runs per file, so that a broken
        # manifest is listed as skipped with its reason; auditing happens once in scan_repository.
        fmt = format_of(file.path, file.kind)
        if fmt is None:
            return ()
        try:
            parse_manifest(file.path, file.text, fmt, None)
        except ManifestError as exc:
            raise SkipFile(str(exc)) from None
        return ()

    def scan_repository(self, files: list[SourceFile]) -> Iterable[Finding]:
        self.notes = []
        inv = collect(self.context.root, files)
        sbom_target = self.context.options.get("sbom") or self.context.env.get("AISEC_DEPS_SBOM")
        if sbom_target:
            target = Path(str(sbom_target)).expanduser()
            target = target if target.is_absolute() else self.context.root / target
            try:
                write_sbom(target, self.context.root.name, inv.dependencies)
            except OSError as exc:
                # An unwritable SBOM path must not cost the audit itself.
                self.notes.append(f"deps: cannot write the SBOM to {target} ({exc.strerror or exc})")
        findings: list[Finding] = []
        for item in inv.problems:
            findings.extend(incomplete.problem(item))
        pinned = [d for d in inv.dependencies if d.auditable]
        packages = sorted({PackageVersion(d.canonical, d.version or "") for d in pinned})
        options = self.context.options
        if packages:
            services, notes = build_services(options, self.context.env, self.context.offline, self.context.root)
            self.notes.extend(notes)
            result = run_audit(packages, services, use_snapshot=bool(options.get("snapshot_fallback", True)))
            self.notes.extend(result.notes)
            snapshot_deps: dict[str, list[Dependency]] = {}
            for dep in pinned:
                pv = PackageVersion(dep.canonical, dep.version or "")
                if pv in result.unaudited:
                    findings.extend(incomplete.unaudited(dep, result.unaudited[pv]))
                    continue
                findings.extend(vulnerable.findings(dep, result.advisories.get(pv, []), result.snapshot_date))
                if pv in result.snapshot_only:
                    snapshot_deps.setdefault(dep.path, []).append(dep)
            for path, deps in sorted(snapshot_deps.items()):
                why = [result.fallback_reasons.get(PackageVersion(d.canonical, d.version or ""), "") for d in deps]
                findings.extend(incomplete.snapshot_only(path, deps, result.snapshot_date, why))
        findings.extend(self._hygiene(inv.dependencies, options))
        for f in findings:
            yield _redacted(f)

    def _hygiene(self, deps: list[Dependency], options: Any) -> Iterator[Finding]:
        pinned_here = {(posixpath.dirname(d.path), d.canonical) for d in deps if d.kind is PinKind.PINNED}
        conda: dict[str, list[Dependency]] = {}
        for dep in deps:
            if dep.kind is PinKind.RANGE:
                locked = (posixpath.dirname(dep.path), dep.canonical) in pinned_here
                if options.get("report_unpinned", True) and not locked and dep.group != CONSTRAINTS_GROUP:
                    yield from pinning.unpinned(dep)
            elif dep.kind in (PinKind.URL, PinKind.VCS, PinKind.LOCAL):
                yield from pinning.unverifiable(dep)
            elif dep.kind is PinKind.CONDA and dep.canonical not in ("python", "pip"):
                conda.setdefault(dep.path, []).append(dep)
        for path, items in sorted(conda.items()):
            yield from incomplete.conda_packages(path, items)


def _redacted(f: Finding) -> Finding:
    snippet = redact_credentials(f.snippet)
    message = redact_credentials(f.message)
    if snippet == f.snippet and message == f.message:
        return f
    return replace(f, snippet=snippet, message=message)
