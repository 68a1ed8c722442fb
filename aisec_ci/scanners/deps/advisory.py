"""The advisory record every vulnerability source hands back, whatever its wire format."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Advisory:
    """One advisory as it applies to one package version."""

    id: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    fixed: tuple[str, ...] = ()
    """Versions that fix it (for this package), in version order."""
    cvss: tuple[str, ...] = ()
    """CVSS vector strings (`CVSS:3.1/AV:N/...`) from the record."""
    database_severity: str = ""
    """A named severity from the database (`HIGH`, `MODERATE`), when no vector is given."""
    published: str = ""
    modified: str = ""
    disputed: bool = False
    """The CVE record says `** DISPUTED **`: the vendor contests that this is a vulnerability."""
    withdrawn: bool = False
    """The record is withdrawn (or the CVE rejected). Sources drop OSV's withdrawn records; one that
    reaches a finding anyway is reported as such."""
    unlisted: bool = False
    """The record has no fix and enumerates the affected versions, and this version is newer than all
    of them: only its open-ended range says it is affected (typical of a record older than the release)."""
    sources: tuple[str, ...] = field(default=(), compare=False)
    """Which audit sources reported it (osv-api, offline-db, pip-audit, safety, snapshot)."""
    distro_severity: str = ""
    """An OS distribution's own rating (Ubuntu priority, Debian urgency) as the record writes it;
    set only for Debian, Ubuntu and Alpine packages (aisec_ci.image.os_vulns reads it)."""

    @property
    def ids(self) -> frozenset[str]:
        return frozenset((self.id, *self.aliases))

    @property
    def malicious(self) -> bool:
        return self.id.startswith("MAL-") or any(a.startswith("MAL-") for a in self.aliases)
