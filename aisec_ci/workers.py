"""A supervised pool of scanner processes: one file that kills or hangs a worker costs
that file, never the scan.

concurrent.futures' process pool loses every pending task when one worker dies
("BrokenProcessPool"), and cannot tell which file was being scanned. Here each
worker scans the files of its chunk in order and sends one result per file, so the
parent always knows the file a worker is on: the first of its chunk not yet
answered. When a worker dies (the kernel's OOM killer, a crash in a C extension)
or overstays the hard time budget (stuck inside one C call), that file is listed as
skipped with the reason, a fresh worker takes the rest of the chunk, and the scan
goes on.

Workers ignore SIGINT (the parent handles it and stops them) and ask the kernel to
end them when the parent dies, so a cancelled or killed scan leaves no orphan
holding the caller's pipes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from aisec_ci.budget import FileBudget

if TYPE_CHECKING:
    from aisec_ci.engine import EngineOutput, FileResultSink, FileTask, PayloadMaker
    from aisec_ci.scanners.base import ScanContext, Scanner

_POLL_SECONDS = 1.0
_STOP_GRACE_SECONDS = 2.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: have the kernel send SIGKILL to this worker when its parent goes away."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _worker_main(
    conn: Connection,
    specs: Sequence[tuple[type[Scanner], ScanContext]],
    rule_ids: Collection[str],
    budget: FileBudget,
    parent_pid: int,
    prepare: PayloadMaker | None = None,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    if os.getppid() != parent_pid:
        return  # the parent died before the death signal was armed
    from aisec_ci.engine import scan_one

    scanners = [cls(ctx) for cls, ctx in specs]
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for task in chunk:
            conn.send(scan_one(task, scanners, rule_ids, budget, prepare))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    pending: deque[FileTask] = field(default_factory=deque)
    """Files sent to the worker and not yet answered; the first is the one in progress."""
    since: float = 0.0
    """When the file in progress started (the previous answer, or the chunk's dispatch)."""
    overstayed: bool = False


class SupervisedPool:
    def __init__(
        self,
        ctx: BaseContext,
        specs: Sequence[tuple[type[Scanner], ScanContext]],
        rule_ids: Collection[str],
        budget: FileBudget,
        prepare: PayloadMaker | None = None,
    ) -> None:
        self.ctx = ctx
        self.specs = specs
        self.rule_ids = rule_ids
        self.budget = budget
        self.prepare = prepare
        self.workers: list[_Worker] = []
        self.on_file: FileResultSink | None = None

    def _start(self) -> _Worker:
        parent, child = self.ctx.Pipe(duplex=True)
        process = self.ctx.Process(  # type: ignore[attr-defined]
            target=_worker_main,
            args=(child, self.specs, self.rule_ids, self.budget, os.getpid(), self.prepare),
            daemon=True,
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self.workers.append(worker)
        return worker

    def run(
        self, chunks: Sequence[list[FileTask]], jobs: int, out: EngineOutput, on_file: FileResultSink | None = None
    ) -> None:
        self.on_file = on_file
        queue: deque[list[FileTask]] = deque(chunks)
        try:
            for _ in range(min(jobs, len(queue))):
                self._dispatch(self._start(), queue)
            while any(w.pending for w in self.workers):
                self._step(queue, out)
        finally:
            self.stop()

    def _dispatch(self, worker: _Worker, queue: deque[list[FileTask]]) -> None:
        if not queue:
            return
        chunk = queue.popleft()
        worker.pending.extend(chunk)
        worker.since = time.monotonic()
        worker.conn.send(chunk)

    def _step(self, queue: deque[list[FileTask]], out: EngineOutput) -> None:
        busy = [w for w in self.workers if w.pending]
        waitables: list[Any] = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        ready = set(wait(waitables, timeout=_POLL_SECONDS))
        now = time.monotonic()
        for w in busy:
            if w.conn in ready:
                self._drain(w, out)
            if w.pending and (w.process.sentinel in ready or not w.process.is_alive()):
                self._drain(w, out)  # answers sent just before it died still count
                if w.pending:
                    self._replace(w, queue, out)
                continue
            if not w.pending:
                self._dispatch(w, queue)
            elif self.budget.hard_seconds and now - w.since > self.budget.hard_seconds:
                w.overstayed = True
                w.process.kill()
                w.process.join(_STOP_GRACE_SECONDS)
                self._replace(w, queue, out)

    def _drain(self, w: _Worker, out: EngineOutput) -> None:
        while w.pending:
            try:
                if not w.conn.poll():
                    return
                part = w.conn.recv()
            except (EOFError, OSError):
                return
            task = w.pending.popleft()
            out.extend(part)
            if self.on_file is not None:
                self.on_file(task.path, part)
            w.since = time.monotonic()

    def _replace(self, w: _Worker, queue: deque[list[FileTask]], out: EngineOutput) -> None:
        """The worker is gone: its file in progress is skipped with the reason, the
        rest of its chunk goes back to the front of the queue, a new worker starts."""
        from aisec_ci.engine import EngineOutput
        from aisec_ci.workspace.files import SkippedFile

        culprit = w.pending.popleft()
        w.process.join(_STOP_GRACE_SECONDS)  # reap it, so its exit status is known
        reason = self._death_reason(w)
        lost = EngineOutput(skipped=[SkippedFile(culprit.path, reason)], transient=True)
        out.extend(lost)
        if self.on_file is not None:
            self.on_file(culprit.path, lost)
        if w.pending:
            queue.appendleft(list(w.pending))
            w.pending.clear()
        with contextlib.suppress(OSError):
            w.conn.close()
        self.workers.remove(w)
        if queue:
            self._dispatch(self._start(), queue)

    def _death_reason(self, w: _Worker) -> str:
        if w.overstayed:
            return (
                f"not scanned: took longer than the {self.budget.seconds:g} s per-file time budget and its "
                "worker was stopped (max-file-seconds in .aisec.yml)"
            )
        code = w.process.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = " (usually the system running out of memory)" if -code == signal.SIGKILL else ""
            return f"not scanned: the process scanning it was killed by {name}{hint}"
        return f"not scanned: the process scanning it exited unexpectedly (status {code})"

    def stop(self) -> None:
        """End every worker: politely when idle, by force when it does not listen."""
        for w in self.workers:
            with contextlib.suppress(OSError, ValueError):
                if w.pending:
                    w.process.terminate()
                else:
                    w.conn.send(None)
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        for w in self.workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join(_STOP_GRACE_SECONDS)
            with contextlib.suppress(OSError):
                w.conn.close()
        self.workers.clear()
