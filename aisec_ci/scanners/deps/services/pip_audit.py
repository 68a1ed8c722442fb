"""pip-audit as an engine, on a flattened pinned requirements file we write ourselves.

Never lets pip-audit resolve (that would build sdists, i.e. run code): `--no-deps
--disable-pip`, OSV as the service (its URL is configurable, PyPI's is not),
`--strict` so a skipped package is an error rather than a silent pass, and the
JSON report read from `-o FILE` because stdout mixes in other text.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aisec_ci.scanners.deps.advisory import Advisory
from aisec_ci.scanners.deps.matching import is_disputed, is_rejected, parse_version
from aisec_ci.scanners.deps.model import canonicalize_name
from aisec_ci.scanners.deps.services.interface import AuditAnswer, PackageVersion, ServiceUnavailable
from aisec_ci.scanners.deps.services.subprocess_run import last_line, run_tool


class PipAuditService:
    name = "pip-audit"

    def covers(self, ecosystem: str) -> bool:
        return ecosystem == "PyPI"  # Python packages only

    def __init__(self, osv_base_url: str, timeout: float = 15.0, command: Sequence[str] | None = None) -> None:
        self.osv_base_url = osv_base_url.rstrip("/")
        self.timeout = timeout
        self.command = list(command) if command else [sys.executable, "-m", "pip_audit"]

    def audit(self, packages: Sequence[PackageVersion]) -> AuditAnswer:
        answer = AuditAnswer(source=self.name)
        usable = []
        for pv in packages:
            # pip-audit crashes on `===` and non-PEP 440 pins (deps-notes), so they never reach it.
            if parse_version(pv.version) is None:
                answer.failed[pv] = f"pip-audit cannot audit the non-PEP 440 version {pv.version!r}"
            else:
                usable.append(pv)
        # pip-audit refuses a file naming one package twice, so several versions of a name
        # (two services pinning different releases) go to separate runs.
        for batch in split_by_name(usable):
            self._run(batch, answer)
        return answer

    def _run(self, usable: list[PackageVersion], answer: AuditAnswer) -> None:
        with tempfile.TemporaryDirectory(prefix="aisec-pip-audit-") as tmp:
            req = Path(tmp) / "requirements.txt"
            out = Path(tmp) / "report.json"
            req.write_text("".join(f"{pv.name}=={pv.version}\n" for pv in usable), encoding="utf-8")
            argv = [
                *self.command,
                "-r", str(req), "--no-deps", "--disable-pip",
                "-s", "osv", "--osv-url", f"{self.osv_base_url}/v1/query",
                "--strict", "--progress-spinner", "off", "--aliases", "on", "--desc", "on",
                "--timeout", str(int(max(1, self.timeout))),
                "-f", "json", "-o", str(out),
            ]  # fmt: skip
            limit = 60 + self.timeout * 2 + 0.5 * len(usable)
            proc = run_tool("pip-audit", argv, limit, {}, drop_prefixes=("PIP_AUDIT_",))
            report = _read_report(out)
            if report is None:
                raise ServiceUnavailable(
                    f"pip-audit exited {proc.returncode} without a JSON report: {last_line(proc.stderr)}"
                )
        by_pkg: dict[PackageVersion, dict[str, Any]] = {}
        for dep in report.get("dependencies") or ():
            if isinstance(dep, dict) and dep.get("name"):
                key = PackageVersion(canonicalize_name(str(dep["name"])), str(dep.get("version", "")))
                by_pkg[key] = dep
        for pv in usable:
            dep = by_pkg.get(pv)
            if dep is None:
                answer.failed[pv] = "pip-audit did not report on this package"
            elif dep.get("skip_reason"):
                answer.failed[pv] = f"pip-audit skipped it: {dep['skip_reason']}"
            else:
                answer.advisories[pv] = [_advisory(v, self.name) for v in dep.get("vulns") or () if isinstance(v, dict)]


def split_by_name(packages: Sequence[PackageVersion]) -> list[list[PackageVersion]]:
    """Batches in which every package name occurs once."""
    batches: list[list[PackageVersion]] = []
    used: list[set[str]] = []
    for pv in sorted(packages):
        for batch, names in zip(batches, used, strict=True):
            if pv.name not in names:
                batch.append(pv)
                names.add(pv.name)
                break
        else:
            batches.append([pv])
            used.append({pv.name})
    return batches


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _advisory(vuln: dict[str, Any], source: str) -> Advisory:
    fixes = [str(v) for v in vuln.get("fix_versions") or ()]
    fixes.sort(key=lambda s: (parse_version(s) is None, parse_version(s) or parse_version("0")))
    description = " ".join(str(vuln.get("description") or "").split())
    return Advisory(
        id=str(vuln.get("id", "")),
        aliases=tuple(sorted(str(a) for a in vuln.get("aliases") or ())),
        summary=description[:200],
        fixed=tuple(fixes),
        disputed=is_disputed(description),
        withdrawn=is_rejected(description),
        sources=(source,),
    )
