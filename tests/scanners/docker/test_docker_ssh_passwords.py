"""docker/ssh-server, docker/hardcoded-password and docker/non-numeric-user (off by default)."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.docker.docker_support import RULES, lines, scan, write

PATH = RULES / "ssh-passwords.Dockerfile"


def test_ssh_server() -> None:
    assert lines(scan(PATH), "docker/ssh-server") == [3, 9]


def test_ssh_in_a_builder_stage_only_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM ubuntu:22.04 AS b\nRUN apt-get install -y openssh-server\nFROM scratch\nUSER 1\n")
    assert lines(scan(path), "docker/ssh-server") == []


def test_hardcoded_passwords_are_reported_and_redacted() -> None:
    found = scan(PATH)
    # Literal chpasswd and useradd -p; not the ones fed from variables.
    assert lines(found, "docker/hardcoded-password") == [5, 6]
    text = PATH.read_text()
    for f in found:
        for secret in ("not-a-real-password", "notarealhash"):
            assert secret in text
            assert secret not in f.message and secret not in f.snippet and secret not in f.key


def test_non_numeric_user_only_when_asked_for() -> None:
    assert lines(scan(PATH), "docker/non-numeric-user") == []
    assert lines(scan(PATH, include_disabled=True), "docker/non-numeric-user") == [10]
    assert lines(scan(RULES / "root-user-inherited.Dockerfile", include_disabled=True), "docker/non-numeric-user") == []
