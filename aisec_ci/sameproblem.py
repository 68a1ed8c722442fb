"""One problem, one result: findings of different rules that report the same
problem on the same line are merged into one.

A secret committed in a Kubernetes Secret is found twice: by the kubernetes
scanner (`k8s/secret-committed`: "this Secret's value is in git") and by the
secrets scanner (`secrets/openai-api-key`: "this is an OpenAI key"). Both point
at the same line and are fixed by the same change, so a reader should meet one
result. Which rules report the same problem is written down in `SAME_PROBLEMS`,
not guessed from the location: two findings on one line are often two problems
(a root user and an unpinned image on one `FROM` line; an MLflow server without
auth and the store password on its command line).

What the merge keeps
--------------------
- The survivor is the most severe finding; on a tie, the one whose member comes
  first in its group's table entry (the preference is written there, with why).
  So the gate decides exactly as it would on the unmerged findings.
- The survivor is unchanged except for two properties: `also_reported_by`, the
  sorted rule ids of the findings it absorbed, and `merged_fingerprints`, an
  object from each absorbed finding's fingerprint to its rule id. Its own
  fingerprint never changes, so existing baselines and code-scanning alerts of
  the survivor keep matching. Nothing of the absorbed findings but their rule id
  and fingerprint is carried over (their messages and snippets may quote
  partially redacted values; the survivor's own are enough).

Where it runs, and what baselines and new-only see
--------------------------------------------------
The pipeline merges after suppression (inline comments, config ignores and the
baseline apply to each finding by its own rule and fingerprint) and before
new-only selection:

- A suppression of either finding hides that finding only; the other is
  reported alone, as before this module existed.
- A baseline hides a merged result only when every one of its findings is in
  it. `baseline create` therefore writes the survivor's fingerprint and its
  `merged_fingerprints`; baselines written before merging existed hold both
  already. A baselined survivor does not hide a finding it would absorb: a new
  token pasted into an old Secret keeps the Secret's fingerprint (the
  kubernetes scanner keys it by the Secret's key name) while the secrets
  finding's fingerprint is new, and that new credential must be reported.
- New-only mode reports a merged result unless the base scan had every one of
  its findings (reported, suppressed or merged there): `member_fingerprints`
  gives the set to look up, for the same reason.

Findings from git history (they carry a `commit` property) are about old
blobs, not today's line, and are never merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from fnmatch import fnmatchcase

from aisec_ci.findings import Finding

ALSO_REPORTED_BY = "also_reported_by"
"""Survivor property: sorted rule ids of the findings merged into it."""
MERGED_FINGERPRINTS = "merged_fingerprints"
"""Survivor property: {fingerprint: rule id} of the findings merged into it."""


@dataclass(frozen=True)
class Member:
    """The findings of one view of a problem: rules matched by id, optionally narrowed."""

    rule: str
    """A rule id, or a pattern with `*` matching rule ids (`secrets/*`)."""
    excluding: tuple[str, ...] = ()
    """Rule ids the pattern matches that report something else."""
    key_part: str = ""
    """When set, only findings whose `key` has this `:`-separated part: for a rule that
    reports several problems under one id and says which in its key (the key is part
    of the fingerprint, so scanners keep it stable)."""

    def matches(self, finding: Finding) -> bool:
        if not fnmatchcase(finding.rule_id, self.rule) or finding.rule_id in self.excluding:
            return False
        return not self.key_part or self.key_part in finding.key.split(":")

    def matches_rule(self, rule_id: str) -> bool:
        """Whether findings of `rule_id` can belong to this member (the key is not known)."""
        return fnmatchcase(rule_id, self.rule) and rule_id not in self.excluding


@dataclass(frozen=True)
class SameProblem:
    """Rules that, on the same line of the same file, report one problem."""

    name: str
    why: str
    """Why these are one problem: what one fix removes."""
    members: tuple[Member, ...]
    """In order of preference: on a severity tie the finding of the earlier member survives."""


HARD_CODED_SECRET = SameProblem(
    name="hard-coded secret value",
    why="A credential literal in a Kubernetes Secret or ConfigMap, a container env var, a Dockerfile ENV/ARG, "
    "a compose `environment` entry, a workflow's container credentials or an MLflow store URI is also a "
    "secret the secrets scanner finds on that line. Both say 'this credential is committed'; moving it "
    "out of the file (and revoking it) fixes both.",
    members=(
        # The secrets finding names the credential (provider, format check) and says to revoke it,
        # whichever file it sits in: on a tie it is the one to keep.
        Member("secrets/*", excluding=("secrets/unparsed-notebook",)),
        Member("k8s/secret-committed"),
        Member("k8s/secret-in-env"),
        Member("docker/secret-in-env"),
        Member("compose/secret-in-environment"),
        Member("workflows/hardcoded-container-credentials"),
        # Only the store-password variant: the same rule also reports clear-text artifact
        # stores and unlimited gunicorn workers, which are other problems.
        Member("exposure/mlflow-unsafe-store-options", key_part="mlflow-store-password"),
    ),
)

SAME_PROBLEMS: tuple[SameProblem, ...] = (HARD_CODED_SECRET,)
"""Every group of rules that report one problem.

