"""Whether a job uses a write scope of GITHUB_TOKEN it is granted.

A permission is only excessive where nothing uses it. We cannot know what every action does with the
token, so each job gets one of three answers per scope:
- WRITES: a step visibly writes in that scope (an action known to, `git push` for contents, a `gh`
  subcommand that edits issues, pull requests or releases);
- NO: no step can reach the token at all (scripts that neither name it nor run `gh` or `git push`, and
  actions known not to write with it), or the only token users are actions known to write other scopes;
- MAYBE: anything else (the token named explicitly, `actions/github-script`, an unlisted or local
  action, a reusable workflow): it may or may not write in that scope.
"""

from __future__ import annotations

import enum
import re

from aisec_ci.scanners.workflows.model import Job, WorkflowDoc

# Actions that write with the default `github.token` input (or mint an OIDC token), and the scopes they use.
_WRITER_ACTIONS: dict[str, frozenset[str]] = {
    "actions/stale": frozenset({"issues", "pull-requests", "actions"}),
    "actions/labeler": frozenset({"issues", "pull-requests"}),
    "actions/first-interaction": frozenset({"issues", "pull-requests"}),
    "actions/deploy-pages": frozenset({"pages", "id-token"}),
    "actions/attest-build-provenance": frozenset({"id-token", "attestations", "packages"}),
    "actions/attest": frozenset({"id-token", "attestations", "packages"}),
    "softprops/action-gh-release": frozenset({"contents", "discussions"}),
    "ncipollo/release-action": frozenset({"contents"}),
    "peter-evans/create-pull-request": frozenset({"contents", "pull-requests", "issues"}),
    "peter-evans/create-or-update-comment": frozenset({"issues", "pull-requests"}),
    "marocchino/sticky-pull-request-comment": frozenset({"issues", "pull-requests"}),
    "stefanzweifel/git-auto-commit-action": frozenset({"contents"}),
    "pypa/gh-action-pypi-publish": frozenset({"id-token"}),
    "googleapis/release-please-action": frozenset({"contents", "pull-requests", "issues"}),
    "jamesives/github-pages-deploy-action": frozenset({"contents"}),
}
# Actions that do not write with the token (checkout only reads; setup and cache actions never use it
# for writes). A script step after a checkout can still `git push` with the persisted credential:
# that is looked for in the scripts.
_READ_ONLY_PREFIXES = ("actions/setup-", "docker/setup-", "azure/setup-")
_READ_ONLY_ACTIONS = frozenset(
    {
        "actions/checkout",
        "actions/cache",
        "actions/upload-artifact",
        "actions/download-artifact",
        "docker/metadata-action",
        "astral-sh/setup-uv",
    }
)
_TOKEN_REF = re.compile(r"secrets\s*\.\s*github_token\b|\bgithub\s*\.\s*token\b", re.IGNORECASE)
_GIT_PUSH = re.compile(r"\bgit\s+push\b")
_GH_CLI = re.compile(r"(?:^|[\s;&|(`$])gh\s+[a-z]", re.MULTILINE)


class Use(enum.Enum):
    NO = "no"
    MAYBE = "maybe"
    WRITES = "writes"


# `gh` subcommands that write, and the scope each needs.
_GH_WRITES = (
    (re.compile(r"\bgh\s+pr\s+(?:edit|comment|merge|create|close|reopen|review|ready)\b"), ("pull-requests", "issues")),
    (re.compile(r"\bgh\s+issue\s+(?:edit|comment|create|close|reopen|delete|transfer|lock|unlock)\b"), ("issues",)),
    (re.compile(r"\bgh\s+label\s+(?:create|edit|delete|clone)\b"), ("issues", "pull-requests")),
    (re.compile(r"\bgh\s+release\s+(?:create|edit|upload|delete)\b"), ("contents",)),
    (re.compile(r"\bgh\s+run\s+(?:cancel|rerun|delete)\b|\bgh\s+workflow\s+(?:run|enable|disable)\b"), ("actions",)),
)


def scope_use(doc: WorkflowDoc, job: Job, scope: str) -> Use:
    """Whether `job` visibly writes in `scope`, cannot use the token at all, or may."""
    source = doc.file.text
    if job.uses is not None:
        return Use.MAYBE  # a reusable workflow receives the job's permissions
    answer = Use.NO
    if _TOKEN_REF.search(source[job.node.start : job.node.end]):
        answer = Use.MAYBE
    for step in job.steps:
        run = step.run
        if run is not None:
            if _GIT_PUSH.search(run.value) and scope == "contents":
                return Use.WRITES
            if any(pattern.search(run.value) and scope in scopes for pattern, scopes in _GH_WRITES):
                return Use.WRITES
            if _GH_CLI.search(run.value) or _GIT_PUSH.search(run.value):
                answer = Use.MAYBE
            continue
        uses = step.uses
        if uses is None or uses.kind == "docker":
            continue
        if uses.kind != "repo":
            answer = Use.MAYBE  # a local action may use the token
            continue
        scopes = _WRITER_ACTIONS.get(uses.slug)
        if scopes is not None:
            if scope in scopes:
                return Use.WRITES
            continue
        if uses.slug in _READ_ONLY_ACTIONS or uses.slug.startswith(_READ_ONLY_PREFIXES):
            continue
        answer = Use.MAYBE  # github-script, or an action we do not know
    env = doc.root.get("env")
    if answer is Use.NO and env is not None and _TOKEN_REF.search(source[env.start : env.end]):
        return Use.MAYBE  # the workflow's env hands the token to every step
    return answer
