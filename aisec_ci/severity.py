"""The one severity scale every scanner, report and the gate share."""

from __future__ import annotations

import enum


class Severity(enum.IntEnum):
    """Normalised severity; a larger value is more severe, so comparisons read naturally."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Parse a user-supplied name (case-insensitive); raises ValueError with the choices."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(s.label for s in sorted(cls, reverse=True))
            raise ValueError(f"unknown severity {text!r} (choose one of {choices})") from None

    @classmethod
    def from_cvss(cls, score: float) -> Severity:
        """Map a CVSS base score by GitHub's bands (>= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium)."""
        if score >= 9.0:
            return cls.CRITICAL
        if score >= 7.0:
            return cls.HIGH
        if score >= 4.0:
            return cls.MEDIUM
        if score > 0.0:
            return cls.LOW
        return cls.INFO

    @property
    def sarif_level(self) -> str:
        """SARIF result level: error for critical/high, warning for medium, note below."""
        if self >= Severity.HIGH:
            return "error"
        if self is Severity.MEDIUM:
            return "warning"
        return "note"

    @property
    def security_severity(self) -> str:
        """GitHub's `security-severity` score; kept clear of the ambiguous 8.9-9.0 boundary."""
        return _SECURITY_SEVERITY[self]


_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}

# The gate threshold: a severity, or None for "never fail".
FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "none")


def parse_fail_on(text: str) -> Severity | None:
    """Parse `--fail-on`; `none` disables the gate."""
    if text.strip().lower() == "none":
        return None
    return Severity.parse(text)
