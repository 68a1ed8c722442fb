"""safety as an engine: `safety check` against a schema-2.0.0 database, or online with SAFETY_API_KEY.

safety probes its auth server on every start (deps-notes): the server URL is
configurable so a local stub can answer offline; stdin is closed so a login
prompt can never wait; the report is read from `--save-json`, because stdout
carries a deprecation banner.
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
from aisec_ci.scanners.deps.services.pip_audit import split_by_name
from aisec_ci.scanners.deps.services.subprocess_run import last_line, run_tool

_OK_EXIT_CODES = (0, 64)  # 64: vulnerabilities found
# A policy that changes nothing: report every vulnerability, whatever its CVSS score.
_POLICY = "security:\n  ignore-cvss-severity-below: 0\n  ignore-cvss-unknown-severity: False\n"


class SafetyService:
    name = "safety"

    def covers(self, ecosystem: str) -> bool:
        return ecosystem == "PyPI"  # Python packages only

    def __init__(
        self,
        db_dir: Path | None = None,
        api_key: str = "",
        auth_url: str = "",
        timeout: float = 30.0,
        command: Sequence[str] | None = None,
    ) -> None:
        self.db_dir = db_dir
        self.api_key = api_key
        self.auth_url = auth_url
        self.timeout = timeout
        self.command = list(command) if command else [sys.executable, "-m", "safety"]

    def audit(self, packages: Sequence[PackageVersion]) -> AuditAnswer:
        if self.db_dir is None and not self.api_key:
            raise ServiceUnavailable(
                "safety was skipped: it needs a schema-2.0.0 database (deps option `safety_db`) "
                "or a SAFETY_API_KEY; `safety scan` cannot run anonymously"
            )
        if self.db_dir is not None and not (self.db_dir / "insecure.json").is_file():
            raise ServiceUnavailable(f"safety database {self.db_dir} has no insecure.json")
        answer = AuditAnswer(source=self.name)
        usable = []
        for pv in packages:
            if parse_version(pv.version) is None:
                answer.failed[pv] = f"safety cannot audit the non-PEP 440 version {pv.version!r}"
            else:
                usable.append(pv)
        for batch in split_by_name(usable):
            self._run(batch, answer)
        return answer

    def _run(self, usable: list[PackageVersion], answer: AuditAnswer) -> None:
        with tempfile.TemporaryDirectory(prefix="aisec-safety-") as tmp:
            req = Path(tmp) / "requirements.txt"
            out = Path(tmp) / "report.json"
            # safety 3.8 fails ("No such file or directory: '.safety-policy.yml'") when its default
            # policy file is absent, although the option is documented as optional: name our own.
            policy = Path(tmp) / "policy.yml"
            policy.write_text(_POLICY, encoding="utf-8")
            req.write_text("".join(f"{pv.name}=={pv.version}\n" for pv in usable), encoding="utf-8")
            argv = [*self.command, "check", "-r", str(req), "--output", "json", "--save-json", str(out)]
            argv += ["--policy-file", str(policy)]
            env = {"HOME": tmp, "SAFETY_REQUEST_TIMEOUT": str(int(self.timeout))}
            if self.db_dir is not None:
                argv += ["--db", str(self.db_dir)]
            else:
                env["SAFETY_API_KEY"] = self.api_key  # env, not argv: argv is visible to every process
            if self.auth_url:
                env["SAFETY_AUTH_SERVER_URL"] = self.auth_url.rstrip("/")
            proc = run_tool("safety", argv, self.timeout * 3 + 30, env, drop_prefixes=("SAFETY_",))
            if proc.returncode not in _OK_EXIT_CODES:
                raise ServiceUnavailable(f"safety exited {proc.returncode}: {last_line(proc.stderr or proc.stdout)}")
            try:
                report = json.loads(out.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise ServiceUnavailable("safety finished without a readable --save-json report") from None
        found: dict[PackageVersion, list[Advisory]] = {pv: [] for pv in usable}
        for vuln in report.get("vulnerabilities") or () if isinstance(report, dict) else ():
            if not isinstance(vuln, dict):
                continue
            key = PackageVersion(
                canonicalize_name(str(vuln.get("package_name", ""))), str(vuln.get("analyzed_version"))
            )
            if key in found:
                found[key].append(_advisory(vuln, self.name))
        for pv, advisories in found.items():
            answer.advisories[pv] = sorted(advisories, key=lambda a: a.id)


def _advisory(vuln: dict[str, Any], source: str) -> Advisory:
    cve = vuln.get("CVE")
    aliases = [str(cve)] if isinstance(cve, str) and cve else []
    fixes = [str(v) for v in vuln.get("fixed_versions") or ()]
    fixes.sort(key=lambda s: (parse_version(s) is None, parse_version(s) or parse_version("0")))
    severity = vuln.get("severity")
    vectors: list[str] = []
    if isinstance(severity, dict):
        for key in ("cvssv3", "cvssv2"):
            block = severity.get(key)
            if isinstance(block, dict) and isinstance(block.get("vector_string"), str):
                vectors.append(block["vector_string"])
    advisory = " ".join(str(vuln.get("advisory") or "").split())
    return Advisory(
        id=str(vuln.get("vulnerability_id", "")),
        aliases=tuple(sorted(a for a in aliases if a != vuln.get("vulnerability_id"))),
        summary=advisory[:200],
        fixed=tuple(fixes),
        cvss=tuple(vectors),
        disputed=is_disputed(advisory),
        withdrawn=is_rejected(advisory),
        sources=(source,),
    )