Found by scanning the real repositories and the test corpora with every scanner and
grouping findings by (path, line). Pairs that meet on one line but stay apart:

- `exposure/mlflow-without-auth` beside the store password of the same `mlflow server`
  command (`exposure/mlflow-unsafe-store-options`, `secrets/credential-url`): adding
  `--app-name basic-auth` leaves the password in the file, and moving the password out
  leaves the server open.
- `compose/ml-service-exposed` and `exposure/mlflow-without-auth` for one compose
  service: the first points at the `ports:` entry, the second at `command:`, so they
  only share a line in flow style (`{image: ..., command: ..., ports: [...]}`), and each
  stands without the other (a loopback-bound port with no auth on the compose network;
  an authenticated server published to the world). Merging them on that one layout
  would make the result depend on YAML formatting.
- Kubernetes container hardening rules (`k8s/run-as-non-root-missing`,
  `k8s/seccomp-profile-missing`, `k8s/writable-root-filesystem` ...) that all point at
  the container's line, Dockerfile rules that share a `FROM` or `RUN` line
  (`docker/root-user` and `docker/unpinned-base-image`, `docker/pip-cache` and
  `docker/pip-unpinned`), workflow rules on one `uses:` line: one line, several fixes.
- `models/pickle-format` and `models/pickle-code-execution` on a model file: the first
  is about the format, the second about what this file does when loaded.
- Two findings of one rule on a line are never merged: the engine counts them as two
  occurrences on purpose.
"""


def merge_same_problem(findings: Sequence[Finding], groups: Sequence[SameProblem] = SAME_PROBLEMS) -> list[Finding]:
    """`findings` with each set of same-problem findings on one line replaced by its
    survivor (see the module docstring); the order of the rest is kept.

    A line where one member has two findings (two tokens in one Secret value, two
    passwords in one URL list) is left as it is: which token the other view is about
    cannot be told, and two credentials are two problems.
    """
    places: dict[tuple[int, str, int], list[tuple[int, int]]] = {}
    for position, finding in enumerate(findings):
        if not finding.fingerprint or "commit" in finding.properties:
            continue
        hit = _member_of(finding, groups)
        if hit is not None:
            group, member = hit
            places.setdefault((group, finding.path, finding.start_line), []).append((member, position))
    survivors: dict[int, Finding] = {}
    absorbed: set[int] = set()
    for entries in places.values():
        members = [member for member, _ in entries]
        if len(set(members)) < 2 or len(set(members)) != len(members):
            continue

        def preference(entry: tuple[int, int]) -> tuple[int, int, str, str]:
            member, position = entry
            f = findings[position]
            return (-f.severity, member, f.rule_id, f.fingerprint)

        ordered = sorted(entries, key=preference)
        first = ordered[0][1]
        survivors[first] = _absorb(findings[first], [findings[position] for _, position in ordered[1:]])
        absorbed.update(position for _, position in ordered[1:])
    return [survivors.get(i, f) for i, f in enumerate(findings) if i not in absorbed]


def merged_fingerprints(finding: Finding) -> dict[str, str]:
    """{fingerprint: rule id} of the findings merged into `finding` (empty when none).

    Properties also come back from JSON reports (`merge`), so anything that is not an
    object of strings is ignored rather than trusted."""
    value = finding.properties.get(MERGED_FINGERPRINTS)
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and k and isinstance(v, str)}


def member_fingerprints(finding: Finding) -> tuple[str, ...]:
    """The finding's own fingerprint followed by those merged into it: every identity
    under which a baseline or a base scan may know this problem."""
    return (finding.fingerprint, *sorted(merged_fingerprints(finding)))


def known_in(finding: Finding, fingerprints: AbstractSet[str]) -> bool:
    """Whether every finding this result stands for is among `fingerprints`."""
    return all(fp in fingerprints for fp in member_fingerprints(finding))


def _member_of(finding: Finding, groups: Sequence[SameProblem]) -> tuple[int, int] | None:
    for g, group in enumerate(groups):
        for m, member in enumerate(group.members):
            if member.matches(finding):
                return g, m
    return None


def _absorb(survivor: Finding, others: Sequence[Finding]) -> Finding:
    merged = merged_fingerprints(survivor)
    for other in others:
        # A finding that had absorbed others already (a result merged twice) hands them on.
        merged.update(merged_fingerprints(other))
        merged[other.fingerprint] = other.rule_id
    merged.pop(survivor.fingerprint, None)
    properties = dict(survivor.properties)
    properties[ALSO_REPORTED_BY] = sorted(set(merged.values()) - {survivor.rule_id})
    properties[MERGED_FINGERPRINTS] = dict(sorted(merged.items()))
    return survivor.evolve(properties=properties)
