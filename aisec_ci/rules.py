"""Rule records and the catalog that gathers them from every scanner.

A rule's id is a public contract (`<family>/<slug>`): it appears in SARIF,
suppression comments, baselines and config, so ids never change once shipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from aisec_ci.severity import Severity

PROFILES = ("default", "strict", "audit")
"""Nested sets of rules, after zizmor's personas: `default` holds what a maintainer acts on,
`strict` adds hygiene (pinning, healthchecks, labels ...), `audit` adds low-confidence rules."""
_CONFIDENCE = {"very-high": "high", "high": "high", "medium": "medium", "low": "low"}

RULE_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*/[a-z0-9]+(?:-[a-z0-9]+)*$")
RULES_DOC = "docs/rules.md"
# Where the generated rule reference lives once published; SARIF help links point here.
RULES_DOC_URL = "https://github.com/aisec-ci/aisec-ci/blob/main/docs/rules.md"


@dataclass(frozen=True)
class Rule:
    """One check. Declared next to the code that implements it."""

    id: str
    """Stable id, `<family>/<slug>`, e.g. `docker/root-user`."""
    name: str
    """Short human title (<= 255 chars for SARIF)."""
    short_description: str
    """One line: what is wrong."""
    severity: Severity
    """Default severity; config may override it per rule."""
    what: str
    """What it does: the check, in a sentence or two."""
    why: str
    """Why is this bad: the attack it enables."""
    example: str = ""
    """A minimal offending snippet (markdown code block body)."""
    fix: str = ""
    """Use instead: the remediation."""
    tags: tuple[str, ...] = ()
    """Extra tags such as CWE ids (`CWE-798`); `security` is added in SARIF."""
    precision: str = "high"
    """SARIF precision: very-high, high, medium or low."""
    example_language: str = ""
    """Code-fence language for the example (dockerfile, yaml, python ...)."""
    references: tuple[str, ...] = ()
    """URLs for further reading."""
    enabled_by_default: bool = True
    """False: the rule never reports unless config enables it (`rules: ID: enabled: true`).
    Prefer a profile: a hygiene rule belongs to `strict`, not switched off."""
    profile: str = "default"
    """The smallest profile that reports this rule: default, strict or audit (always audit
    for a low-precision rule)."""

    def __post_init__(self) -> None:
        if not RULE_ID_RE.match(self.id):
            raise ValueError(f"rule id {self.id!r} is not of the form family/slug")
        if self.precision not in ("very-high", "high", "medium", "low"):
            raise ValueError(f"rule {self.id}: bad precision {self.precision!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"rule {self.id}: bad profile {self.profile!r}")
        if self.precision == "low" and self.profile != "audit":
            # Low confidence is what the audit profile is for: such a rule reports nowhere else.
            object.__setattr__(self, "profile", "audit")

    @property
    def confidence(self) -> str:
        """high, medium or low: how often a finding of this rule is a real problem
        (SARIF's `precision` carries the finer value)."""
        return _CONFIDENCE[self.precision]

    @property
    def family(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def anchor(self) -> str:
        """The markdown heading anchor of this rule in docs/rules.md."""
        return re.sub(r"[^a-z0-9-]", "", self.id.replace("/", "").lower())

    @property
    def help_uri(self) -> str:
        return f"{RULES_DOC_URL}#{self.anchor}"

    def help_markdown(self) -> str:
        """Ruff-style help: What it does / Why is this bad / Example / Fix."""
        parts = [f"## What it does\n\n{self.what}", f"## Why is this bad?\n\n{self.why}"]
        if self.example:
            parts.append(f"## Example\n\n```{self.example_language}\n{self.example.rstrip()}\n```")
        if self.fix:
            parts.append(f"## Fix\n\n{self.fix}")
        if self.references:
            parts.append("## References\n\n" + "\n".join(f"- <{u}>" for u in self.references))
        parts.append(
            f"Default severity: **{self.severity.label}**. Profile: **{self.profile}**. "
            f"Confidence: **{self.confidence}**. Rule reference: [{self.id}]({self.help_uri})"
        )
        return "\n\n".join(parts) + "\n"

    def help_text(self) -> str:
        """Plain-text help for terminals and SARIF `help.text`."""
        lines = [
            f"{self.id}: {self.name}",
            f"Default severity: {self.severity.label}",
            f"Profile: {self.profile} · confidence: {self.confidence}",
            "",
            "What it does:",
            f"  {self.what}",
        ]
        lines += ["", "Why is this bad?", f"  {self.why}"]
        if self.example:
            lines += ["", "Example:"] + [f"    {ln}" for ln in self.example.rstrip().splitlines()]
        if self.fix:
            lines += ["", "Fix:", f"  {self.fix}"]
        if self.references:
            lines += ["", "References:"] + [f"  {u}" for u in self.references]
        return "\n".join(lines) + "\n"


@dataclass
class RuleCatalog:
    """All known rules by id; built from the core rules plus every registered scanner."""

    rules: dict[str, Rule] = field(default_factory=dict)
    scanner_rules: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Rule ids each scanner declares, by scanner name: a SARIF log describes every
    rule of the scanners that ran, so reports need this without the registry."""

    def add_scanner(self, name: str, rules: Iterable[Rule]) -> None:
        rules = tuple(rules)
        self.extend(rules)
        self.scanner_rules[name] = tuple(r.id for r in rules)

    def rules_of(self, scanner: str) -> list[Rule]:
        """The rules `scanner` declares ([] for a scanner the catalog was not built with)."""
        return [self.rules[rid] for rid in self.scanner_rules.get(scanner, ())]

    def add(self, rule: Rule) -> None:
        existing = self.rules.get(rule.id)
        if existing is not None and existing != rule:
            raise ValueError(f"rule id {rule.id} is declared twice with different content")
        self.rules[rule.id] = rule

    def extend(self, rules: Iterable[Rule]) -> None:
        for rule in rules:
            self.add(rule)

    def get(self, rule_id: str) -> Rule | None:
        return self.rules.get(rule_id)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self.rules

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self.rules.values(), key=lambda r: r.id))

    def __len__(self) -> int:
        return len(self.rules)
