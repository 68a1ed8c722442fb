"""Which expression contexts carry text that someone outside the project controls.

Two tiers:
- attacker: anyone who can open an issue, a pull request, a comment or a
  review writes this text (titles, bodies, branch names of forks, commit
  messages, wiki page names).
- writer: free text set by people or callers with more access (tag and
  branch names pushed to the repository, labels and milestones, workflow
  inputs, dispatch and deployment payloads).

Identifiers whose characters GitHub restricts (logins, repository names,
SHAs, numbers, URLs it builds) are neither: they cannot carry shell syntax.
  A shell metacharacter there still runs as code, but the author is trusted
  more, so findings are lower.

Paths are in `expressions.normalise_ref` form; `*` matches one segment.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache


class Tier(enum.IntEnum):
    NONE = 0
    WRITER = 1
    ATTACKER = 2


_ATTACKER_PATTERNS = (
    "github.head_ref",
    "github.event.issue.title",
    "github.event.issue.body",
    "github.event.pull_request.title",
    "github.event.pull_request.body",
    "github.event.pull_request.head.ref",
    "github.event.pull_request.head.label",
    "github.event.pull_request.head.repo.default_branch",
    "github.event.pull_request.head.repo.description",
    "github.event.pull_request.head.repo.homepage",
    "github.event.comment.body",
    "github.event.review.body",
    "github.event.review_comment.body",
    "github.event.discussion.title",
    "github.event.discussion.body",
    "github.event.pages.*.page_name",
    "github.event.commits.*.message",
    "github.event.commits.*.author.name",
    "github.event.commits.*.author.email",
    "github.event.commits.*.committer.name",
    "github.event.commits.*.committer.email",
    "github.event.head_commit.message",
    "github.event.head_commit.author.name",
    "github.event.head_commit.author.email",
    "github.event.head_commit.committer.name",
    "github.event.head_commit.committer.email",
    "github.event.merge_group.head_commit.message",
    "github.event.merge_group.head_commit.author.name",
    "github.event.merge_group.head_commit.author.email",
    "github.event.changes.*.from",
    "github.event.workflow_run.name",
    "github.event.workflow_run.path",
    "github.event.workflow_run.head_branch",
    "github.event.workflow_run.display_title",
    "github.event.workflow_run.head_commit.message",
    "github.event.workflow_run.head_commit.author.name",
    "github.event.workflow_run.head_commit.author.email",
    "github.event.workflow_run.head_commit.committer.name",
    "github.event.workflow_run.head_commit.committer.email",
    "github.event.workflow_run.head_repository.description",
    "github.event.workflow_run.pull_requests.*.head.ref",
    "github.event.check_suite.head_branch",
    "github.event.check_run.check_suite.head_branch",
    "github.event.check_suite.pull_requests.*.head.ref",
    "github.event.check_run.check_suite.pull_requests.*.head.ref",
)

_WRITER_PATTERNS = (
    "github.ref_name",
    "github.ref",
    "github.base_ref",
    "github.event.ref",
    "github.event.base_ref",
    "github.event.release.tag_name",
    "github.event.release.name",
    "github.event.release.body",
    "github.event.pull_request.base.ref",
    "github.event.label.name",
    "github.event.label.description",
    "github.event.pull_request.labels.*.name",
    "github.event.issue.labels.*.name",
    "github.event.pull_request.milestone.title",
    "github.event.issue.milestone.title",
    "github.event.discussion.category.name",
    "github.event.deployment.environment",
    "github.event.deployment.payload",
    "github.event.deployment.payload.*",
    "github.event.inputs.*",
    "github.event.client_payload",
    "github.event.client_payload.*",
    "inputs.*",
)

# Whole objects that contain attacker text: `toJSON(github.event)` dumps every field.
_ATTACKER_CONTAINERS = frozenset(
    {
        "github",
        "github.event",
        "github.event.issue",
        "github.event.pull_request",
        "github.event.pull_request.head",
        "github.event.comment",
        "github.event.review",
        "github.event.review_comment",
        "github.event.discussion",
        "github.event.pages",
        "github.event.commits",
        "github.event.head_commit",
        "github.event.workflow_run",
        "github.event.workflow_run.head_commit",
        "github.event.merge_group",
    }
)


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = ("\\.".join("[^.]+" if seg == "*" else re.escape(seg) for seg in p.split(".")) for p in patterns)
    # A path below a matched field (`...title.length`) still reads attacker text.
    return re.compile(r"^(?:" + "|".join(alternatives) + r")(?:\..*)?$")


_ATTACKER_RE = _compile(_ATTACKER_PATTERNS)
_WRITER_RE = _compile(_WRITER_PATTERNS)


@lru_cache(maxsize=4096)
def classify(ref: str) -> Tier:
    """The tier of one normalised context path."""
    if ref in _ATTACKER_CONTAINERS or _ATTACKER_RE.match(ref):
        return Tier.ATTACKER
    if _WRITER_RE.match(ref):
        return Tier.WRITER
    return Tier.NONE


# What the outputs of common actions can hold. An output is attacker text only when the action
# copies names a pull request's author chose (changed file names, branch names, PR titles) into it;
# flags, counts, versions and SHAs cannot carry shell syntax. Unknown outputs of a listed action take
# its default; actions not listed here are not followed at all.
_FILE_LIST_ACTIONS = (
    "tj-actions/changed-files",
    "step-security/changed-files",
)
# Outputs of the changed-files actions that are 'true'/'false' or a number.
_CHANGED_FILES_BOUNDED = re.compile(r"^(?:any|only)_[a-z_]+$|_count$")
# dorny/paths-filter: one 'true'/'false' output per filter, `changes` (a JSON list of the workflow's own
# filter names); only `<filter>_files` (with `list-files:`) carries file names.
_PATHS_FILTER_FILES = re.compile(r"_files$")


@dataclass(frozen=True)
class _ActionOutputs:
    default: Tier
    tiers: tuple[tuple[str, Tier], ...] = ()
    """Exact output names with their own tier."""


_ACTION_OUTPUTS: dict[str, _ActionOutputs] = {
    "tj-actions/branch-names": _ActionOutputs(
        Tier.ATTACKER,
        (
            ("is_default", Tier.NONE),
            ("is_tag", Tier.NONE),
            ("base_ref_branch", Tier.WRITER),
            ("default_branch", Tier.WRITER),
        ),
    ),
    "jitterbit/get-changed-files": _ActionOutputs(Tier.ATTACKER),
    "lots0logs/gh-action-get-changed-files": _ActionOutputs(Tier.ATTACKER),
    "trilom/file-changes-action": _ActionOutputs(Tier.ATTACKER),
    "ab185508/file-changes-action": _ActionOutputs(Tier.ATTACKER),
    "xt0rted/pull-request-comment-branch": _ActionOutputs(
        Tier.ATTACKER, (("head_sha", Tier.NONE), ("base_sha", Tier.NONE), ("base_ref", Tier.WRITER))
    ),
    "actions-ecosystem/action-get-merged-pull-request": _ActionOutputs(Tier.ATTACKER, (("number", Tier.NONE),)),
    # A docker tag only allows [A-Za-z0-9_.-], so the tag and version outputs cannot carry shell syntax;
    # labels, annotations and the JSON dump copy the repository description and source branch verbatim.
    "docker/metadata-action": _ActionOutputs(
        Tier.NONE,
        (("labels", Tier.WRITER), ("annotations", Tier.WRITER), ("json", Tier.WRITER)),
    ),
}


def output_tier(slug: str, output: str | None) -> Tier:
    """What one output of a `uses:` step can hold; Tier.NONE for actions whose outputs are bounded.

    `output` None (or `*`) is the whole outputs object (`toJSON(steps.x.outputs)`): its worst field.
    """
    if output is None or output == "*":
        if slug in _FILE_LIST_ACTIONS or slug == "dorny/paths-filter":
            return Tier.ATTACKER
        whole = _ACTION_OUTPUTS.get(slug)
        return max((whole.default, *(t for _, t in whole.tiers))) if whole is not None else Tier.NONE
    name = output.lower()
    if slug in _FILE_LIST_ACTIONS:
        return Tier.NONE if _CHANGED_FILES_BOUNDED.search(name) else Tier.ATTACKER
    if slug == "dorny/paths-filter":
        return Tier.ATTACKER if _PATHS_FILTER_FILES.search(name) else Tier.NONE
    # actions/checkout (`ref`, `commit`), actions/setup-* (versions, paths, `cache-hit`) and every
    # action not listed: their outputs are not followed.
    spec = _ACTION_OUTPUTS.get(slug)
    if spec is None:
        return Tier.NONE
    return dict(spec.tiers).get(name, spec.default)
