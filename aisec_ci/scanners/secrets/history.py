"""History mode: secrets in blobs that git history holds, scanned with the same engine.

A range (`base..head`) scans the blobs its commits added or changed and names
the commit; full-history mode scans every unique blob reachable from any ref
once (per-commit diffs would rescan the same content many times), and names
the earliest commit that introduced a blob with findings. Blobs are read
through one `git cat-file --batch` process.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from aisec_ci.errors import UsageError
from aisec_ci.findings import Finding
from aisec_ci.scanners.secrets.content import ContentScanner
from aisec_ci.workspace.classify import classify, is_binary
from aisec_ci.workspace.files import report_path
from aisec_ci.workspace.gitdiff import GitError, git_argv, git_env, run_git, validate_revision
from aisec_ci.workspace.kinds import FileKind

MAX_BLOB = 10 * 1024 * 1024
_EMPTY_BLOB = "0" * 40


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        return run_git(root, *args, stdin=stdin)
    except GitError as exc:
        raise UsageError(f"history scan in {root}: {exc}") from None


def _range_blobs(root: Path, rev_range: str) -> dict[str, tuple[str, str]]:
    """blob id -> (path, first commit in the range that added it)."""
    # `--end-of-options`: whatever the range says, git reads it as a revision, never as an option.
    commits = _git(root, "rev-list", "--reverse", "--no-merges", "--end-of-options", rev_range, "--").split()
    if not commits:
        return {}
    out = _git(root, "diff-tree", "--stdin", "-r", "--root", "-z", "--no-renames", stdin=b"\n".join(commits) + b"\n")
    blobs: dict[str, tuple[str, str]] = {}
    fields = out.split(b"\0")
    commit = ""
    i = 0
    while i < len(fields):
        item = fields[i]
        if not item:
            i += 1
            continue
        if item.startswith(b":"):
            meta = item[1:].split()
            path = report_path(os.fsdecode(fields[i + 1])) if i + 1 < len(fields) else ""
            i += 2
            if len(meta) >= 5 and meta[4][:1] in (b"A", b"M", b"T") and meta[1].startswith(b"100"):
                blob = meta[3].decode()
                if blob != _EMPTY_BLOB and blob not in blobs:
                    blobs[blob] = (path, commit)
            continue
        commit = item.decode().strip()
        i += 1
    return blobs


def _all_blobs(root: Path) -> dict[str, tuple[str, str]]:
    """Every blob reachable from any ref, with one path it had."""
    listing = _git(root, "rev-list", "--objects", "--all")
    candidates: dict[str, str] = {}
    for raw in listing.splitlines():
        sha, _, path = raw.partition(b" ")
        if path and sha.decode() not in candidates:
            candidates[sha.decode()] = report_path(os.fsdecode(path))
    if not candidates:
        return {}
    check = _git(root, "cat-file", "--batch-check", stdin="\n".join(candidates).encode() + b"\n")
    blobs: dict[str, tuple[str, str]] = {}
    for line in check.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "blob":
            blobs[parts[0]] = (candidates[parts[0]], "")
    return blobs


def _read_blobs(root: Path, ids: list[str]) -> Iterator[tuple[str, bytes | None]]:
    """(id, content) for each id; content None when the blob is too large."""
    proc = subprocess.Popen(
        git_argv("cat-file", "--batch"),
        cwd=root,
        env=git_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin = proc.stdin

    def feed() -> None:
        # Written from a thread: git blocks on a full stdout pipe while we would block on stdin.
        try:
            for blob in ids:
                stdin.write(blob.encode() + b"\n")
        except BrokenPipeError:
            pass
        finally:
            stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for _ in ids:
            header = proc.stdout.readline().split()
            if len(header) != 3:
                continue
            size = int(header[2])
            if size > MAX_BLOB:
                remaining = size + 1
                while remaining:
                    remaining -= len(proc.stdout.read(min(remaining, 1 << 20)))
                yield header[0].decode(), None
                continue
            data = proc.stdout.read(size)
            proc.stdout.read(1)
            yield header[0].decode(), data
    finally:
        writer.join()
        proc.stdout.close()
        proc.wait()


def _introducing_commit(root: Path, blob: str) -> str:
    out = _git(root, "log", "--all", "--reverse", "--format=%H", f"--find-object={blob}")
    lines = out.decode().split()
    return lines[0] if lines else ""


def _head_blobs(root: Path) -> dict[str, tuple[str, str]]:
    out = _git(root, "ls-tree", "-r", "-z", "HEAD")
    blobs: dict[str, tuple[str, str]] = {}
    for entry in out.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob":
            blobs[parts[2].decode()] = (report_path(os.fsdecode(path)), "")
    return blobs


def _decode(data: bytes) -> str:
    raw = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    return raw.decode("utf-8", errors="replace")


def scan_history(
    root: Path, rev_range: str | None, options: dict[str, object] | None = None, *, exclude_head: bool = False
) -> list[Finding]:
    """Secrets in the blobs of `rev_range` (e.g. `origin/main..HEAD`), or in every
    unique blob of the repository when `rev_range` is None. Findings carry
    `properties.commit` and `properties.blob` and name the commit in the message.

    `exclude_head`: leave out secrets still present in HEAD at the same path (the
    working-tree scan reports those), so scanning both does not report them twice."""
    root = root.resolve()
    if rev_range is not None:
        validate_revision(rev_range, "history")
    blobs = _range_blobs(root, rev_range) if rev_range else _all_blobs(root)
    # History findings get no inline-suppression pass: allow-list comments are applied here.
    scanner = ContentScanner({k: v for k, v in (options or {}).items() if k != "history"}, skip_allowlisted=True)
    findings: list[Finding] = []
    current: set[tuple[str, str, str]] = set()
    if exclude_head:
        head = _head_blobs(root)
        for blob, data in _read_blobs(root, sorted(head)):
            blobs.pop(blob, None)
            if data is not None and not is_binary(data[:8192]):
                path = head[blob][0]
                found = scanner.scan(path, _decode(data), classify(path, data[:8192]))
                current.update((f.rule_id, f.path, f.key) for f in found)
    seen = set(current)
    for blob, data in _read_blobs(root, sorted(blobs)):
        if data is None or is_binary(data[:8192]):
            continue
        path, commit = blobs[blob]
        kind = classify(path, data[:8192])
        if kind in (FileKind.MODEL, FileKind.BINARY):
            continue
        found = scanner.scan(path, _decode(data), kind)
        if not found:
            continue
        commit = commit or _introducing_commit(root, blob)
        for f in found:
            # One report per secret per path, however many versions of the file held it.
            ident = (f.rule_id, f.path, f.key)
            if ident in seen:
                continue
            seen.add(ident)
            props = {**f.properties, "commit": commit, "blob": blob}
            findings.append(replace(f, message=f"{f.message.rstrip('.')} (commit {commit[:12]})", properties=props))
    findings.sort(key=Finding.sort_key)
    return findings
