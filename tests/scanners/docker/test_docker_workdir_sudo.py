"""docker/relative-workdir, docker/cd-instead-of-workdir, docker/copy-relative-without-workdir, docker/sudo-in-run."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.docker.docker_support import RULES, hits, lines, scan, write


def test_workdir_fixture() -> None:
    found = scan(RULES / "workdir.Dockerfile")
    assert hits(found, "docker/") - hits(found, "docker/root") - hits(found, "docker/base") - hits(
        found, "docker/pip"
    ) == {
        ("docker/copy-relative-without-workdir", 2),
        ("docker/relative-workdir", 3),
        ("docker/cd-instead-of-workdir", 4),
    }


def test_absolute_and_variable_workdirs_are_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM alpine:3.20\nARG APP=/srv\nWORKDIR $APP\nWORKDIR /opt/app\nCOPY x .\nUSER 1\n")
    assert hits(scan(path), "docker/relative") == set()
    assert hits(scan(path), "docker/copy-relative") == set()


def test_sudo() -> None:
    assert lines(scan(RULES.parent / "kitchen-sink" / "Dockerfile"), "docker/sudo-in-run") == [14]
    assert lines(scan(RULES / "apt.Dockerfile"), "docker/sudo-in-run") == []
