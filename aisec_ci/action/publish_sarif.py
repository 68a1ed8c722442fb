"""Upload the SARIF log to code scanning and wait, boundedly, for it to be processed."""

from __future__ import annotations

import base64
import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aisec_ci.action.github_api import GitHubClient, GitHubError

MAX_GZIP_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class PollSchedule:
    """When to ask for the processing status: GitHub needs a few seconds at least."""

    first: float = 5.0
    factor: float = 2.0
    tries: int = 5
    max_total: float = 120.0


@dataclass
class UploadOutcome:
    uploaded: bool = False
    sarif_id: str = ""
    status: str = ""
    """pending, complete or failed (empty when the status was never read)."""
    warnings: list[str] = field(default_factory=list)
    analyses_url: str = ""


def encode_sarif(text: str) -> str:
    """gzip then base64, as the upload endpoint requires."""
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def checkout_uri(workspace: Path) -> str:
    uri = workspace.absolute().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def upload_sarif(
    client: GitHubClient,
    repository: str,
    sarif_path: Path,
    *,
    ref: str,
    commit_sha: str,
    workspace: Path,
    started_at: str,
    schedule: PollSchedule | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> UploadOutcome:
    """Upload and poll; every failure is a warning in the outcome, never an exception."""
    outcome = UploadOutcome()
    try:
        text = sarif_path.read_text(encoding="utf-8")
    except OSError as exc:
        outcome.warnings.append(f"SARIF upload skipped: cannot read {sarif_path}: {exc.strerror or exc}")
        return outcome
    encoded = encode_sarif(text)
    if len(base64.b64decode(encoded)) > MAX_GZIP_BYTES:
        outcome.warnings.append("SARIF upload skipped: the gzipped log is over GitHub's 10 MB limit")
        return outcome
    body = {
        "commit_sha": commit_sha,
        "ref": ref,
        "sarif": encoded,
        "checkout_uri": checkout_uri(workspace),
        "started_at": started_at,
        "tool_name": "aisec-ci",
    }
    try:
        receipt = client.post_json(f"repos/{repository}/code-scanning/sarifs", body)
    except GitHubError as exc:
        outcome.warnings.append(_upload_hint(exc))
        return outcome
    outcome.uploaded = True
    outcome.sarif_id = str(receipt.get("id", "")) if isinstance(receipt, dict) else ""
    if not outcome.sarif_id:
        outcome.warnings.append("SARIF uploaded, but GitHub returned no upload id to follow")
        return outcome
    _poll(client, repository, outcome, schedule or PollSchedule(), sleep)
    return outcome


def _upload_hint(exc: GitHubError) -> str:
    msg = exc.api_message.lower()
    if exc.status == 403 and ("advanced security" in msg or "code security" in msg or "not enabled" in msg):
        why = "code scanning is not enabled for this repository (GitHub Advanced Security / Code Security)"
    elif exc.status == 403:
        why = "the token cannot write code scanning alerts (needs `permissions: security-events: write`)"
    elif exc.status == 404:
        why = "the repository was not found with this token"
    elif exc.status == 413:
        why = "the SARIF log is too large"
    elif exc.status is None:
        # No HTTP answer at all: a network failure, not a refusal.
        why = "could not connect to the GitHub API"
    else:
        why = f"GitHub refused the upload (HTTP {exc.status})"
    return f"SARIF upload failed: {why} — {exc}"


def _poll(
    client: GitHubClient,
    repository: str,
    outcome: UploadOutcome,
    schedule: PollSchedule,
    sleep: Callable[[float], None],
) -> None:
    delay = schedule.first
    waited = 0.0
    for _ in range(max(1, schedule.tries)):
        if waited + delay > schedule.max_total:
            break
        sleep(delay)
        waited += delay
        delay *= schedule.factor
        try:
            status = client.get_json(f"repos/{repository}/code-scanning/sarifs/{outcome.sarif_id}")
        except GitHubError as exc:
            outcome.warnings.append(f"could not read the SARIF processing status: {exc}")
            return
        if not isinstance(status, dict):
            outcome.warnings.append("could not read the SARIF processing status: unexpected answer")
            return
        outcome.status = str(status.get("processing_status", ""))
        outcome.analyses_url = str(status.get("analyses_url") or "")
        if outcome.status == "complete":
            return
        if outcome.status == "failed":
            errors = [str(e) for e in (status.get("errors") or [])]
            detail = "; ".join(errors) or "no error given"
            outcome.warnings.append(f"code scanning could not process the SARIF upload: {detail}")
            return
    outcome.warnings.append(
        f"the SARIF upload {outcome.sarif_id} was still {outcome.status or 'pending'} after {waited:.0f}s; "
        "results will appear when GitHub finishes processing"
    )
