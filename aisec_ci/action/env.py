"""The container action's environment -> a `RunPlan`.

GitHub passes inputs as `INPUT_<NAME>` with only spaces replaced and hyphens
kept (`INPUT_FAIL-ON`), the run's facts as `GITHUB_*`, and the event payload
as a JSON file at `GITHUB_EVENT_PATH`. Everything the action does afterwards is
decided here, as plain data, so the decisions can be tested without git or
a network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aisec_ci.errors import UsageError
from aisec_ci.rules import PROFILES
from aisec_ci.severity import FAIL_ON_CHOICES, Severity, parse_fail_on
from aisec_ci.workspace.reading import read_bounded

ZERO_SHA = "0" * 40
PR_EVENTS = frozenset({"pull_request", "pull_request_target"})
# Events whose run is about one change against a known base: new-only is on by default.
NEW_ONLY_AUTO_EVENTS = frozenset({"pull_request", "merge_group"})
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_REVIEW_LIMIT = 20
MAX_REVIEW_LIMIT = 100
"""One review with more comments than this is a wall nobody reads, and costs rate limit."""
DEFAULT_SERVER_URL = "https://github.com"
_SHA = re.compile(r"[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def input_name(name: str) -> str:
    """The variable the runner sets for an input (runner: `Handler.AddInputsToEnvironment`)."""
    return "INPUT_" + name.replace(" ", "_").upper()


def read_input(environ: Mapping[str, str], name: str, default: str = "") -> str:
    """An input's value; unset and empty are the same (the runner may pass either)."""
    value = environ.get(input_name(name), "").strip()
    return value or default


def parse_bool(name: str, text: str, default: bool) -> bool:
    value = text.strip().lower()
    if not value:
        return default
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise UsageError(f"input {name}: expected true or false, got {text!r}")


@dataclass(frozen=True)
class Event:
    """What the triggering event says about the commits to compare and where to publish."""

    name: str
    payload: Mapping[str, Any]
    sha: str
    """GITHUB_SHA: for pull_request the merge commit, for push the pushed head."""
    ref: str
    """GITHUB_REF, e.g. refs/pull/42/merge or refs/heads/main."""
    base_sha: str | None = None
    """Commit whose findings count as existing, when the event has one."""
    base_note: str = ""
    """Why there is no base (first push of a branch, schedule...), for the log."""
    pr_number: int | None = None
    pr_head_sha: str | None = None
    is_fork: bool = False
    """A pull_request from another repository: the token is read-only whatever `permissions:` says."""


@dataclass(frozen=True)
class RunPlan:
    """Everything the action will do, decided before any git call or HTTP request."""

    workspace: Path
    scan_root: Path
    scanners: list[str] | None
    fail_on: Severity | None
    fail_on_set: bool
    config: Path | None
    baseline: Path | None
    new_only: bool
    new_only_input: str
    event: Event
    repository: str
    api_url: str
    server_url: str
    token: str = field(repr=False)
    upload_sarif: bool = True
    sarif_file: Path = Path("aisec-ci.sarif")
    comment: bool = True
    review_comments: bool = True
    """Inline review comments on the lines a pull request adds (pull request events only)."""
    review_comments_limit: int = 20
    """New review comments per run at most; the rest are listed in the summary comment."""
    category: str = "aisec-ci"
    offline_db: Path | None = None
    safety_api_key: str = field(default="", repr=False)
    run_id: str = ""
    warnings: list[str] = field(default_factory=list)
    profile: str | None = None
    """default, strict or audit; None: the config's, else default."""
    min_severity: Severity | None = None
    """Display only: the lowest severity the summary and the PR comment list."""
    exclude: tuple[str, ...] = ()
    """Extra gitignore-style globs to leave out of the scan (input `exclude`)."""
    history: str | None = None
    """Git history to scan for secrets: a range, `all`, or the pull request's commits."""
    sbom: Path | None = None
    json_file: Path | None = None
    markdown_file: Path | None = None
    cache_dir: Path | None = None
    """The result cache's directory (input `cache`); None: no cache."""
    image: Path | None = None
    """Input `image`: scan this built image (`aisec-ci image`) instead of the repository."""
    dockerfile: Path | None = None
    """Input `dockerfile`: the image's Dockerfile, to trace image findings to its lines."""

    @property
    def owner_repo(self) -> tuple[str, str]:
        owner, _, name = self.repository.partition("/")
        return owner, name


