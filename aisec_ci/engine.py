"""The scanner stage: run every enabled scanner over the files that it wants,
in parallel worker processes, isolating failures per file.

Per file, a worker reads the content once (SourceFile caches it), runs each
scanner that wants the file, then finishes the findings while the text is
still in memory: inline suppressions, fingerprints and GitHub line hashes. Only
small Finding records travel back to the parent.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aisec_ci.core_rules import SCAN_ERROR
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.redaction import Redactor, safe_error_text, secret_values
from aisec_ci.report.linehash import line_hashes_at
from aisec_ci.result import Suppressed
from aisec_ci.scanners.base import ScanContext, Scanner, SkipFile
from aisec_ci.suppress.inline import inline_reason, invalid_directives, parse_directives
from aisec_ci.workspace.files import SkippedFile, SourceFile
from aisec_ci.workspace.kinds import FileKind

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

    def extend(self, other: EngineOutput) -> None:
        self.findings.extend(other.findings)
        self.suppressed.extend(other.suppressed)
        self.skipped.extend(other.skipped)
        self.scanned.extend(other.scanned)


@dataclass(frozen=True)
class FileTask:
    """A picklable description of one file (SourceFile carries caches)."""

    path: str
    abspath: str
    kind: FileKind
    size: int


# Worker-process state, built once per process by _init_worker.
_WORKER_SCANNERS: list[Scanner] = []
_WORKER_RULE_IDS: Collection[str] = frozenset()


def _init_worker(specs: Sequence[tuple[type[Scanner], ScanContext]], rule_ids: Collection[str]) -> None:
    global _WORKER_SCANNERS, _WORKER_RULE_IDS
    _WORKER_SCANNERS = [cls(ctx) for cls, ctx in specs]
    _WORKER_RULE_IDS = rule_ids


def _run_chunk(tasks: Sequence[FileTask]) -> EngineOutput:
    out = EngineOutput()
    for task in tasks:
        out.extend(scan_one(task, _WORKER_SCANNERS, _WORKER_RULE_IDS))
    return out


def scan_one(task: FileTask, scanners: Sequence[Scanner], rule_ids: Collection[str]) -> EngineOutput:
    """Run every scanner that wants this file; never raises."""
    out = EngineOutput()
    sf = SourceFile(path=task.path, abspath=Path(task.abspath), kind=task.kind, size=task.size)
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
                out.skipped.append(SkippedFile(task.path, f"{scanner.name}: {skip.reason}"))
            except OSError:
                raise  # the file itself is unreadable: one skipped entry, below
            except MemoryError:
                out.skipped.append(SkippedFile(task.path, f"{scanner.name}: out of memory while scanning"))
            except Exception as exc:
                raw.append(
                    Finding(
                        rule_id=SCAN_ERROR.id,
                        severity=SCAN_ERROR.severity,
                        message=f"The {scanner.name} scanner failed on this file ({safe_error_text(exc)}).",
                        path=task.path,
                        key=f"{scanner.name}:{type(exc).__name__}",
                        scanner=scanner.name,
                    )
                )
        if examined:
            out.scanned.append(task.path)
        if raw:
            finish_findings(sf, raw, out, rule_ids, report_invalid=True)
    except OSError as exc:
        # The file vanished or became unreadable between discovery and scanning.
        out = EngineOutput(skipped=[SkippedFile(task.path, f"unreadable: {exc.strerror or exc}")])
    finally:
        sf.release()
    return out


def _own(f: Finding, scanner: str) -> Finding:
    if f.scanner == scanner:
        return f
    return f.evolve(scanner=scanner)


def finish_findings(
    sf: SourceFile, raw: list[Finding], out: EngineOutput, rule_ids: Collection[str], *, report_invalid: bool
) -> None:
    """Fingerprint, line-hash and apply inline suppressions while the text is at hand.

    Also used by the pipeline for findings of a scanner's whole-tree pass, with
    `report_invalid=False`: the per-file pass already reported the file's
    invalid directives once.
    """
    is_text = sf.kind not in (FileKind.MODEL, FileKind.BINARY)
    lines = sf.lines if is_text else None
    findings = assign_fingerprints(raw, lines)
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
            out.suppressed.append(Suppressed(f, "inline", reason or "(no reason given)"))
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
) -> EngineOutput:
    """Scan `files` with the given scanners; results are in no particular order."""
    tasks = [FileTask(f.path, str(f.abspath), f.kind, f.size) for f in files]
    if not specs or not tasks:
        return EngineOutput()
    # Largest first so a big file does not start last and stretch the tail.
    tasks.sort(key=lambda t: -t.size)
    out = EngineOutput()
    if jobs <= 1 or len(tasks) < MIN_FILES_FOR_POOL:
        scanners = [cls(ctx) for cls, ctx in specs]
        for t in tasks:
            out.extend(scan_one(t, scanners, rule_ids))
        return out
    # Imported here: a small scan never starts a pool and need not pay for these modules.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork keeps start-up cheap (no re-import); elsewhere fall back to spawn.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    ctx = multiprocessing.get_context(method)
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(list(specs), rule_ids)
    ) as pool:
        for part in pool.map(_run_chunk, list(_chunks(tasks))):
            out.extend(part)
    return out
