"""How packages reach PyPI: long-lived API tokens where OIDC trusted publishing would do (G18)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.workflows.model import Step, WorkflowDoc
from aisec_ci.severity import Severity

USE_TRUSTED_PUBLISHING = Rule(
    id="workflows/use-trusted-publishing",
    profile="strict",
    name="PyPI upload with a long-lived token",
    short_description="A package is uploaded to PyPI with an API token instead of trusted publishing.",
    severity=Severity.LOW,
    what="Reports `pypa/gh-action-pypi-publish` given a `password:`, and `twine`, `uv`, `poetry`, `hatch` or "
    "`pdm` uploads whose credentials come from a secret (`TWINE_PASSWORD`, `UV_PUBLISH_TOKEN`, "
    "`POETRY_PYPI_TOKEN_*`, `--password`/`--token`).",
    why="A PyPI API token is valid until someone revokes it and usually covers every project of the account. "
    "Leaked from CI (a compromised action, a debug log, a poisoned cache) it lets anyone publish a malicious "
    "release of your library or model package. Trusted publishing exchanges the job's OIDC token for a "
    "credential that is scoped to one project and expires in minutes.",
    example="- uses: pypa/gh-action-pypi-publish@release/v1\n  with:\n    password: ${{ secrets.PYPI_API_TOKEN }}",
    example_language="yaml",
    fix="Register the workflow as a trusted publisher on PyPI, give the publishing job `id-token: write` and "
    "an `environment:`, drop the `password:`, and delete the API token.",
    tags=("CWE-798", "CWE-522", "supply-chain", "ci"),
    precision="high",
    references=("https://docs.pypi.org/trusted-publishers/",),
)

RULES = (USE_TRUSTED_PUBLISHING,)

_UPLOAD = re.compile(
    r"\b(?:twine\s+upload|uv\s+publish|poetry\s+publish|hatch\s+publish|pdm\s+publish|flit\s+publish)\b"
)
_TOKEN_ENV = re.compile(
    r"^(?:TWINE_PASSWORD|UV_PUBLISH_TOKEN|UV_PUBLISH_PASSWORD|POETRY_PYPI_TOKEN_\w+|HATCH_INDEX_AUTH|"
    r"PDM_PUBLISH_PASSWORD|FLIT_PASSWORD)$",
    re.IGNORECASE,
)
_TOKEN_FLAG = re.compile(r"(?:--password|--token|\s-p)\s*[= ]\s*\S*(?:secrets\.|\$)", re.IGNORECASE)
_TEST_INDEX = re.compile(r"test\.pypi\.org|--repository[ =]testpypi|-r\s+testpypi", re.IGNORECASE)


def check(doc: WorkflowDoc) -> Iterator[Finding]:
    for step in doc.all_steps():
        uses = step.uses
        if uses is not None and uses.kind == "repo" and uses.slug == "pypa/gh-action-pypi-publish":
            password = step.input("password")
            repo_url = step.input("repository-url") or step.input("repository_url")
            if password is not None and not (repo_url is not None and _TEST_INDEX.search(repo_url.value)):
                yield _finding(doc, step, "passes an API token as `password:` to pypa/gh-action-pypi-publish")
            continue
        run = step.run
        if run is None:
            continue
        m = _UPLOAD.search(run.value)
        if m is None or _TEST_INDEX.search(run.value):
            continue
        if _token_env(step, doc) or _TOKEN_FLAG.search(run.value):
            yield _finding(doc, step, f"uploads with `{m.group(0)}` and an API token")


def _token_env(step: Step, doc: WorkflowDoc) -> bool:
    scopes = [step.node.get("env")]
    if step.job is not None:
        scopes += [step.job.node.get("env"), doc.root.get("env")]
    return any(
        scope is not None and scope.is_map and any(_TOKEN_ENV.match(name) for name in scope.pairs) for scope in scopes
    )


def _finding(doc: WorkflowDoc, step: Step, what: str) -> Finding:
    where = f" (job `{step.job.id}`)" if step.job is not None else ""
    return doc.finding(
        USE_TRUSTED_PUBLISHING,
        step.anchor(),
        f"Step '{step.name}'{where} {what}; use PyPI trusted publishing (OIDC) instead of a long-lived token.",
        key=f"{doc.step_key(step)}:trusted-publishing",
    )
