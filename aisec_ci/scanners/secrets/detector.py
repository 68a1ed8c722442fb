"""What a detector is: prefilter keywords, a way to find candidates in a line,
and a check that turns a candidate into a verdict (or rejects it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aisec_ci.rules import Rule
from aisec_ci.severity import Severity

# How a candidate was confirmed; reported as `properties.validation`.
CHECKSUM = "checksum"
STRUCTURE = "structure"
FORMAT = "format"
KEYWORD = "keyword"
ENTROPY = "entropy"


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    validation: str


VALIDATED = Verdict(Severity.CRITICAL, STRUCTURE)
SHAPED = Verdict(Severity.HIGH, FORMAT)

Check = Callable[[str, str], "Verdict | None"]
"""check(secret, line) -> verdict, or None to drop the candidate."""


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    secret: str
    verdict: Verdict


class Detector:
    """Base detector. `keywords` are lower-case literals; the scan loop only runs
    a detector on lines where one of them occurs (case-insensitively)."""

    rule: Rule
    secret_type: str
    keywords: tuple[str, ...]
    generic: bool = False
    """Keyword/entropy detectors: run the placeholder and false-positive filters."""
    filtered: bool = False
    """Keyword-anchored values with no structure: run the false-positive filters too."""
    multiline: bool = False
    """Given the text from the candidate line on (bounded), not just the line."""
    uuid_value: bool = False
    """The provider's keys are UUIDs (legacy Pinecone): the UUID filter must not drop them."""

    def find(self, text: str, path: str = "") -> Iterator[Candidate]:
        raise NotImplementedError


class RegexDetector(Detector):
    """A regex whose `secret` group (or whole match) is the candidate."""

    def __init__(
        self,
        rule: Rule,
        secret_type: str,
        keywords: tuple[str, ...],
        pattern: str,
        check: Check | None = None,
        *,
        flags: int = 0,
        generic: bool = False,
        filtered: bool = False,
        uuid_value: bool = False,
    ) -> None:
        self.rule = rule
        self.secret_type = secret_type
        self.keywords = tuple(k.lower() for k in keywords)
        self.pattern = re.compile(pattern, flags)
        self.check: Check = check or (lambda _s, _l: SHAPED)
        self.generic = generic
        self.filtered = filtered or generic
        self.uuid_value = uuid_value

    def find(self, text: str, path: str = "") -> Iterator[Candidate]:
        group = "secret" if "secret" in self.pattern.groupindex else 0
        for m in self.pattern.finditer(text):
            secret = m.group(group)
            if not secret:
                continue
            verdict = self.check(secret, text)
            if verdict is not None:
                yield Candidate(m.start(group), m.end(group), secret, verdict)


# Between a keyword and its value: the rest of the name, closing quotes, an
# assignment or call, and an optional `kwarg=`; every quantifier is bounded.
KEYWORD_GAP = (
    r"""[\w.\-(\[\]'"]{0,40}?[ \t]{0,4}(?:=|:|:=|=>|,|\(|[ \t])[ \t]{0,4}(?:[\w.]{1,30}[ \t]?[(=][ \t]?)?['"`]?"""
)
VALUE_END = r"(?![A-Za-z0-9_\-])"


def anchored(keyword: str, value: str) -> str:
    """Pattern for `<keyword...> = "<value>"` in code, env, YAML, INI and TOML forms."""
    return rf"(?i:{keyword}){KEYWORD_GAP}(?P<secret>{value}){VALUE_END}"


def provider_rule(
    slug: str,
    provider: str,
    what_format: str,
    example: str,
    fix: str,
    *,
    severity: Severity = Severity.HIGH,
    precision: str = "high",
    references: tuple[str, ...] = (),
) -> Rule:
    """Rules for provider credentials share their why; this keeps each declaration short."""
    return Rule(
        id=f"secrets/{slug}",
        name=f"{provider} credential in source",
        short_description=f"A credential for {provider} is hard-coded in the repository.",
        severity=severity,
        what=f"Finds {provider} credentials: {what_format} The value is never printed; findings show at "
        "most its first 4 characters and its length.",
        why=f"Anyone who can read the repository, its forks, CI logs or a built image can use the "
        f"{provider} credential with the owner's permissions and bill: committed keys are harvested "
        "from public repositories within minutes, and deleting the line does not remove it from git history.",
        example=example,
        fix=f"Revoke the credential in {provider} now (assume it is leaked), then load it at run time from "
        f"the environment or a secret manager. {fix}",
        tags=("CWE-798", "secrets"),
        precision=precision,
        example_language="python",
        references=references,
    )
