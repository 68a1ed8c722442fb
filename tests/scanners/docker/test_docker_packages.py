"""docker/package-unpinned: apk, npm, yarn, yum/dnf, zypper, gem, go and conda installs without versions."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.docker.docker_support import RULES, lines, scan, write

RULE = "docker/package-unpinned"


def test_every_manager_without_pins_is_reported_once_per_instruction() -> None:
    found = scan(RULES / "packages.Dockerfile")
    # One finding per RUN: the two `go install` of lines 8-9 and the dnf and microdnf of line 18 are one each.
    assert lines(found, RULE) == [3, 4, 5, 8, 12, 13, 14, 18, 19]
    by_line = {f.start_line: f for f in found if f.rule_id == RULE}
    packages = {(line, f.properties.get("manager")): f.properties["packages"] for line, f in by_line.items()}
    # `.build-deps` is the value of --virtual, not a package.
    assert packages[(3, "apk")] == ["curl", "git", "python3"]
    # A scoped package is split at its second `@`; `@latest` floats.
    assert packages[(4, "npm")] == ["@vue/cli@latest", "pm2"]
    assert packages[(5, "yarn")] == ["serve"]
    go = by_line[8]
    assert (go.start_line, go.end_line, go.properties["occurrences"]) == (8, 9, 2)
    assert go.properties["packages_by_command"] == {
        "go install": ["github.com/acme/modelctl@latest", "github.com/acme/weights-sync"]
    }
    assert go.properties["lines"] == [8, 9]
    assert "github.com/acme/modelctl@latest, github.com/acme/weights-sync" in go.message
    assert packages[(12, "gem")] == ["fpm"]
    # -c values are channels; pytorch-cuda=12.1 is pinned.
    assert packages[(13, "conda")] == ["pytorch", "torchvision"]
    # -n serve is the environment name; python=3.11 is pinned.
    assert packages[(14, "conda")] == ["faiss-cpu"]
    # `python3.11` is a package name, not a `name-version` pin; both rpm front-ends on one line, one finding.
    rpm = by_line[18]
    assert rpm.properties["managers"] == ["dnf", "microdnf"]
    assert rpm.properties["packages_by_command"] == {"dnf install": ["gcc", "python3.11"], "microdnf install": ["jq"]}
    assert rpm.properties["packages"] == ["gcc", "jq", "python3.11"]
    assert "`dnf install`: gcc, python3.11; `microdnf install`: jq" in rpm.message
    assert packages[(19, "zypper")] == ["curl"]


def test_pip_inside_conda_run_is_seen_by_the_pip_rule() -> None:
    found = scan(RULES / "packages.Dockerfile")
    assert lines(found, "docker/pip-unpinned") == [15]
    assert lines(scan(RULES / "packages-pinned.Dockerfile"), "docker/pip-unpinned") == []


def test_pinned_lock_and_local_installs_are_not_reported() -> None:
    found = scan(RULES / "packages-pinned.Dockerfile")
    assert lines(found, RULE) == []


def test_message_names_the_command_and_key_ignores_line_numbers(tmp_path: Path) -> None:
    first = scan(write(tmp_path / "a", "FROM alpine:3.20\nRUN apk add curl\n"))
    moved = scan(write(tmp_path / "b", "FROM alpine:3.20\n\n# moved down\nRUN apk add curl\n"))
    (a,) = [f for f in first if f.rule_id == RULE]
    (b,) = [f for f in moved if f.rule_id == RULE]
    assert a.message == "`apk add` without version pins: curl."
    assert a.key == b.key == "package-unpinned:apk:curl"


def test_non_install_subcommands_are_ignored(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "FROM alpine:3.20\nRUN apk update && apk del curl && npm run build && go build ./... "
        "&& conda update -y conda && gem list\n",
    )
    assert lines(scan(path), RULE) == []
