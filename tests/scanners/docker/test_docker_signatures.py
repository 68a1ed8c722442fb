"""docker/unsigned-packages."""

from __future__ import annotations

from tests.scanners.docker.docker_support import RULES, lines, scan

RULE = "docker/unsigned-packages"


def test_rpm_family() -> None:
    # yum --nogpgcheck, dnf --setopt=gpgcheck=0, rpm --nosignature, a repo file written with gpgcheck=0.
    assert lines(scan(RULES / "unsigned.Dockerfile"), RULE) == [2, 3, 4, 5]


def test_apk_and_apt() -> None:
    assert lines(scan(RULES / "unsigned-apk.Dockerfile"), RULE) == [2, 3]


def test_trusted_apt_source_and_allow_unauthenticated() -> None:
    found = scan(RULES.parent / "kitchen-sink" / "Dockerfile")
    assert lines(found, RULE) == [16, 17]
