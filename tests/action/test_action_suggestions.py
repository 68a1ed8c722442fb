"""Suggestion blocks: exactly right for the simple shapes, absent for everything else."""

from __future__ import annotations

import pytest

from aisec_ci.action.suggestions import suggestion_for
from aisec_ci.findings import Finding
from aisec_ci.severity import Severity

STEP_WITH_NAME = [
    "    steps:",
    "      - name: Check out",
    "        uses: actions/checkout@v4",
    "      - run: make",
]


def finding(rule_id: str, line: int, **properties: object) -> Finding:
    return Finding(rule_id, Severity.LOW, "m", "f", start_line=line, properties=dict(properties))


@pytest.mark.parametrize(
    ("rule_id", "lines", "line", "expected"),
    [
        ("docker/pip-cache", ["RUN pip install torch==2.3.1"], 1, ["RUN pip install --no-cache-dir torch==2.3.1"]),
        (
            "docker/pip-cache",
            ["RUN python3 -m pip install -r req.txt \\"],
            1,
            ["RUN python3 -m pip install --no-cache-dir -r req.txt \\"],
        ),
        ("docker/pip-cache", ["    && pip3.11 install x"], 1, ["    && pip3.11 install --no-cache-dir x"]),
        (
            "docker/apt-install-recommends",
            ["RUN apt-get -qq install -y curl"],
            1,
            ["RUN apt-get -qq install --no-install-recommends -y curl"],
        ),
        (
            "k8s/privilege-escalation-allowed",
            ["      allowPrivilegeEscalation: true  # needed?"],
            1,
            ["      allowPrivilegeEscalation: false  # needed?"],
        ),
        (
            "k8s/privilege-escalation-allowed",
            ['  "allowPrivilegeEscalation": true,'],
            1,
            ['  "allowPrivilegeEscalation": false,'],
        ),
        (
            "workflows/persist-credentials",
            ["    steps:", "      - uses: actions/checkout@v4 # pinned", "      - run: make"],
            2,
            ["      - uses: actions/checkout@v4 # pinned", "        with:", "          persist-credentials: false"],
        ),
        (
            "workflows/persist-credentials",
            STEP_WITH_NAME,
            3,
            ["        uses: actions/checkout@v4", "        with:", "          persist-credentials: false"],
        ),
    ],
)
def test_mechanical_fixes(rule_id: str, lines: list[str], line: int, expected: list[str]) -> None:
    s = suggestion_for(finding(rule_id, line), lines)
    assert s is not None and list(s.lines) == expected
    assert s.block() == "```suggestion\n" + "\n".join(expected) + "\n```"


@pytest.mark.parametrize(
    ("rule_id", "lines", "line"),
    [
        # Two installs on one line: one suggestion would fix one of them.
        ("docker/pip-cache", ["RUN pip install a && pip install b"], 1),
        ("docker/pip-cache", ["RUN uv pip install torch"], 1),
        ("docker/pip-cache", ["RUN pip install --no-cache torch"], 1),
        # A token in the index URL: the suggestion would repeat it.
        ("docker/pip-cache", ["RUN pip install --index-url https://bob:S3cretPassw0rdXyz@pypi.example.com/ x"], 1),
        ("docker/apt-install-recommends", ["RUN apt-get install -o APT::Install-Recommends=true x"], 1),
        ("k8s/privilege-escalation-allowed", ["      allowPrivilegeEscalation: false"], 1),
        # The step has a `with:` block already: the key belongs inside it, on another line.
        (
            "workflows/persist-credentials",
            ["      - uses: actions/checkout@v4", "        with:", "          fetch-depth: 0"],
            1,
        ),
        (
            "workflows/persist-credentials",
            ["      - with: {fetch-depth: 0}", "        uses: actions/checkout@v4"],
            2,
        ),
        ("workflows/persist-credentials", ["      - {uses: actions/checkout@v4}"], 1),
        ("docker/root-user", ["FROM python:3.12"], 1),
        ("docker/pip-cache", ["RUN pip install x"], 5),
    ],
)
def test_no_suggestion_when_the_fix_is_not_this_line(rule_id: str, lines: list[str], line: int) -> None:
    assert suggestion_for(finding(rule_id, line), lines) is None


def test_folded_finding_over_several_lines_gets_none() -> None:
    lines = ["RUN pip install a \\", " && pip install b"]
    assert suggestion_for(finding("docker/pip-cache", 1, lines=[1, 2]), lines) is None


def test_fence_outgrows_backticks_in_the_line() -> None:
    s = suggestion_for(finding("docker/pip-cache", 1), ["RUN pip install x  # see ````notes````"])
    assert s is not None and s.block().startswith("`````suggestion\n") and s.block().endswith("\n`````")
