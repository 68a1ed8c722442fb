"""Inline review comments: each new finding on a line the pull request adds gets one.

All new comments of a run go out as one review (`pulls/create-review`), so the
author gets one notification. Each comment starts with a hidden marker that
names the finding's fingerprint (stable across line shifts) and its state, so
a later run finds it again: it leaves or updates a comment whose finding is
still there, marks one whose finding is gone as fixed, and never posts a
second comment for the same finding. Nothing here raises: a read-only token, a
422 or an outage becomes a warning, and the gate is decided elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aisec_ci.action.diff_lines import MAX_LISTED_FILES, FileDiff, diff_from_files
from aisec_ci.action.github_api import GitHubClient, GitHubError
from aisec_ci.action.suggestions import Suggestion, suggestion_for
from aisec_ci.findings import Finding
from aisec_ci.redaction import safe_message, scrub
from aisec_ci.report.hidden import shown_findings
from aisec_ci.report.markdown import escape, escape_message
from aisec_ci.result import ScanResult
from aisec_ci.rules import RuleCatalog
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import path_bytes

DEFAULT_LIMIT = 20
MESSAGE_CHARS = 1_000
FOOTER_ROWS = 30
_ICON = {
    Severity.CRITICAL: "🟥",
    Severity.HIGH: "🟧",
    Severity.MEDIUM: "🟨",
    Severity.LOW: "🟦",
    Severity.INFO: "⬜",
}
_MARKER = re.compile(r"<!-- aisec-ci:finding category=(\S+) fingerprint=([0-9A-Za-z]+) state=(open|fixed) -->\n")
_SUPPRESSION_WORDS = {
    "inline": "an inline `aisec: ignore` comment",
    "config": "an ignore in the configuration",
    "baseline": "the baseline",
}


def category_key(category: str) -> str:
    """The category as it appears in markers (the sticky comment's rules: no spaces, no `-->`)."""
    return re.sub(r"[^A-Za-z0-9_./:-]", "_", category) or "aisec-ci"


def finding_marker(category: str, fingerprint: str, state: str) -> str:
    return f"<!-- aisec-ci:finding category={category_key(category)} fingerprint={fingerprint} state={state} -->\n"


def review_marker(category: str) -> str:
    return f"<!-- aisec-ci:review category={category_key(category)} -->\n"


@dataclass(frozen=True)
class Placed:
    """A new finding on a line the pull request adds, with its mechanical fix if it has one."""

    finding: Finding
    suggestion: Suggestion | None = None


@dataclass(frozen=True)
class Existing:
    """One of our earlier review comments, as its marker describes it."""

    id: int
    fingerprint: str
    state: str
    body: str


@dataclass
class ReviewOutcome:
    posted: list[Finding] = field(default_factory=list)
    """Findings that got a new comment in this run's review."""
    already: int = 0
    """Findings on changed lines that an earlier run commented on (left or updated)."""
    updated: int = 0
    """Earlier comments edited: new wording, fixed, or open again."""
    fixed: int = 0
    """Earlier comments marked fixed in this run."""
    over_limit: list[Finding] = field(default_factory=list)
    """Findings on changed lines left without a comment by `review-comments-limit`."""
    limit: int = DEFAULT_LIMIT
    review_url: str = ""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Log lines: why nothing was done, what was done."""


def _rule_link(rule_id: str, catalog: RuleCatalog) -> str:
    rule = catalog.get(rule_id)
    code = f"`{escape(rule_id)}`"
    return f"[{code}]({rule.help_uri})" if rule is not None else code


def open_body(f: Finding, catalog: RuleCatalog, category: str, suggestion: Suggestion | None) -> str:
    """A comment for a finding: severity, rule (linked to its help, which explains the fix),
    message, and the suggestion when there is one. The message was redacted by the pipeline;
    it is redacted again here, since this text is published to everyone who can read the
    pull request."""
    head = f"{_ICON[f.severity]} **{f.severity.label}** · {_rule_link(f.rule_id, catalog)} · aisec-ci"
    parts = [head, "", escape_message(safe_message(f.message), MESSAGE_CHARS)]
    if suggestion is not None:
        parts += ["", "Suggested fix:", "", suggestion.block()]
    return finding_marker(category, f.fingerprint, "open") + scrub("\n".join(parts)) + "\n"


def fixed_body(existing: Existing, category: str, rule_id: str, why: str) -> str:
    return (
        finding_marker(category, existing.fingerprint, "fixed")
        + f"✅ **{why}** · `{escape(rule_id)}` · aisec-ci no longer reports this finding.\n"
    )


def _rule_of(body: str) -> str:
    m = re.search(r"`([a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*)`", body)
    return m.group(1) if m else "finding"


def _is_bot(comment: Mapping[str, Any]) -> bool:
    # A person who pastes our marker must not have their comment edited: only a bot identity counts.
    user = comment.get("user")
    if not isinstance(user, Mapping):
        return False
    return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")


def parse_existing(comments: Iterable[Any], category: str) -> dict[str, list[Existing]]:
    """Our comments of this category, by fingerprint (oldest first)."""
    key = category_key(category)
    out: dict[str, list[Existing]] = {}
    for c in comments:
        if not isinstance(c, Mapping) or not isinstance(c.get("body"), str) or not isinstance(c.get("id"), int):
            continue
        m = _MARKER.match(c["body"])
        if m is None or m.group(1) != key or not _is_bot(c):
            continue
        out.setdefault(m.group(2), []).append(Existing(int(c["id"]), m.group(2), m.group(3), c["body"]))
    return out


def candidates(result: ScanResult) -> list[Finding]:
    """The findings a review may comment on, most severe first: the counted (new) ones the
    reports list, with a fingerprint to find the comment again."""
    shown = [f for f in shown_findings(result) if f.fingerprint]
    return sorted(shown, key=lambda f: (-int(f.severity), f.sort_key()))


def place(
    findings: Sequence[Finding], diff: Mapping[str, FileDiff], read_lines: Callable[[str], list[str] | None]
) -> list[Placed]:
    """The findings whose start line the pull request adds or changes.

    The line's text in the checkout must equal the diff's: the checkout may be
    the merge commit rather than the head, and a comment must land on the line
    the finding is about or nowhere.
    """
    placed: list[Placed] = []
    cache: dict[str, list[str] | None] = {}
    for f in findings:
        file_diff = diff.get(f.path)
        if file_diff is None or f.start_line not in file_diff.added:
            continue
        if f.path not in cache:
            cache[f.path] = read_lines(f.path)
        lines = cache[f.path]
        if lines is None or f.start_line > len(lines):
            continue
        if lines[f.start_line - 1].rstrip("\r") != file_diff.added[f.start_line].rstrip("\r"):
            continue
        placed.append(Placed(f, suggestion_for(f, lines)))
    return placed


def _present(result: ScanResult) -> dict[str, str]:
    """Fingerprint -> "" for findings still reported (new or pre-existing), or the suppression
    kind for findings now hidden by an ignore or the baseline."""
    present: dict[str, str] = {}
    for s in result.suppressed:
        present[s.finding.fingerprint] = "" if s.kind == "new-only" else s.kind
    for f in result.findings:
        present[f.fingerprint] = ""
    return present


def _write_warning(exc: GitHubError, what: str) -> str:
    why = " (the token is read-only here; needs `permissions: pull-requests: write`)" if exc.is_permission else ""
    return f"review comments: {what}{why}: {exc}"


def load_diff(
    client: GitHubClient,
    repository: str,
    number: int,
    git_diff: Callable[[], dict[str, FileDiff] | None],
    outcome: ReviewOutcome,
) -> dict[str, FileDiff] | None:
    """The pull request's right side from `pulls/list-files`, git filling in what it cannot give."""
    try:
        entries = list(client.paginate(f"repos/{repository}/pulls/{number}/files", {"per_page": 100}, max_pages=30))
    except GitHubError as exc:
        local = git_diff()
        if local is None:
            outcome.warnings.append(f"review comments skipped: cannot list the pull request's files — {exc}")
        else:
            outcome.notes.append(f"pull request files not listed ({exc}); using the diff from git")
        return local
    diff = diff_from_files(e for e in entries if isinstance(e, Mapping))
    if len(entries) >= MAX_LISTED_FILES:
        # GitHub lists the first 3000 files only; git knows the others.
        local = git_diff() or {}
        for path, file_diff in local.items():
            diff.setdefault(path, file_diff)
    return diff


def publish_review(
    client: GitHubClient,
    repository: str,
    number: int,
    *,
    head_sha: str,
    category: str,
    result: ScanResult,
    catalog: RuleCatalog,
    limit: int,
    read_lines: Callable[[str], list[str] | None],
    git_diff: Callable[[], dict[str, FileDiff] | None],
) -> ReviewOutcome:
    """Post, update and mark fixed the run's review comments; never raises."""
    outcome = ReviewOutcome(limit=limit)
    base = f"repos/{repository}/pulls/{number}"
    try:
        pull = client.get_json(base)
    except GitHubError as exc:
        outcome.notes.append(f"could not read the pull request ({exc}); commenting on head {head_sha[:12]}")
        pull = None
    current = pull.get("head", {}).get("sha") if isinstance(pull, Mapping) else None
    if isinstance(current, str) and current.lower() != head_sha.lower():
        # Line numbers belong to the commit that was scanned; the run for the newer head comments.
        outcome.notes.append(
            f"review comments skipped: the pull request moved on to {current[:12]} (this run scanned {head_sha[:12]})"
        )
        return outcome
    try:
        existing = parse_existing(client.paginate(f"{base}/comments", {"per_page": 100}), category)
    except GitHubError as exc:
        outcome.warnings.append(f"review comments skipped: cannot list the pull request's review comments — {exc}")
        return outcome

    found = candidates(result)
    placed: list[Placed] = []
    if found:
        diff = load_diff(client, repository, number, git_diff, outcome)
        if diff is None:
            return outcome
        placed = place(found, diff, read_lines)

    edits: list[tuple[Existing, str, bool]] = []
    fresh: list[Placed] = []
    for p in placed:
        earlier = existing.get(p.finding.fingerprint)
        if not earlier:
            fresh.append(p)
            continue
        outcome.already += 1
        body = open_body(p.finding, catalog, category, p.suggestion)
        edits += [(e, body, False) for e in earlier if e.body != body]
    present = _present(result)
    for fingerprint, earlier in sorted(existing.items()):
        if fingerprint in present and not present[fingerprint]:
            continue  # still reported (maybe off the diff now, or over the limit): leave it
        kind = present.get(fingerprint)
        why = f"Suppressed by {_SUPPRESSION_WORDS.get(kind, kind)}" if kind else "Fixed"
        for e in earlier:
            if e.state != "fixed":
                edits.append((e, fixed_body(e, category, _rule_of(e.body), why), True))

    for e, body, fixes in edits:
        try:
            client.patch_json(f"repos/{repository}/pulls/comments/{e.id}", {"body": body})
            outcome.updated += 1
            outcome.fixed += fixes
        except GitHubError as exc:
            outcome.warnings.append(_write_warning(exc, f"comment {e.id} not updated"))
            if exc.is_permission:
                return outcome  # the same token will not write the review either

    posting, outcome.over_limit = fresh[: max(0, limit)], [p.finding for p in fresh[max(0, limit) :]]
    if not posting:
        return outcome
    comments = [
        {
            "path": p.finding.path,
            "line": p.finding.start_line,
            "side": "RIGHT",
            "body": open_body(p.finding, catalog, category, p.suggestion),
        }
        for p in posting
    ]
    plural = "s" if len(posting) != 1 else ""
    summary = f"aisec-ci: {len(posting)} new finding{plural} on lines this pull request changes"
    if outcome.over_limit:
        summary += f" ({len(outcome.over_limit)} more listed in the summary comment)"
    review: dict[str, Any] = {
        "commit_id": head_sha,
        "event": "COMMENT",
        "body": review_marker(category) + summary + ".\n",
        "comments": comments,
    }
    try:
        data = client.post_json(f"{base}/reviews", review)
    except GitHubError as exc:
        outcome.warnings.append(_write_warning(exc, "review not posted"))
        outcome.over_limit = []
        return outcome
    outcome.posted = [p.finding for p in posting]
    if isinstance(data, Mapping):
        outcome.review_url = str(data.get("html_url", ""))
    return outcome


def review_footer(outcome: ReviewOutcome, repo_url: str | None, ref: str | None) -> str:
    """The sticky comment's word on the review: how many comments, and the findings over the limit."""
    if not (outcome.posted or outcome.already or outcome.over_limit):
        return ""
    commented = len(outcome.posted) + outcome.already
    lines = [
        "",
        "### Inline review",
        "",
        # The same words on a re-run that posts nothing new: an unchanged summary is not edited.
        f"{commented} finding{'s' if commented != 1 else ''} on lines this pull request changes "
        f"{'have' if commented != 1 else 'has'} a review comment.",
    ]
    if outcome.over_limit:
        n = len(outcome.over_limit)
        lines += [
            "",
            f"{n} more on changed lines without a comment (at most {outcome.limit} per run, most severe first):",
            "",
            "| Severity | Rule | Location | Message |",
            "|:--|:--|:--|:--|",
        ]
        for f in outcome.over_limit[:FOOTER_ROWS]:
            location = escape(f"{f.path}:{f.start_line}")
            if repo_url and ref:
                url = f"{repo_url}/blob/{quote(ref, safe='/')}/{quote(path_bytes(f.path), safe='/')}#L{f.start_line}"
                location = f"[{location}]({url})"
            lines.append(
                f"| {f.severity.label} | {escape(f.rule_id)} | {location} | {escape_message(f.message, 200)} |"
            )
        if n > FOOTER_ROWS:
            lines.append(f"\n… and {n - FOOTER_ROWS} more in the job summary and the SARIF report.")
    return scrub("\n".join(lines)) + "\n"
