"""What a report shows: the profile's rules, and each finding weighed by the role of its file.

Two steps, after suppressions:
1. Profile: a finding of a rule outside the selected profile (default < strict < audit) is left
   out of the report and counted ("312 more in the strict profile"). A rule the config enables
   explicitly (`rules: ID: enabled: true`) reports in every profile.
   A finding raised above its rule's default severity to medium or more is in the default
   profile whatever its rule's profile (e.g. a GPU pod that also shares the host IPC namespace).
2. Role policy: per role, `report` keeps the finding as it is, `lower` lowers it to low and keeps
   it out of the gate, `skip` leaves it out (counted). By default only source reports as-is.
   Two kinds of finding keep their severity in every role: a secret that validated as a real
   provider key or a private key (a live key in a test file is still a leak), and a model file
   that carries a code-execution payload (a malicious pickle under tests/ still runs when loaded).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aisec_ci.findings import Finding
from aisec_ci.roles import Role
from aisec_ci.rules import PROFILES, RuleCatalog
from aisec_ci.severity import Severity

POLICIES = ("report", "lower", "skip")
DEFAULT_POLICY: Mapping[Role, str] = {role: ("report" if role is Role.SOURCE else "lower") for role in Role}
LOWERED_TO = Severity.LOW

# Secrets whose value was proven real offline: a checksum (GitHub, npm, PyPI ...) or the
# structure of a key (private key blocks, service-account JSON). A string that merely has a
# provider's shape is not proof.
_PROVEN_SECRET = frozenset({"checksum", "structure"})
# Well-formed is not proof for these: any base64 JSON is a well-formed JWT (docs are full of
# sample tokens), and a generic or high-entropy value names no provider at all.
_NOT_PROVIDER_KEYS = frozenset(
    {"secrets/jwt", "secrets/generic-secret", "secrets/high-entropy-string", "secrets/credential-url"}
)
# Model findings that mean "loading this file runs code".
CODE_EXECUTION_MODEL_RULES = frozenset(
    {
        "models/pickle-code-execution",
        "models/keras-lambda-layer",
        "models/keras-unsafe-module",
        "models/gguf-template-injection",
        "models/tf-dangerous-op",
    }
)


def profile_rank(profile: str) -> int:
    return PROFILES.index(profile) if profile in PROFILES else 0


def keeps_severity_everywhere(f: Finding) -> bool:
    """The two exceptions to the role policy (see the module docstring)."""
    if f.rule_id in CODE_EXECUTION_MODEL_RULES:
        return True
    if not f.rule_id.startswith("secrets/") or f.properties.get("public") or f.rule_id in _NOT_PROVIDER_KEYS:
        return False
    return f.properties.get("validation") in _PROVEN_SECRET or f.rule_id in (
        "secrets/private-key",
        "secrets/gcp-service-account-key",
    )


@dataclass
class TriageCounts:
    """What the triage left out or changed, for the reports' "how to see them" lines."""

    out_of_profile: dict[str, int] = field(default_factory=dict)
    """Findings of rules in a wider profile than the selected one, by that profile."""
    lowered: dict[str, int] = field(default_factory=dict)
    """Findings the role policy lowered (and took out of the gate), by role."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Findings the role policy left out, by role."""

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {
            "out_of_profile": dict(sorted(self.out_of_profile.items(), key=lambda kv: profile_rank(kv[0]))),
            "lowered": dict(sorted(self.lowered.items())),
            "skipped": dict(sorted(self.skipped.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, int]] | None) -> TriageCounts:
        data = data or {}
        return cls(
            out_of_profile={str(k): int(v) for k, v in (data.get("out_of_profile") or {}).items()},
            lowered={str(k): int(v) for k, v in (data.get("lowered") or {}).items()},
            skipped={str(k): int(v) for k, v in (data.get("skipped") or {}).items()},
        )

    def add(self, other: TriageCounts) -> None:
        for mine, theirs in (
            (self.out_of_profile, other.out_of_profile),
            (self.lowered, other.lowered),
            (self.skipped, other.skipped),
        ):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def triage(
    findings: list[Finding],
    *,
    catalog: RuleCatalog,
    profile: str,
    role_of: Callable[[str], Role],
    policies: Mapping[Role, str] | None = None,
    forced_rules: frozenset[str] = frozenset(),
) -> tuple[list[Finding], TriageCounts]:
    """Label every finding with its role, profile and confidence, then apply the profile and the
    role policy. `forced_rules`: rules the config enables explicitly (shown in every profile).
    Fingerprints are untouched: a finding keeps its identity whatever role or profile it has."""
    policy = dict(DEFAULT_POLICY)
    policy.update(policies or {})
    selected = profile_rank(profile)
    counts = TriageCounts()
    kept: list[Finding] = []
    roles: dict[str, Role] = {}
    for f in findings:
        rule = catalog.get(f.rule_id)
        rule_profile = rule.profile if rule is not None else "default"
        if rule is not None and f.severity > rule.severity and f.severity >= Severity.MEDIUM:
            # A hygiene rule's profile describes its usual finding; one the scanner (or the
            # config) raised to medium or above is more than hygiene and reports by default.
            rule_profile = "default"
        # A scanner may put one finding of a rule in a wider profile than the rule's own.
        finding_profile = max(rule_profile, f.profile or "default", key=profile_rank)
        role = roles.get(f.path)
        if role is None:
            role = roles[f.path] = role_of(f.path)
        f = f.evolve(
            role=role.value,
            profile=finding_profile,
            confidence=rule.confidence if rule is not None else "high",
        )
        if profile_rank(finding_profile) > selected and f.rule_id not in forced_rules:
            _bump(counts.out_of_profile, finding_profile)
            continue
        action = policy.get(role, "report")
        if action == "report" or keeps_severity_everywhere(f):
            kept.append(f)
        elif action == "skip":
            _bump(counts.skipped, role.value)
        else:
            _bump(counts.lowered, role.value)
            kept.append(f.evolve(severity=min(f.severity, LOWERED_TO), lowered_from=f.severity))
    return kept, counts
