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
    # Both problems sit in one RUN (lines 16-17): one finding naming both.
    assert lines(found, RULE) == [16]
    [f] = [f for f in found if f.rule_id == RULE]
    assert (f.start_line, f.end_line) == (16, 17)
    assert f.properties["settings"] == ["an apt source marked `[trusted=yes]`", "`apt-get --allow-unauthenticated`"]
    assert f.properties["lines"] == [16, 17]
