"""The one pipeline: workspace -> scanners -> suppress -> select -> ScanResult.

Reports, publishing and the gate consume the ScanResult; the CLI and the
action's entrypoint both call `run_scan`, so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from aisec_ci.budget import DEFAULT_FILE_MEMORY, DEFAULT_FILE_SECONDS, FileBudget
from aisec_ci.config.model import Config, find_config
from aisec_ci.core_rules import SCAN_ERROR
from aisec_ci.engine import EngineOutput, default_jobs, finish_findings, run_scanners
from aisec_ci.errors import UsageError
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.newonly import base_checkout, base_fingerprints
from aisec_ci.redaction import Redactor, safe_error_text
from aisec_ci.result import ScanResult, Suppressed
from aisec_ci.roles import Role, file_roles
from aisec_ci.sameproblem import known_in, merge_same_problem
from aisec_ci.scanners.base import ScanContext, Scanner
from aisec_ci.scanners.registry import KnownRuleIds, all_scanners, catalog, catalog_of, scanners_named
from aisec_ci.severity import Severity
from aisec_ci.suppress.apply import apply_suppressions
from aisec_ci.suppress.baseline import MAX_BASELINE_BYTES, load_baseline
from aisec_ci.triage import triage
from aisec_ci.workspace.discovery import (
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_MODEL_SIZE,
    Workspace,
    discover,
    scan_root_of,
)
from aisec_ci.workspace.files import SkippedFile
from aisec_ci.workspace.gitdiff import check_range, is_shallow, is_work_tree, resolve_revision
from aisec_ci.workspace.reading import format_size, is_regular_file, read_bounded

if TYPE_CHECKING:
    from aisec_ci.cache import CacheSession

DETECT_SECRETS_BASELINE = ".secrets.baseline"
# Environment a scanner may need (base URLs, API keys), captured once in the parent.
SCANNER_ENV_PREFIXES = ("AISEC_", "SAFETY_", "GITHUB_API_URL")


@dataclass
class ScanOptions:
    """Everything that shapes one scan; CLI flags override the config file."""

    root: Path
    config_path: Path | None = None
    scanners: Sequence[str] | None = None
    fail_on: Severity | None = None
    fail_on_set: bool = False
    baseline: Path | None = None
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    jobs: int = 0
    shard: tuple[int, int] | None = None
    new_only_base: str | None = None
    history: str | None = None
    """Also scan git history for secrets: a revision range, or `all`."""
    sbom: Path | None = None
    """Write a CycloneDX SBOM of every dependency found (deps scanner)."""
    use_git: bool = True
    offline: bool = False
    apply_baseline: bool = True
    today: dt.date | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    config: Config | None = None
    """Use this configuration instead of loading one (new-only's base scan takes the HEAD's)."""
    profile: str | None = None
    """default, strict or audit; None: the config's `profile:`, else default."""
    min_severity: Severity | None = None
    """Display only (text and markdown); None: the config's `min-severity:`."""
    cache_dir: Path | None = None
    """Keep per-file and repository-pass results in this directory and reuse them
    (aisec_ci.cache); reports are the same with and without it."""


