"""Insecure settings a user opts into: `verify=False` inside `if config["TLS_SKIP_VERIFY"]` or
`if args.insecure:` is the tool's documented switch (curl's `-k`), not a hard-coded weakness.

The walk keeps the words of every enclosing `if` test (names, attributes, string keys) while it is
inside that `if`'s body; a TLS finding there whose guard names an opt-in is lowered to low and
moved to the strict profile: still listed for an audit, no longer what a maintainer must fix.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from aisec_ci.findings import Finding
from aisec_ci.scanners.code.tls_verification import TLS_VERIFY_DISABLED
from aisec_ci.severity import Severity

# skip_verify, TLS_SKIP_VERIFY, insecure, no_verify_ssl, disable_ssl_verification, allow_insecure ...
_OPT_IN = re.compile(
    r"insecure|skip[_-]?(?:tls[_-]?|ssl[_-]?)?verif|no[_-]?(?:tls[_-]?|ssl[_-]?)?verif|"
    r"disable[_-]?(?:tls|ssl|cert|verif)|(?:ssl|tls|cert)[_-]?verif|verify[_-]?(?:ssl|tls|cert)|unverified",
    re.IGNORECASE,
)
MAX_WORDS = 32
"""An `if` test is a handful of names; a generated one with thousands costs no more than this."""


def guard_words(test: ast.expr) -> str:
    """The names, attribute names and string constants an `if` test mentions, space-separated."""
    words: list[str] = []
    for node in ast.walk(test):
        if isinstance(node, ast.Name):
            words.append(node.id)
        elif isinstance(node, ast.Attribute):
            words.append(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) <= 64:
            words.append(node.value)
        if len(words) >= MAX_WORDS:
            break
    return " ".join(words)


def opted_in(findings: list[Finding], start: int, guards: Sequence[str]) -> None:
    """Lower, in place, the TLS findings from `findings[start:]` that sit under an opt-in guard."""
    if not guards:
        return
    switch = next((word for g in reversed(guards) for word in g.split() if _OPT_IN.search(word)), None)
    if switch is None:
        return
    for i in range(start, len(findings)):
        f = findings[i]
        if f.rule_id == TLS_VERIFY_DISABLED.id:
            findings[i] = f.evolve(
                severity=Severity.LOW,
                profile="strict",
                message=f"{f.message.rstrip('.')} (only when the user opts in: `{switch}`)",
                properties={**f.properties, "opt_in": switch},
            )