def load_payload(environ: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """The event payload and a warning when it could not be read.

    A missing or broken payload is not fatal: the scan can still run in full;
    only the base commit and the pull request number are lost.
    """
    path_text = environ.get("GITHUB_EVENT_PATH", "").strip()
    if not path_text:
        return {}, None
    path = Path(path_text)
    try:
        data = json.loads(read_bounded(path, 64 * 1024 * 1024).decode("utf-8"))
    except FileNotFoundError:
        return {}, f"event payload {path} does not exist; scanning without a base commit"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return {}, f"event payload {path} is unreadable ({detail}); scanning without a base commit"
    if not isinstance(data, dict):
        return {}, f"event payload {path} is not a JSON object; scanning without a base commit"
    return data, None


def _get(data: Mapping[str, Any], *keys: str) -> Any:
    cur: Any = data
    for key in keys:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def _sha(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and _SHA.fullmatch(value) else None


def read_event(environ: Mapping[str, str], payload: Mapping[str, Any]) -> Event:
    """Base commit, pull request and fork status for the triggering event."""
    name = environ.get("GITHUB_EVENT_NAME", "").strip()
    sha = _sha(environ.get("GITHUB_SHA", "")) or ""
    ref = environ.get("GITHUB_REF", "").strip()
    repository = environ.get("GITHUB_REPOSITORY", "").strip()

    if name in PR_EVENTS:
        pr = payload.get("pull_request")
        if not isinstance(pr, Mapping):
            return Event(name, payload, sha, ref, base_note="the event payload has no pull_request object")
        number = payload.get("number", pr.get("number"))
        head_repo = _get(pr, "head", "repo", "full_name")
        # A deleted fork leaves head.repo null: it was still someone else's repository.
        fork = name == "pull_request" and (not isinstance(head_repo, str) or head_repo.lower() != repository.lower())
        base = _sha(_get(pr, "base", "sha"))
        return Event(
            name,
            payload,
            sha,
            ref,
            base_sha=base,
            base_note="" if base else "the pull request payload has no base.sha",
            pr_number=number if isinstance(number, int) and not isinstance(number, bool) else None,
            pr_head_sha=_sha(_get(pr, "head", "sha")),
            is_fork=fork,
        )
    if name == "merge_group":
        base = _sha(_get(payload, "merge_group", "base_sha"))
        return Event(name, payload, sha, ref, base_sha=base, base_note="" if base else "no merge_group.base_sha")
    if name == "push":
        before = _sha(payload.get("before"))
        after = _sha(payload.get("after")) or sha
        if before is None or before == ZERO_SHA:
            return Event(name, payload, sha, ref, base_note="first push of this branch: no earlier commit to compare")
        if before == after:
            return Event(name, payload, sha, ref, base_note="the push moved no commits (before == after)")
        return Event(name, payload, sha, ref, base_sha=before)
    if name in ("schedule", "workflow_dispatch"):
        return Event(name, payload, sha, ref, base_note=f"{name} runs scan the whole repository")
    return Event(name, payload, sha, ref, base_note=f"{name or 'this'} event has no base commit")


def upload_target(event: Event, head_sha: str | None) -> tuple[str, str] | None:
    """The (ref, commit_sha) pair for the SARIF upload, paired as code scanning expects.

    `refs/pull/N/merge` belongs with the merge commit GitHub made; when the
    workflow checked out something else (usually the PR head), the results
    belong to `refs/pull/N/head` and the checked-out commit. Mixing the two
    gives "commit not found".
    """
    commit = head_sha or event.sha
    if not commit:
        return None
    ref = event.ref
    if event.pr_number is not None and commit != event.sha:
        ref = f"refs/pull/{event.pr_number}/head"
    elif event.name == "pull_request" and event.pr_number is not None and not ref.startswith("refs/pull/"):
        ref = f"refs/pull/{event.pr_number}/merge"
    if not re.fullmatch(r"refs/(heads|tags|pull)/.+", ref):
        return None
    return ref, commit


def _path_input(environ: Mapping[str, str], name: str, workspace: Path) -> Path | None:
    text = read_input(environ, name)
    if not text:
        return None
    p = Path(text)
    return p if p.is_absolute() else workspace / p


def _history_input(text: str, event: Event, warnings: list[str]) -> str | None:
    """`pr`: the pull request's own commits (base..head); anything else is a revision range or
    `all`, checked by the scan itself (a bad range is exit 2, like on the command line)."""
    if not text:
        return None
    if text.lower() != "pr":
        return text
    head = event.pr_head_sha or event.sha
    if event.pr_number is None or not event.base_sha or not head:
        warnings.append(
            f"input history: pr needs a pull request event with a base commit; not scanning history on {event.name}"
        )
        return None
    return f"{event.base_sha}..{head}"


def build_plan(environ: Mapping[str, str]) -> RunPlan:
    """Read the inputs and the event; UsageError (exit 2) names the bad input."""
    warnings: list[str] = []
    workspace = Path(environ.get("GITHUB_WORKSPACE", "").strip() or ".").absolute()
    scan_root = _path_input(environ, "path", workspace) or workspace

    # Precedence: an explicit input, then `.aisec.yml`'s fail-on, then high. The input's default
    # is empty so that an explicit `fail-on: high` can override a config that says otherwise.
    explicit = read_input(environ, "fail-on").lower()
    fail_on_text = explicit or "high"
    if fail_on_text not in FAIL_ON_CHOICES:
        raise UsageError(f"input fail-on: {fail_on_text!r} is not one of {', '.join(FAIL_ON_CHOICES)}")
    fail_on = parse_fail_on(fail_on_text)
    fail_on_set = bool(explicit)

    scanners_text = read_input(environ, "scanners", "all")
    if not read_input(environ, "scanners"):
        warnings.append("input scanners is empty: running all scanners")
    scanners: list[str] | None = None
    if scanners_text.lower() != "all":
        scanners = [s.strip() for s in scanners_text.replace("\n", ",").split(",") if s.strip()]
        if not scanners:
            raise UsageError("input scanners: give a comma-separated list of scanners, or all")

    payload, warning = load_payload(environ)
    if warning:
        warnings.append(warning)
    event = read_event(environ, payload)

    new_only_text = read_input(environ, "new-only", "auto").lower()
    if new_only_text == "auto":
        new_only = event.name in NEW_ONLY_AUTO_EVENTS
    else:
        new_only = parse_bool("new-only", new_only_text, False)
        new_only_text = "true" if new_only else "false"
    if new_only and event.base_sha is None:
        warnings.append(f"new-only: {event.base_note or 'no base commit'}; reporting every finding")
        new_only = False

    repository = environ.get("GITHUB_REPOSITORY", "").strip()
    if repository and not _REPOSITORY.fullmatch(repository):
        raise UsageError(f"GITHUB_REPOSITORY {repository!r} is not owner/name")

    image = _path_input(environ, "image", workspace)
    dockerfile = _path_input(environ, "dockerfile", workspace)
    if dockerfile is not None and image is None:
        raise UsageError("input dockerfile: only meaningful with the image input (the image it built)")
    # An image's alerts live in their own code scanning category, beside the repository's.
    category = read_input(environ, "category", "aisec-ci-image" if image is not None else "aisec-ci")
    if any(ch in category for ch in "\r\n"):
        raise UsageError("input category: must be one line")

    sarif_file = _path_input(environ, "sarif-file", workspace) or workspace / "aisec-ci.sarif"
    limit_text = read_input(environ, "review-comments-limit", str(DEFAULT_REVIEW_LIMIT))
    try:
        review_limit = int(limit_text)
    except ValueError:
        review_limit = -1
    if not 0 <= review_limit <= MAX_REVIEW_LIMIT:
        raise UsageError(
            f"input review-comments-limit: expected a number from 0 to {MAX_REVIEW_LIMIT}, got {limit_text!r}"
        )
    profile = read_input(environ, "profile").lower() or None
    if profile is not None and profile not in PROFILES:
        raise UsageError(f"input profile: {profile!r} is not one of {', '.join(PROFILES)}")
    cache_dir = _path_input(environ, "cache", workspace)
    if cache_dir is not None and not cache_dir.resolve().is_relative_to(workspace.resolve()):
        warnings.append(
            f"input cache: {cache_dir} is outside the workspace; the container's files are discarded after "
            "the step, so actions/cache cannot keep it"
        )
    min_text = read_input(environ, "min-severity").lower()
    labels = [s.label for s in sorted(Severity, reverse=True)]
    if min_text and min_text not in labels:
        raise UsageError(f"input min-severity: {min_text!r} is not one of {', '.join(labels)}")
    exclude = tuple(p.strip() for p in read_input(environ, "exclude").replace("\n", ",").split(",") if p.strip())
    history = _history_input(read_input(environ, "history"), event, warnings)
    return RunPlan(
        exclude=exclude,
        history=history,
        sbom=_path_input(environ, "sbom", workspace),
        json_file=_path_input(environ, "json-file", workspace),
        markdown_file=_path_input(environ, "markdown-file", workspace),
        workspace=workspace,
        scan_root=scan_root,
        scanners=scanners,
        fail_on=fail_on,
        fail_on_set=fail_on_set,
        config=_path_input(environ, "config", workspace),
        baseline=_path_input(environ, "baseline", workspace),
        new_only=new_only,
        new_only_input=new_only_text,
        event=event,
        repository=repository,
        api_url=(environ.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL).rstrip("/"),
        server_url=(environ.get("GITHUB_SERVER_URL", "").strip() or DEFAULT_SERVER_URL).rstrip("/"),
        token=read_input(environ, "github-token"),
        upload_sarif=parse_bool("upload-sarif", read_input(environ, "upload-sarif"), True),
        sarif_file=sarif_file,
        comment=parse_bool("comment", read_input(environ, "comment"), True),
        review_comments=parse_bool("review-comments", read_input(environ, "review-comments"), True),
        review_comments_limit=review_limit,
        category=category,
        offline_db=_path_input(environ, "offline-db", workspace),
        safety_api_key=read_input(environ, "safety-api-key"),
        run_id=environ.get("GITHUB_RUN_ID", "").strip(),
        warnings=warnings,
        profile=profile,
        min_severity=Severity.parse(min_text) if min_text else None,
        cache_dir=cache_dir,
        image=image,
        dockerfile=dockerfile,
    )
