"""Rules the pipeline itself reports (not tied to one scanner)."""

from __future__ import annotations

from aisec_ci.rules import Rule
from aisec_ci.severity import Severity

SCAN_ERROR = Rule(
    id="core/scan-error",
    name="Scanner failed on a file",
    short_description="A scanner raised an error on this file, so it was not fully checked.",
    severity=Severity.MEDIUM,
    what="Reports a file that a scanner could not finish because it raised an unexpected error. "
    "The rest of the scan goes on; this finding keeps the gap visible.",
    why="A file that was not checked can hide any of the problems the scanner looks for. "
    "A security gate that silently passes over a file is a gate an attacker can walk around, "
    "for example by crafting a file that crashes the parser.",
    example="",
    fix="Look at the message for the scanner's error. If the file is valid, report the bug; "
    "if it is malformed, fix or remove it. Suppress with a reason only when the file is known safe.",
    tags=("reliability",),
    precision="very-high",
)

EXPIRED_IGNORE = Rule(
    id="core/expired-ignore",
    name="Ignore entry has expired",
    short_description="A config ignore passed its `until` date and no longer suppresses anything.",
    severity=Severity.LOW,
    what="Reports an entry under `ignores:` in `.aisec.yml` whose `until` date is in the past. "
    "The entry stops suppressing findings from that day on.",
    why="Temporary exceptions tend to become permanent. An expiry date forces the decision to be "
    "made again; this finding says it is due, and the findings it hid are reported again.",
    example=(
        "ignores:\n  - rule: docker/root-user\n    path: docker/legacy.Dockerfile\n"
        "    reason: migrating\n    until: 2024-01-31"
    ),
    example_language="yaml",
    fix="Fix the findings the entry hid and delete it, or extend `until` with a fresh reason.",
    tags=("maintenance",),
    precision="very-high",
)

INVALID_SUPPRESSION = Rule(
    id="core/invalid-suppression",
    name="Inline suppression names an unknown rule or gives no reason",
    short_description="An `aisec: ignore[...]` comment names a rule id that does not exist, or gives no reason.",
    severity=Severity.LOW,
    what="Reports an inline `aisec: ignore[RULE-ID]` comment whose rule id is not in the catalog, or that "
    "gives no reason after the brackets; either way it suppresses nothing (a config ignore without `reason:` "
    "is refused the same way).",
    why="A typo in a suppression suppresses nothing, so the author believes a finding is handled "
    "when it is not, and the comment misleads reviewers. A suppression without a reason cannot be reviewed.",
    example="password = os.environ['DB_PASSWORD']  # aisec: ignore[secret/keyword] not a literal",
    example_language="python",
    fix="Use the exact id from `aisec-ci rules`, for example `secrets/keyword`.",
    tags=("maintenance",),
    precision="very-high",
)

CORE_RULES: tuple[Rule, ...] = (SCAN_ERROR, EXPIRED_IGNORE, INVALID_SUPPRESSION)
