"""The scanner stage: run every enabled scanner over the files that it wants,
in parallel worker processes, isolating failures per file.

Every file is scanned within a budget (aisec_ci.budget): past its time or memory
budget it is listed as skipped with the reason, and a worker that dies on it costs
that file alone (aisec_ci.workers). Findings per file and per rule are capped, and
the cut is reported.

Per file, a worker reads the content once (SourceFile caches it), runs each
scanner that wants the file, then finishes the findings while the text is
still in memory: inline suppressions, fingerprints and GitHub line hashes. Only
small Finding records travel back to the parent.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aisec_ci.budget import BudgetExceeded, FileBudget, file_budget
from aisec_ci.core_rules import SCAN_ERROR
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.redaction import Redactor, safe_error_text, secret_values
from aisec_ci.report.linehash import line_hashes_at
from aisec_ci.result import Suppressed
from aisec_ci.scanners.base import ScanContext, Scanner, SkipFile
from aisec_ci.suppress.inline import inline_reason, invalid_directives, parse_directives
from aisec_ci.workspace.files import SkippedFile, SourceFile
from aisec_ci.workspace.kinds import FileKind
from aisec_ci.workspace.reading import format_size

# Below this many files a process pool costs more than it saves.
MIN_FILES_FOR_POOL = 48
# Files per task sent to a worker: large enough to amortise IPC, small enough to balance.
CHUNK_FILES = 64
CHUNK_BYTES = 8 * 1024 * 1024


@dataclass
class EngineOutput:
    """What the scanner stage produced, before config-level suppression."""

    findings: list[Finding] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)
    """Paths that at least one scanner examined."""
    notes: list[str] = field(default_factory=list)
    """For the report: findings cut by the caps."""
    transient: bool = False
    """The outcome says something about this run, not about the file's content (a time or
    memory budget ran out, the file could not be read, its worker died): never cached."""
    payload: bytes | None = None
    """One file's output as the result cache stores it, made where the file was scanned
    (`run_scanners(prepare=...)`); None when it is not to be stored."""

    def extend(self, other: EngineOutput) -> None:
        self.findings.extend(other.findings)
        self.suppressed.extend(other.suppressed)
        self.skipped.extend(other.skipped)
        self.scanned.extend(other.scanned)
        self.notes.extend(other.notes)
        self.transient = self.transient or other.transient


FileResultSink = Callable[[str, "EngineOutput"], None]
"""Receives one file's output: (path, output)."""
PayloadMaker = Callable[["EngineOutput"], "bytes | None"]
"""Encodes one file's output for the result cache (picklable: it travels to the workers)."""


@dataclass(frozen=True)
class FileTask:
    """A picklable description of one file (SourceFile carries caches)."""

    path: str
    abspath: str
    kind: FileKind
    size: int
    limit: int = 0


def scan_one(
    task: FileTask,
    scanners: Sequence[Scanner],
    rule_ids: Collection[str],
    budget: FileBudget | None = None,
    prepare: PayloadMaker | None = None,
) -> EngineOutput:
    """Run every scanner that wants this file, within the file's budget; never raises.

    With `prepare`, the output also carries its encoding for the result cache: made here,
    in the worker, the encoding and its redaction check run in parallel like the scan."""
    budget = budget or FileBudget()
    sf = SourceFile(path=task.path, abspath=Path(task.abspath), kind=task.kind, size=task.size, limit=task.limit)
    try:
        with file_budget(budget):
            out = _scan_file(sf, scanners, rule_ids, budget)
        if prepare is not None and not out.transient:
            out.payload = prepare(out)
        return out
    except BudgetExceeded:
        return EngineOutput(
            skipped=[
                SkippedFile(
                    task.path,
                    f"not scanned: took longer than the {budget.seconds:g} s per-file time budget "
                    "(max-file-seconds in .aisec.yml)",
                )
            ],
            transient=True,
        )
    finally:
        sf.release()


def _scan_file(
    sf: SourceFile, scanners: Sequence[Scanner], rule_ids: Collection[str], budget: FileBudget
) -> EngineOutput:
    out = EngineOutput()
    raw: list[Finding] = []
    examined = False
    try:
        for scanner in scanners:
            if not scanner.wants(sf):
                continue
            examined = True
            try:
                for f in scanner.scan_file(sf):
                    raw.append(_own(f, scanner.name))
            except SkipFile as skip:
                out.skipped.append(SkippedFile(sf.path, f"{scanner.name}: {skip.reason}"))
            except OSError:
                raise  # the file itself is unreadable: one skipped entry, below
            except MemoryError:
                # Past the per-file memory budget (or the machine's): the file, not the scan, pays.
                out.transient = True
                out.skipped.append(
                    SkippedFile(
                        sf.path,
                        f"{scanner.name}: not scanned: needed more than the {format_size(budget.memory)} per-file "
                        "memory budget (max-file-memory in .aisec.yml)",
                    )
                )
            except Exception as exc:
                raw.append(
                    Finding(
                        rule_id=SCAN_ERROR.id,
                        severity=SCAN_ERROR.severity,
                        message=f"The {scanner.name} scanner failed on this file ({safe_error_text(exc)}).",
                        path=sf.path,
                        key=f"{scanner.name}:{type(exc).__name__}",
                        scanner=scanner.name,
                    )
                )
        if examined:
            out.scanned.append(sf.path)
        if raw:
            finish_findings(sf, raw, out, rule_ids, report_invalid=True, budget=budget)
    except OSError as exc:
        # The file vanished or became unreadable between discovery and scanning.
        out = EngineOutput(skipped=[SkippedFile(sf.path, f"unreadable: {exc.strerror or exc}")], transient=True)
    return out


