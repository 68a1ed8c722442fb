"""Shared builders for the report tests: realistic rules and a scan of the
fixture app under tests/fixtures/report/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aisec_ci.core_rules import CORE_RULES
from aisec_ci.findings import Finding, assign_fingerprints
from aisec_ci.report.linehash import line_hash
from aisec_ci.result import ScanResult, Suppressed
from aisec_ci.rules import Rule, RuleCatalog
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SkippedFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "report"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
SARIF_SCHEMA = SHARED / "data" / "sarif-schema-2.1.0.json"

ROOT_USER = Rule(
    id="docker/root-user",
    name="Container runs as root",
    short_description="The image never switches to a non-root USER.",
    severity=Severity.HIGH,
    what="Reports a Dockerfile whose final stage has no USER instruction, or sets USER root.",
    why="A process escaping the application runs as root in the container, one kernel bug away from the host.",
    example="FROM python:3.11\nCMD python serve.py",
    example_language="dockerfile",
    fix="Add `USER 10001` after installing packages.",
    tags=("CWE-250", "docker"),
)
UNPINNED_BASE = Rule(
    id="docker/unpinned-base-image",
    name="Base image not pinned by digest",
    short_description="FROM uses a mutable tag instead of an @sha256 digest.",
    severity=Severity.MEDIUM,
    what="Reports FROM lines without a digest.",
    why="A tag can be moved to a different, possibly malicious, image between builds.",
    fix="Pin `FROM python:3.11@sha256:...`.",
    tags=("CWE-829", "supply-chain"),
    precision="very-high",
)
OPENAI_KEY = Rule(
    id="secrets/openai-api-key",
    name="OpenAI API key",
    short_description="An OpenAI API key is committed to the repository.",
    severity=Severity.CRITICAL,
    what="Matches OpenAI key formats (`sk-...`, `sk-proj-...`).",
    why="Anyone with read access can spend the account's quota and read its data.",
    fix="Revoke the key and load it from a secret store.",
    tags=("CWE-798",),
)
VULN_PACKAGE = Rule(
    id="deps/vulnerable-package",
    name="Dependency with a known vulnerability",
    short_description="A pinned dependency has a published advisory.",
    severity=Severity.HIGH,
    what="Checks pinned requirements against the OSV database.",
    why="Known vulnerabilities have public exploits.",
    fix="Upgrade to a fixed version.",
    tags=("CWE-1395",),
)
PICKLE_LOAD = Rule(
    id="code/pickle-load",
    name="pickle.load on untrusted data",
    short_description="Deserialising with pickle executes code from the input.",
    severity=Severity.HIGH,
    what="Reports calls to pickle.load and pickle.loads.",
    why="A crafted pickle runs arbitrary code on load.",
    fix="Use safetensors or a data-only format.",
    tags=("CWE-502",),
)
EXPOSE_INFO = Rule(
    id="docker/expose-port",
    name="Image exposes a port",
    short_description="EXPOSE documents a listening port.",
    severity=Severity.INFO,
    what="Lists EXPOSE instructions for review.",
    why="Informational: helps review network exposure.",
    precision="low",
)
TEST_RULES = (ROOT_USER, UNPINNED_BASE, OPENAI_KEY, VULN_PACKAGE, PICKLE_LOAD, EXPOSE_INFO)


def make_catalog() -> RuleCatalog:
    cat = RuleCatalog()
    cat.extend(CORE_RULES)
    cat.extend(TEST_RULES)
    return cat


def _with_hashes(findings: list[Finding]) -> list[Finding]:
    """Fill fingerprints and line hashes from the fixture files, as the engine does."""
    out: list[Finding] = []
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.path, []).append(f)
    for path, group in sorted(by_path.items()):
        text = (FIXTURES / path).read_text(encoding="utf-8")
        fingerprinted = assign_fingerprints(group, text.splitlines())
        for f in fingerprinted:
            out.append(Finding(**{**f.__dict__, "line_hash": line_hash(text, f.start_line)}))
    return out


def fixture_findings() -> list[Finding]:
    raw = [
        Finding(
            rule_id="docker/root-user",
            severity=Severity.HIGH,
            message="The final stage runs as root: add a USER instruction with a non-root user.",
            path="Dockerfile",
            start_line=8,
            snippet='CMD ["python", "serve.py"]',
            scanner="docker",
        ),
        Finding(
            rule_id="docker/unpinned-base-image",
            severity=Severity.MEDIUM,
            message="Base image python:3.11 is not pinned by digest.",
            path="Dockerfile",
            start_line=1,
            start_column=6,
            end_column=17,
            snippet="FROM python:3.11",
            scanner="docker",
        ),
        Finding(
            rule_id="docker/expose-port",
            severity=Severity.INFO,
            message="Port 8080 is exposed.",
            path="Dockerfile",
            start_line=7,
            scanner="docker",
        ),
        Finding(
            rule_id="deps/vulnerable-package",
            severity=Severity.CRITICAL,
            message="torch 1.13.0 has GHSA-pg7h-5qx3-wjr3 (remote code execution via torch.load); fixed in 2.6.0.",
            path="requirements.txt",
            start_line=2,
            end_column=14,
            snippet="torch==1.13.0",
            key="torch==1.13.0:GHSA-pg7h-5qx3-wjr3",
            scanner="deps",
            properties={
                "package": "torch",
                "version": "1.13.0",
                "fixed_versions": ("2.6.0",),
                "advisories": ["GHSA-pg7h-5qx3-wjr3"],
                "aliases": frozenset({"CVE-2025-32434"}),
                "cvss": 9.8,
            },
        ),
        Finding(
            rule_id="deps/vulnerable-package",
            severity=Severity.HIGH,
            message="pyyaml 5.3.1 has GHSA-8q59-q68h-6hv4 (arbitrary code execution in full_load); fixed in 5.4.",
            path="requirements.txt",
            start_line=4,
            snippet="pyyaml==5.3.1",
            key="pyyaml==5.3.1:GHSA-8q59-q68h-6hv4",
            scanner="deps",
            properties={"package": "pyyaml", "version": "5.3.1", "fixed_versions": ["5.4"], "cvss": 7.8},
        ),
        Finding(
            rule_id="secrets/openai-api-key",
            severity=Severity.CRITICAL,
            message="An OpenAI API key is assigned to OPENAI_API_KEY.",
            path="serve.py",
            start_line=8,
            start_column=18,
            end_column=44,
            snippet='OPENAI_API_KEY = "sk-proj-****"',
            scanner="secrets",
            properties={"secret_type": "OpenAI API key"},
        ),
        Finding(
            rule_id="code/pickle-load",
            severity=Severity.HIGH,
            message="pickle.load() on a file path taken from the environment.",
            path="serve.py",
            start_line=13,
            start_column=16,
            snippet="        return pickle.load(fh)",
            scanner="code",
        ),
    ]
    return _with_hashes(raw)


def fixture_result(**overrides: Any) -> ScanResult:
    findings = fixture_findings()
    by_rule = {f.rule_id: f for f in findings}
    # A suppressed twin of each kind, taken from real findings so fingerprints are realistic.
    inline = Finding(**{**by_rule["code/pickle-load"].__dict__, "start_line": 18, "fingerprint": "1" * 32})
    baseline = Finding(**{**by_rule["docker/expose-port"].__dict__, "fingerprint": "2" * 32})
    preexisting = Finding(**{**by_rule["docker/root-user"].__dict__, "path": "serve.py", "fingerprint": "3" * 32})
    kept = [f for f in findings if f.rule_id != "docker/expose-port"]
    args: dict[str, Any] = {
        "findings": kept,
        "suppressed": [
            Suppressed(inline, "inline", "config files are written by our own deploy job"),
            Suppressed(baseline, "baseline", "in baseline .aisec-baseline.json"),
            Suppressed(preexisting, "new-only", "present in origin/main"),
        ],
        "skipped": [
            SkippedFile("models/resnet50.pt", "larger than the 10 MiB cap (97 MiB)"),
            SkippedFile("assets/logo.png", "binary file"),
            SkippedFile("assets/banner.png", "binary file"),
            SkippedFile("link-to-etc", "symlink pointing outside the repository"),
        ],
        "scanners": ["code", "deps", "docker", "secrets"],
        "files_scanned": 3,
        "files_by_kind": {"dockerfile": 1, "requirements": 1, "python": 1},
        "notes": ["The OSV database is 9 days old; run `aisec-ci db update`."],
    }
    args.update(overrides)
    return ScanResult(**args)


def load_sarif_validator() -> Any:
    """Draft-4 validator for the shared SARIF schema; skips the test when it is absent."""
    jsonschema = pytest.importorskip("jsonschema")
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SARIF_SCHEMA}")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def many_findings(n: int, *, critical_every: int = 6, hostile: bool = False) -> list[Finding]:
    """n distinct findings spread over severities; every `critical_every`-th is critical."""
    sevs = [Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO, Severity.MEDIUM]
    rules = {
        Severity.CRITICAL: "secrets/openai-api-key",
        Severity.HIGH: "docker/root-user",
        Severity.MEDIUM: "docker/unpinned-base-image",
        Severity.LOW: "core/expired-ignore",
        Severity.INFO: "docker/expose-port",
    }
    out = []
    for i in range(n):
        sev = Severity.CRITICAL if i % critical_every == 0 else sevs[i % len(sevs)]
        if hostile:
            path = f"svc/f{i:05d}|x`<img src=x onerror=alert({i})>` [a](javascript:x) @admin.py"
            message = f"Bad | thing `{i}` </details><script>alert({i})</script> **bold** #{i}\nsecond line"
        else:
            path = f"services/svc{i % 50:02d}/module_{i:05d}.py"
            message = f"Problem number {i} in this module; fix it before release."
        out.append(
            Finding(
                rule_id=rules[sev],
                severity=sev,
                message=message,
                path=path,
                start_line=1 + i % 400,
                snippet=f"value_{i} = compute({i})",
                scanner=rules[sev].split("/", 1)[0],
                fingerprint=f"{i:032x}",
                line_hash=f"{i:016x}:1",
            )
        )
    return out