def shard_of(path: str, count: int) -> int:
    """1-based shard a path belongs to: a stable hash, so every shard of every
    matrix job agrees without talking to the others."""
    digest = hashlib.sha1(path.encode("utf-8", "surrogatepass"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def load_project_config(path: Path | None, root: Path) -> Config:
    if path is None and find_config(root) is None:
        return Config()
    # Only a scan with a config file pays for importing the YAML and JSON Schema libraries.
    from aisec_ci.config.loader import load_config

    return load_config(path, root=root)


def select_scanners(requested: Sequence[str] | None) -> list[type[Scanner]]:
    if requested is None:
        return list(all_scanners().values())
    chosen = scanners_named(requested)
    if len(chosen) == len(set(requested)):
        return list(chosen.values())
    available = all_scanners()
    unknown = [n for n in requested if n not in available]
    if unknown:
        raise UsageError(
            f"unknown scanner(s): {', '.join(unknown)} (available: {', '.join(available) or 'none installed'})"
        )
    return [available[n] for n in sorted(set(requested))]


def run_scan(opts: ScanOptions) -> ScanResult:
    if opts.cache_dir is None:
        return _run_scan(opts, None)
    # Imported here: a scan without a cache never loads sqlite3.
    from aisec_ci.cache import CacheSession

    session = CacheSession(opts.cache_dir)
    try:
        result = _run_scan(opts, session)
    except BaseException:
        session.abandon()  # a failed or cancelled scan stores nothing
        raise
    usable = session.usable
    notes = session.close()
    if notes:
        redactor = Redactor()
        result.notes.extend(redactor.text(n) for n in notes)
        result.sort()
    result.cache = session.stats if usable else None
    return result


def _run_scan(opts: ScanOptions, session: CacheSession | None, *, base_scan: bool = False) -> ScanResult:
    root = opts.root.resolve() if opts.root.exists() else opts.root
    if not opts.root.exists():
        raise UsageError(f"{opts.root}: no such file or directory")
    config = (
        opts.config
        if opts.config is not None
        else load_project_config(opts.config_path, scan_root_of(root, use_git=opts.use_git))
    )
    scanner_names = opts.scanners if opts.scanners is not None else config.scanners
    scanner_classes = select_scanners(scanner_names)
    names = {cls.name for cls in scanner_classes}
    if opts.history and "secrets" not in names:
        raise UsageError("--history scans git history for secrets: enable the secrets scanner")
    history, history_notes = _history_request(opts, config, scan_root_of(root, use_git=opts.use_git), names)
    if opts.sbom is not None and "deps" not in names:
        raise UsageError("--sbom lists the dependencies the deps scanner finds: enable the deps scanner")
    fail_on = opts.fail_on if opts.fail_on_set else (config.fail_on if config.fail_on_set else Severity.HIGH)

    ws = discover(
        root,
        include=tuple(config.include) + tuple(opts.include),
        exclude=tuple(config.exclude) + tuple(opts.exclude),
        max_file_size=config.max_file_size or DEFAULT_MAX_FILE_SIZE,
        max_model_size=config.max_model_size or DEFAULT_MAX_MODEL_SIZE,
        use_git=opts.use_git,
    )
    cached = None
    if session is not None and session.usable:
        ws = _without_cache_file(ws, session.path)
        # The base scan's temporary checkout is gone after this run: its stat signatures are not kept.
        cached = session.run(ws, record_stats=not base_scan)
    files = ws.files
    skipped = list(ws.skipped)
    if opts.shard is not None:
        index, count = opts.shard
        files = [f for f in files if shard_of(f.path, count) == index]
        skipped = [s for s in skipped if shard_of(s.path, count) == index]
    first_shard = opts.shard is None or opts.shard[0] == 1

    env = dict(opts.env) if opts.env else {k: v for k, v in os.environ.items() if k.startswith(SCANNER_ENV_PREFIXES)}
    switches = {rule_id: o.enabled for rule_id, o in config.rules.items() if o.enabled is not None}
    specs: list[tuple[type[Scanner], ScanContext]] = []
    for cls in scanner_classes:
        options = dict(config.scanner_options.get(cls.name, {}))
        if cls.name == "secrets":
            options.pop("history", None)
            if history:
                options["history"] = history
        if cls.name == "deps" and opts.sbom is not None:
            options["sbom"] = str(opts.sbom.resolve())
        specs.append(
            (cls, ScanContext(root=ws.root, options=options, offline=opts.offline, env=env, rule_switches=switches))
        )
    # Suppression settings only ever meet rules of the scanners that ran (and the core's).
    cat = catalog() if scanner_names is None else catalog_of(scanner_classes)
    budget = FileBudget(
        seconds=config.max_file_seconds if config.max_file_seconds is not None else DEFAULT_FILE_SECONDS,
        memory=config.max_file_memory or DEFAULT_FILE_MEMORY,
    )
    jobs = opts.jobs or default_jobs()
    if cached is None:
        out = run_scanners(files, specs, rule_ids=KnownRuleIds(), jobs=jobs, budget=budget)
    else:
        todo = cached.plan(files, specs, budget)
        rule_ids = KnownRuleIds()
        fresh = run_scanners(
            todo, specs, rule_ids=rule_ids, jobs=jobs, budget=budget, on_file=cached.record, prepare=cached.prepare
        )
        out = cached.combined(fresh)
    findings = out.findings
    notes: list[str] = (list(history_notes) if first_shard else []) + out.notes
    repo_suppressed: list[Suppressed] = []
    repo_skipped: list[SkippedFile] = []
    if first_shard:
        for cls, ctx in specs:
            if cached is None:
                repo_out, repo_notes = _repository_findings(cls, ctx, ws)
            else:
                repo_out, repo_notes = cached.repository(cls, ctx, partial(_repository_findings, cls, ctx, ws))
            findings.extend(repo_out.findings)
            repo_suppressed.extend(repo_out.suppressed)
            repo_skipped.extend(repo_out.skipped)
            notes.extend(repo_notes)
    scanned = set(out.scanned)
    skipped.extend(out.skipped)
    skipped.extend(repo_skipped)
    skipped_paths = {s.path for s in out.skipped} | {s.path for s in repo_skipped}
    for f in files:
        if f.path not in scanned and f.path not in skipped_paths:
            skipped.append(SkippedFile(f.path, f"no enabled scanner handles {f.kind.value} files"))

    baseline_path = opts.baseline or (root_rel(ws.root, config.baseline) if config.baseline else None)
    baseline, baseline_names = frozenset[str](), []
    if opts.apply_baseline:
        for path in _baseline_files(ws.root, baseline_path, notes):
            baseline |= _load_any_baseline(path, ws.root)
            baseline_names.append(_relpath(path, ws.root) or path.name)
    outcome = apply_suppressions(
        findings,
        config=config,
        baseline=baseline,
        today=opts.today or dt.date.today(),
        config_relpath=_relpath(config.path, ws.root),
        baseline_name=", ".join(baseline_names) or None,
        catalog=cat,
    )
    kept = outcome.kept
    if first_shard:
        kept.extend(outcome.extra_findings)
    suppressed = list(out.suppressed) + repo_suppressed + list(outcome.suppressed)
    expired = [f for f in outcome.extra_findings if f.rule_id == "core/expired-ignore"]
    if expired and first_shard:
        entries = "1 ignore entry has" if len(expired) == 1 else f"{len(expired)} ignore entries have"
        notes.append(f"{entries} expired (see core/expired-ignore)")

    kept = merge_same_problem(kept)  # after suppression: an ignore of either finding applies to it alone
    profile = opts.profile or config.profile or "default"
    role_of = file_roles(ws, config.role_paths, notes if first_shard else [])
    forced = frozenset(rule_id for rule_id, on in switches.items() if on)
    policies = {Role(name): value for name, value in config.role_policies.items()}
    kept, triaged = triage(kept, catalog=cat, profile=profile, role_of=role_of, policies=policies, forced_rules=forced)

    if opts.new_only_base:
        kept, moved, base = _select_new(opts, config, kept, session)
        # Whether each suppressed finding was already in the base too: SARIF's baselineState.
        suppressed = [replace(s, in_base=known_in(s.finding, base)) for s in suppressed]
        suppressed.extend(moved)

    # The redaction stage: every string a report, log or comment can show passes here. Each
    # file's own secrets were taken out of its findings by the engine (finish_findings);
    # this pass runs the provider detectors over everything, paths and notes included.
    redactor = Redactor()
    kept = [redactor.finding(f) for f in kept]
    suppressed = [replace(s, finding=redactor.finding(s.finding), reason=redactor.text(s.reason)) for s in suppressed]
    skipped = [SkippedFile(redactor.text(s.path), redactor.text(s.reason)) for s in skipped]
    notes = [redactor.text(n) for n in notes]

    scanned_files = [f for f in files if f.path in scanned and f.path not in skipped_paths]
    by_kind: dict[str, int] = {}
    for f in scanned_files:
        by_kind[f.kind.value] = by_kind.get(f.kind.value, 0) + 1
    return ScanResult(
        findings=kept,
        suppressed=suppressed,
        skipped=_dedupe_skipped(skipped),
        scanners=[cls.name for cls in scanner_classes],
        files_scanned=len(scanned_files),
        files_by_kind=by_kind,
        fail_on=fail_on,
        shard=opts.shard,
        new_only_base=opts.new_only_base,
        notes=notes,
        profile=profile,
        triage=triaged,
        min_severity=opts.min_severity or config.min_severity,
        shard_commit=_head_commit(ws.root) if opts.shard is not None and opts.use_git else None,
    )


def _head_commit(root: Path) -> str | None:
    """The commit a shard scanned, so `merge` can refuse shards of different checkouts."""
    try:
        return resolve_revision(root, "HEAD")
    except UsageError:
        return None


def _repository_findings(cls: type[Scanner], ctx: ScanContext, ws: Workspace) -> tuple[EngineOutput, list[str]]:
    """Run one scanner's whole-tree pass; returns its findings (finished like the
    per-file pass: fingerprints, line hashes, inline suppressions) and its notes."""
    scanner = cls(ctx)
    try:
        raw = [f.evolve(scanner=cls.name) for f in scanner.scan_repository(ws.files)]
    except Exception as exc:
        raw = [
            Finding(
                rule_id=SCAN_ERROR.id,
                severity=SCAN_ERROR.severity,
                message=f"The {cls.name} scanner failed on the repository ({safe_error_text(exc)}).",
                path=".",
                key=f"{cls.name}:repository",
                scanner=cls.name,
            )
        ]
    by_path: dict[str, list[Finding]] = {}
    for f in raw:
        by_path.setdefault(f.path, []).append(f)
    files = {f.path: f for f in ws.files}
    out = EngineOutput()
    for path, group in sorted(by_path.items()):
        # Findings from git history (they name a commit) are about old blobs:
        # today's text of the file says nothing about them.
        current = [f for f in group if "commit" not in f.properties]
        historic = [f for f in group if "commit" in f.properties]
        sf = files.get(path)
        if sf is not None and current:
            try:
                finish_findings(sf, current, out, KnownRuleIds(), report_invalid=False)
            except OSError:
                out.findings.extend(assign_fingerprints(current, None))
            finally:
                sf.release()
        else:
            out.findings.extend(assign_fingerprints(current, None))
        out.findings.extend(assign_fingerprints(historic, None))
    out.skipped.extend(SkippedFile(s.path, f"{cls.name}: {s.reason}") for s in scanner.skipped)
    return out, list(scanner.notes) + out.notes


def _select_new(
    opts: ScanOptions, config: Config, kept: list[Finding], session: CacheSession | None
) -> tuple[list[Finding], list[Suppressed], frozenset[str]]:
    """Keep findings whose fingerprints the base revision's scan does not have; also
    returns the base's fingerprints.

    The base is scanned with this scan's configuration, never the base's own
    `.aisec.yml`: a change that deletes an ignore, re-enables a rule or drops
    the config file shows old findings, and they must stay old. Neither the
    history scan (its range does not depend on the checkout) nor the SBOM (it
    describes HEAD) is part of the base scan.
    """
    assert opts.new_only_base is not None
    with base_checkout(opts.root, opts.new_only_base) as base_root:
        if base_root is None:
            base = frozenset[str]()  # the scanned path did not exist yet: everything is new
        else:
            base_opts = replace(
                opts,
                root=base_root,
                config=config,
                new_only_base=None,
                apply_baseline=False,
                history=None,
                sbom=None,
            )
            # The same cache: unchanged files cost the base scan nothing, whoever scanned them first.
            base = base_fingerprints(_run_scan(base_opts, session, base_scan=True), base_root)
    new = [f for f in kept if not known_in(f, base)]
    old = [
        Suppressed(f, "new-only", f"already present in {opts.new_only_base}", in_base=True)
        for f in kept
        if known_in(f, base)
    ]
    return new, old, base


def _history_request(opts: ScanOptions, config: Config, root: Path, names: set[str]) -> tuple[str | None, list[str]]:
    """The history to scan (`--history`, else the secrets scanner's `history`
    option) once checked, and the notes the report carries about it.

    A range git cannot resolve, or a history request outside a git repository,
    is a usage error (exit 2) rather than a scan error the gate would let pass.
    """
    option = "--history"
    history = opts.history
    if not history and "secrets" in names:
        configured = config.scanner_options.get("secrets", {}).get("history")
        if configured:
            history, option = str(configured), "secrets.history (config)"
    if not history:
        return None, []
    if not opts.use_git:
        return None, [f"git history not scanned: {option} {history} was given with --no-git"]
    notes: list[str] = []
    if history == "all":
        if not is_work_tree(root):
            raise UsageError(f"{option} all needs a git repository: {root} is not inside a git work tree")
    else:
        check_range(root, history, option)
    if is_shallow(root):
        notes.append(
            f"{option} {history}: the clone is shallow, so history is incomplete "
            "(commits before the shallow boundary were not scanned; fetch them with fetch-depth: 0)"
        )
    return history, notes


def _baseline_files(root: Path, configured: Path | None, notes: list[str]) -> list[Path]:
    """The configured baseline, plus detect-secrets' `.secrets.baseline` at the
    root: teams moving from detect-secrets keep their audited allowances.

    The configured one was asked for: any problem with it is an error. The legacy one
    is only picked up because it is there, so it must be a regular file inside the
    repository of sane size; otherwise it is ignored with a note and the scan goes on."""
    files = [configured] if configured is not None else []
    legacy = root / DETECT_SECRETS_BASELINE
    if not os.path.lexists(legacy) or (configured is not None and legacy.resolve() == configured.resolve()):
        return files
    problem = ""
    real = legacy.resolve()
    if not real.is_relative_to(root.resolve()):
        problem = "it is a symlink to a file outside the repository"
    elif not is_regular_file(real):
        problem = "it is not a regular file"
    elif real.stat().st_size > MAX_BASELINE_BYTES:
        problem = f"it is larger than the {format_size(MAX_BASELINE_BYTES)} cap"
    if problem:
        notes.append(f"{DETECT_SECRETS_BASELINE} was not used: {problem}")
    else:
        files.append(legacy)
    return files


def _load_any_baseline(path: Path, root: Path) -> frozenset[str]:
    """Our baseline format, or a detect-secrets baseline (recognised by content)."""
    if _is_detect_secrets_baseline(path):
        from aisec_ci.scanners.secrets.baseline import load_detect_secrets_baseline

        return load_detect_secrets_baseline(path, root)
    return load_baseline(path)


def _is_detect_secrets_baseline(path: Path) -> bool:
    try:
        head = read_bounded(path, 4096, truncate=True)
    except OSError:
        return False  # load_baseline reports the unreadable file with its name
    return path.name == DETECT_SECRETS_BASELINE or (b'"plugins_used"' in head and b'"results"' in head)


def _without_cache_file(ws: Workspace, cache_file: Path) -> Workspace:
    """The cache file is our own artefact, not repository content: a report must not
    list it (as a skipped binary) when the cache directory is inside the scanned tree."""
    try:
        rel = cache_file.resolve().relative_to(ws.root).as_posix()
    except (OSError, ValueError):
        return ws
    ours = {rel, f"{rel}-journal"}
    if not any(f.path in ours for f in ws.files) and not any(s.path in ours for s in ws.skipped):
        return ws
    return replace(
        ws, files=[f for f in ws.files if f.path not in ours], skipped=[s for s in ws.skipped if s.path not in ours]
    )


def _dedupe_skipped(items: list[SkippedFile]) -> list[SkippedFile]:
    return sorted(set(items), key=lambda s: (s.path, s.reason))


def _relpath(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.name


def root_rel(root: Path, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else root / p