def _own(f: Finding, scanner: str) -> Finding:
    if f.scanner == scanner:
        return f
    return f.evolve(scanner=scanner)


def cap_findings(findings: list[Finding], budget: FileBudget) -> tuple[list[Finding], list[str]]:
    """At most `max_findings_per_rule` per rule and `max_findings_per_file` in all, the
    first by position (deterministic); notes say what was cut."""
    if len(findings) <= min(budget.max_findings_per_rule, budget.max_findings_per_file):
        return findings, []
    ordered = sorted(findings, key=Finding.sort_key)
    per_rule: dict[str, int] = {}
    kept: list[Finding] = []
    cut: dict[str, int] = {}
    for f in ordered:
        n = per_rule.get(f.rule_id, 0)
        if n >= budget.max_findings_per_rule or len(kept) >= budget.max_findings_per_file:
            cut[f.rule_id] = cut.get(f.rule_id, 0) + 1
            continue
        per_rule[f.rule_id] = n + 1
        kept.append(f)
    path = findings[0].path
    notes = [
        f"{path}: {n:,} more {rule} finding(s) not reported (at most {budget.max_findings_per_rule:,} per rule "
        f"and {budget.max_findings_per_file:,} per file)"
        for rule, n in sorted(cut.items())
    ]
    return kept, notes


def finish_findings(
    sf: SourceFile,
    raw: list[Finding],
    out: EngineOutput,
    rule_ids: Collection[str],
    *,
    report_invalid: bool,
    budget: FileBudget | None = None,
) -> None:
    """Fingerprint, line-hash and apply inline suppressions while the text is at hand.

    Also used by the pipeline for findings of a scanner's whole-tree pass, with
    `report_invalid=False`: the per-file pass already reported the file's
    invalid directives once.
    """
    is_text = sf.kind not in (FileKind.MODEL, FileKind.BINARY)
    lines = sf.lines if is_text else None
    # Fingerprints first (their occurrence counters must not depend on the cap), then the cap.
    findings, notes = cap_findings(assign_fingerprints(raw, lines), budget or FileBudget())
    out.notes.extend(notes)
    if lines is None:
        out.findings.extend(findings)
        return
    if any(f.scanner != "secrets" for f in findings):
        # Another scanner may quote this file's text (a snippet, a command line, a policy
        # Sid): redact this file's secrets from its findings while the text is in memory.
        # (The pipeline's redaction stage then runs the provider detectors over everything.)
        redactor = Redactor(secret_values(sf.text))
        findings = [redactor.finding(f) for f in findings]
    hashes = line_hashes_at(sf.text, {f.start_line for f in findings})
    directives = parse_directives(lines)
    for f in findings:
        if hashes.get(f.start_line):
            f = f.evolve(line_hash=hashes[f.start_line])
        reason = inline_reason(f, directives) if directives else None
        if reason is not None:
            out.suppressed.append(Suppressed(f, "inline", reason))
        else:
            out.findings.append(f)
    if directives and report_invalid:
        out.findings.extend(assign_fingerprints(invalid_directives(sf.path, directives, rule_ids), lines))


def _chunks(tasks: Sequence[FileTask]) -> Iterable[list[FileTask]]:
    chunk: list[FileTask] = []
    size = 0
    for t in tasks:
        chunk.append(t)
        size += t.size
        if len(chunk) >= CHUNK_FILES or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_scanners(
    files: Sequence[SourceFile],
    specs: Sequence[tuple[type[Scanner], ScanContext]],
    *,
    rule_ids: Collection[str],
    jobs: int,
    budget: FileBudget | None = None,
    on_file: FileResultSink | None = None,
    prepare: PayloadMaker | None = None,
) -> EngineOutput:
    """Scan `files` with the given scanners; results are in no particular order.

    `on_file`, when given, also receives each file's own output (path, output) as it
    arrives, encoded by `prepare` where it was scanned: the result cache stores what it
    may keep (aisec_ci.cache)."""
    budget = budget or FileBudget()
    tasks = [FileTask(f.path, str(f.abspath), f.kind, f.size, f.limit) for f in files]
    if not specs or not tasks:
        return EngineOutput()
    tasks.sort(key=scan_order)
    out = EngineOutput()
    if jobs <= 1 or len(tasks) < MIN_FILES_FOR_POOL:
        scanners = [cls(ctx) for cls, ctx in specs]
        for t in tasks:
            part = scan_one(t, scanners, rule_ids, budget, prepare)
            out.extend(part)
            if on_file is not None:
                on_file(t.path, part)
        return out
    # Imported here: a small scan never starts a pool and need not pay for these modules.
    import multiprocessing

    from aisec_ci.workers import SupervisedPool

    # fork keeps start-up cheap (no re-import); elsewhere fall back to spawn.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    pool = SupervisedPool(multiprocessing.get_context(method), specs, rule_ids, budget, prepare)
    pool.run(list(_chunks(tasks)), jobs, out, on_file)
    return out


def scan_order(task: FileTask | SourceFile) -> int:
    """Largest first, so a big file does not start last and stretch the tail (a stable sort
    keeps discovery order among equals)."""
    return -task.size
