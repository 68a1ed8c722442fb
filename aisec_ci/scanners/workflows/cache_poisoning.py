"""Build caches restored by jobs that publish releases, images, wheels or models (G8)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.workflows.loader import is_false, is_true
from aisec_ci.scanners.workflows.model import Job, Step, WorkflowDoc
from aisec_ci.severity import Severity

CACHE_POISONING = Rule(
    id="workflows/cache-poisoning",
    name="Cache restored in a publishing job",
    short_description="A job that publishes artifacts restores a GitHub Actions cache that other workflows can write.",
    severity=Severity.MEDIUM,
    what="Finds cache restores (`actions/cache`, `setup-go` whose cache is on by default, `setup-node`/"
    "`setup-python`/`setup-java` with `cache:`, `setup-uv` `enable-cache`, `rust-cache`, `bundler-cache`, "
    "`cache-from: type=gha`) in jobs that publish (image push, PyPI/npm/crates upload, GitHub release, "
    "Hugging Face upload, goreleaser) or in workflows triggered by releases and tag pushes.",
    why="The Actions cache is shared by every workflow on the default branch, including ones that run "
    "untrusted code (a `pull_request_target` job, a compromised test dependency). A poisoned cache entry "
    "(Go module cache, pip cache, node_modules, a built extension) is then restored into the release build "
    "and shipped to users inside a signed wheel, image or model package.",
    example="on:\n  push:\n    tags: ['v*']\njobs:\n  release:\n    steps:\n      - uses: actions/setup-python@v5\n"
    "        with:\n          cache: pip\n      - run: python -m build && twine upload dist/*",
    example_language="yaml",
    fix="Do not restore caches in release and publish jobs: remove `cache:` (set `cache: false` for "
    "`setup-go`), or build from a clean environment and keep caching to test jobs.",
    tags=("CWE-349", "CWE-494", "supply-chain", "ci"),
    precision="medium",
    references=(
        "https://adnanthekhan.com/2024/05/06/the-monsters-in-your-build-cache-github-actions-cache-poisoning/",
    ),
)

RULES = (CACHE_POISONING,)

_PUBLISH_ACTIONS = frozenset(
    {
        "pypa/gh-action-pypi-publish",
        "goreleaser/goreleaser-action",
        "softprops/action-gh-release",
        "ncipollo/release-action",
        "actions/create-release",
        "js-devtools/npm-publish",
        "docker/bake-action",
        "rajatjindal/krew-release-bot",
        "peaceiris/actions-gh-pages",
        "jamesives/github-pages-deploy-action",
    }
)
_PUBLISH_RUN = re.compile(
    r"\b(?:docker|podman|buildah)\s+(?:image\s+)?push\b|\bdocker\s+buildx\s+build\b[^\n]*--push\b"
    r"|\btwine\s+upload\b|\b(?:npm|yarn|pnpm)\s+publish\b|\b(?:poetry|uv|flit|hatch|pdm|cargo|gem)\s+publish\b"
    r"|\bgh\s+release\s+(?:create|upload)\b|\b(?:huggingface-cli|hf)\s+upload\b|\bpush_to_hub\b"
    r"|\bgoreleaser\s+release\b|\bhelm\s+push\b|\bmlflow\s+models\s+push\b|\bcosign\s+sign\b",
    re.IGNORECASE,
)


def check(doc: WorkflowDoc) -> Iterator[Finding]:
    if doc.is_action:
        return
    release_trigger = _release_trigger(doc)
    for job in doc.jobs:
        reason = release_trigger or _publishes(job)
        if reason is None:
            continue
        for step in job.steps:
            cache = _restores_cache(step)
            if cache is None:
                continue
            yield doc.finding(
                CACHE_POISONING,
                step.anchor(),
                f"Step '{step.name}' (job `{job.id}`) {cache}, and the job {reason}: a poisoned cache entry would "
                "be built into what it publishes.",
                key=f"{doc.step_key(step)}:cache-poisoning",
                properties={"publish": reason},
            )


def _release_trigger(doc: WorkflowDoc) -> str | None:
    if "release" in doc.triggers:
        return "runs on `release` events"
    push = doc.triggers.get("push")
    if push is not None and push.is_map and push.get("tags") is not None and push.get("branches") is None:
        return "runs on tag pushes"
    return None


def _publishes(job: Job) -> str | None:
    for step in job.steps:
        uses = step.uses
        if uses is not None and uses.kind == "repo":
            if uses.slug in _PUBLISH_ACTIONS:
                return f"publishes with `{uses.slug}`"
            if (
                uses.slug == "docker/build-push-action"
                and not is_false(step.input("push"))
                and (step.input("push") is not None)
            ):
                return "pushes an image with `docker/build-push-action`"
        run = step.run
        if run is not None:
            m = _PUBLISH_RUN.search(run.value)
            if m is not None:
                return f"publishes (`{m.group(0)}`)"
    return None


def _restores_cache(step: Step) -> str | None:
    uses = step.uses
    if uses is None or uses.kind != "repo":
        return None
    slug = uses.slug
    if slug == "actions/cache" and uses.path in ("", "restore"):
        return "restores `actions/cache`"
    if slug == "actions/setup-go":
        cache = step.input("cache")
        major = uses.major_version()
        default_on = major is None or major >= 4
        if is_true(cache) or (cache is None and default_on) or (cache is not None and "${{" in cache.value):
            return "restores the Go module cache (`setup-go` caches unless `cache: false`)"
        return None
    if slug in {"actions/setup-node", "actions/setup-python", "actions/setup-java", "actions/setup-dotnet"}:
        cache = step.input("cache")
        if cache is not None and cache.is_scalar and cache.value.strip() and not is_false(cache):
            return f"restores the `{cache.value.strip()}` cache of `{slug}`"
        return None
    if slug == "astral-sh/setup-uv" and is_true(step.input("enable-cache")):
        return "restores the uv cache"
    if slug == "ruby/setup-ruby" and is_true(step.input("bundler-cache")):
        return "restores the bundler cache"
    if slug in {"swatinem/rust-cache", "mozilla-actions/sccache-action"}:
        return f"restores a build cache with `{slug}`"
    if slug == "docker/build-push-action":
        cache_from = step.input("cache-from")
        if cache_from is not None and cache_from.is_scalar and "type=gha" in cache_from.value:
            return "imports Docker layers from the Actions cache (`cache-from: type=gha`)"
    return None
