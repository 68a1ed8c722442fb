"""One sticky pull request comment, found again by a hidden marker and updated in place."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aisec_ci.action.github_api import GitHubClient, GitHubError

COMMENT_MAX_BYTES = 65_000
"""GitHub rejects bodies over 65,536 characters; it does not say whether it counts
bytes or characters, and UTF-8 bytes are never fewer than characters."""


def marker(category: str) -> str:
    """Hidden first line that identifies our comment; one per category so two jobs do not fight."""
    safe = re.sub(r"[^A-Za-z0-9_./:-]", "_", category) or "aisec-ci"
    return f"<!-- aisec-ci:summary category={safe} -->\n"


@dataclass
class CommentOutcome:
    action: str = ""
    """created, updated, unchanged, or empty when nothing was written."""
    comment_id: int | None = None
    url: str = ""
    warnings: list[str] = field(default_factory=list)


def _is_ours(comment: Mapping[str, Any], mark: str) -> bool:
    body = comment.get("body")
    if not isinstance(body, str) or not body.startswith(mark):
        return False
    # A person who pastes our marker must not have their comment overwritten:
    # only a bot identity (the workflow token posts as github-actions[bot]) counts.
    user = comment.get("user")
    if not isinstance(user, Mapping):
        return False
    return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")


def find_comment(client: GitHubClient, repository: str, number: int, mark: str) -> Mapping[str, Any] | None:
    for comment in client.paginate(f"repos/{repository}/issues/{number}/comments", {"per_page": 100}):
        if isinstance(comment, Mapping) and _is_ours(comment, mark):
            return comment
    return None


def _too_long(exc: GitHubError) -> bool:
    return exc.status == 422 and "too long" in str(exc).lower()


def publish_comment(
    client: GitHubClient,
    repository: str,
    number: int,
    mark: str,
    render: Callable[[int], str],
) -> CommentOutcome:
    """Create or update the comment. `render(max_bytes)` builds a body that starts with `mark`.

    Never raises: a token that cannot write (fork pull requests, Dependabot)
    or any other failure becomes a warning in the outcome.
    """
    outcome = CommentOutcome()
    try:
        existing = find_comment(client, repository, number, mark)
    except GitHubError as exc:
        outcome.warnings.append(f"PR comment skipped: cannot list the pull request's comments — {exc}")
        return outcome
    budget = COMMENT_MAX_BYTES
    for _ in range(3):
        body = render(budget)
        try:
            if existing is not None:
                if existing.get("body") == body:
                    outcome.action = "unchanged"
                    outcome.comment_id = int(existing["id"])
                    outcome.url = str(existing.get("html_url", ""))
                    return outcome
                data = client.patch_json(f"repos/{repository}/issues/comments/{int(existing['id'])}", {"body": body})
                outcome.action = "updated"
            else:
                data = client.post_json(f"repos/{repository}/issues/{number}/comments", {"body": body})
                outcome.action = "created"
        except GitHubError as exc:
            if _too_long(exc):
                budget //= 2
                continue
            why = (
                " (the token is read-only here; needs `permissions: pull-requests: write`)" if exc.is_permission else ""
            )
            outcome.warnings.append(f"PR comment not written{why}: {exc}")
            outcome.action = ""
            return outcome
        if isinstance(data, Mapping):
            outcome.comment_id = int(data["id"]) if isinstance(data.get("id"), int) else None
            outcome.url = str(data.get("html_url", ""))
        return outcome
    outcome.warnings.append("PR comment not written: GitHub kept rejecting the body as too long")
    return outcome
