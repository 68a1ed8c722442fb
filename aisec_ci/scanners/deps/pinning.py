"""deps/unpinned-requirement and deps/unverifiable-source: dependencies that cannot be audited to one release."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.deps.model import Dependency, PinKind, redact_credentials
from aisec_ci.severity import Severity

UNPINNED_REQUIREMENT = Rule(
    id="deps/unpinned-requirement",
    profile="strict",
    name="Dependency not pinned to one version",
    short_description="A requirement names a range or no version, so it cannot be audited to one release.",
    severity=Severity.LOW,
    what="Reports a dependency given as a bare name or a version range (`fastapi`, `uvicorn>=0.20`, "
    "`^1.2`) in a requirements file, notebook `%pip install`, Pipfile, setup.cfg, conda `pip:` list or "
    "pyproject.toml, unless a lock or pinned requirements file in the same directory pins it. A "
    "pyproject.toml with no lock file beside it (a library, whose ranges are deliberate) gets one "
    "finding listing all its ranges instead of one per range (option `pyproject_ranges`: `summary`, "
    "`each` or `off`).",
    why="What gets installed changes with every release, so the audit cannot say which version runs, "
    "builds are not reproducible, and a malicious or broken new release is picked up automatically.",
    example="fastapi\nuvicorn>=0.20",
    fix="Pin exact versions (`fastapi==0.110.0`), ideally with hashes via a lock tool "
    "(pip-compile --generate-hashes, uv lock, poetry lock), and audit the lock file.",
    tags=("CWE-1104", "CWE-829", "supply-chain"),
    precision="very-high",
)

UNVERIFIABLE_SOURCE = Rule(
    id="deps/unverifiable-source",
    profile="strict",
    name="Dependency installed from a URL, VCS or local archive",
    short_description="A dependency comes from a URL, a VCS checkout or a local archive, outside advisory data.",
    severity=Severity.LOW,
    what="Reports requirements such as `git+https://...`, `pkg @ https://...`, uv/poetry/pdm/pylock "
    "entries with a git or URL source, and local archives (`./wheels/x.whl`) or paths outside the "
    "repository. Editable installs of the repository itself (`-e .`) are not reported.",
    why="Advisory databases index registry releases; code fetched from a branch, a tag or an arbitrary "
    "URL is never matched, and a moving branch or a re-uploaded archive can change under the same name.",
    example="git+https://github.com/acme/tokenizer.git@main#egg=tokenizer\nmodelkit @ https://example.com/modelkit-1.0.tar.gz",
    fix="Depend on a published release, or pin the VCS reference to a full commit hash and the URL with "
    "`--hash`, and audit that code by other means.",
    tags=("CWE-494", "CWE-829", "supply-chain"),
    precision="high",
)

_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".egg")


def unpinned(dep: Dependency) -> Iterator[Finding]:
    where = f"`{dep.specifier}`" if dep.specifier and dep.specifier != "*" else "no version"
    yield Finding(
        rule_id=UNPINNED_REQUIREMENT.id,
        severity=UNPINNED_REQUIREMENT.severity,
        message=f"{dep.name} is required with {where}, so it cannot be audited to one version; pin it.",
        path=dep.path,
        start_line=dep.line,
        snippet=dep.snippet,
        key=f"unpinned:{dep.canonical}:{dep.group}",
        properties=_props(dep),
    )


def unpinned_summary(path: str, deps: Sequence[Dependency]) -> Iterator[Finding]:
    """One finding for the ranges of a pyproject.toml that has no lock file beside it."""
    first = min(deps, key=lambda d: d.line)
    names = sorted({d.canonical for d in deps})
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    yield Finding(
        rule_id=UNPINNED_REQUIREMENT.id,
        severity=UNPINNED_REQUIREMENT.severity,
        message=f"{len(names)} dependenc{'y is' if len(names) == 1 else 'ies are'} declared with a range and no "
        f"lock file (uv.lock, poetry.lock, pdm.lock, pylock.toml) sits beside this pyproject.toml, so "
        f"the audit cannot see which versions get installed: {shown}. Ranges are right for a library; "
        "an application should commit its lock file.",
        path=path,
        start_line=first.line,
        snippet=first.snippet,
        key="unpinned:pyproject-without-lock",
        properties={"packages": names, "count": len(names), "manifest": first.origin},
    )


def unverifiable(dep: Dependency) -> Iterator[Finding]:
    if dep.kind is PinKind.LOCAL and not _foreign_local(dep):
        return
    what = {PinKind.VCS: "a VCS checkout", PinKind.URL: "a direct URL", PinKind.LOCAL: "a local path"}[dep.kind]
    yield Finding(
        rule_id=UNVERIFIABLE_SOURCE.id,
        severity=UNVERIFIABLE_SOURCE.severity,
        message=f"{dep.name} is installed from {what} ({_short(dep.specifier)}), which advisory data does not cover.",
        path=dep.path,
        start_line=dep.line,
        snippet=dep.snippet,
        key=f"source:{dep.canonical}:{_short(dep.specifier, 400)}",
        properties={**_props(dep), "source": _short(dep.specifier, 400)},
    )


def _foreign_local(dep: Dependency) -> bool:
    """A local path worth reporting: an archive file, or a path that leaves the repository."""
    spec = dep.specifier.removeprefix("file://").removeprefix("file:")
    if spec.lower().endswith(_ARCHIVE_SUFFIXES):
        return True
    if spec.startswith(("/", "~")):
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(dep.path), spec))
    return joined == ".." or joined.startswith("../")


def _short(text: str, limit: int = 100) -> str:
    text = redact_credentials(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _props(dep: Dependency) -> dict[str, object]:
    props: dict[str, object] = {"package": dep.canonical, "specifier": _short(dep.specifier), "manifest": dep.origin}
    if dep.group:
        props["group"] = dep.group
    if "cell" in dep.extra:
        props["cell"] = int(dep.extra["cell"])
    return props
