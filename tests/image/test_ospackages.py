"""os-release, dpkg status (and distroless status.d) and apk installed databases; distribution
version order and per-release matching in the dependency engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec_ci.image.ospackages import Distro, parse_apk_installed, parse_dpkg_status, parse_os_release
from aisec_ci.scanners.deps.matching import fixed_versions, is_affected
from aisec_ci.scanners.deps.versions import parse_apk, parse_debian, sort_key

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "image"
OSV = FIXTURES / "osv"


def _read(rel: str) -> str:
    return (FIXTURES / rel).read_text(encoding="utf-8")


def _line_of(rel: str, text: str) -> int:
    return _read(rel).splitlines().index(text) + 1


def _record(vid: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((OSV / f"{vid}.json").read_text(encoding="utf-8"))
    return loaded


# --- os-release ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("debian-12", Distro("debian", "12", "Debian GNU/Linux 12 (bookworm)", "Debian:12")),
        ("debian-11", Distro("debian", "11", "Debian GNU/Linux 11 (bullseye)", "Debian:11")),
        ("ubuntu-22.04", Distro("ubuntu", "22.04", "Ubuntu 22.04.3 LTS", "Ubuntu:22.04:LTS")),
        ("ubuntu-23.10", Distro("ubuntu", "23.10", "Ubuntu 23.10", "Ubuntu:23.10")),
        ("alpine-3.18", Distro("alpine", "3.18.4", "Alpine Linux v3.18", "Alpine:v3.18")),
        # testing/sid has no VERSION_ID: no release, no advisories to match
        ("debian-trixie-testing", Distro("debian", "", "Debian GNU/Linux trixie/sid", None)),
    ],
)
def test_os_release_names_the_osv_ecosystem(name: str, expected: Distro) -> None:
    assert parse_os_release(_read(f"os-release/{name}")) == expected


def test_os_release_shell_quoting_comments_and_junk() -> None:
    text = (
        "# written by hand\n"
        "ID='Alpine'\n"
        'PRETTY_NAME="Alpine \\"edge\\" \\$HOME"\n'
        "VERSION_ID=3.19_alpha20230901\n"
        "not a line\n"
        "BAD KEY=x\n"
        'BROKEN="unterminated\n'
    )
    distro = parse_os_release(text)
    # edge is no branch OSV publishes advisories for
    assert distro == Distro("alpine", "3.19_alpha20230901", 'Alpine "edge" $HOME', None)


def test_os_release_of_other_distributions_and_of_nothing() -> None:
    fedora = parse_os_release('NAME="Fedora Linux"\nID=fedora\nVERSION_ID=39\n')
    assert fedora == Distro("fedora", "39", "fedora 39", None)
    assert parse_os_release("") is None
    assert parse_os_release("\x00\x01binary junk\n=\n") is None
    assert parse_os_release('NAME="no id here"\n') is None


# --- dpkg ------------------------------------------------------------------------


def test_dpkg_status_installed_packages_with_their_sources() -> None:
    rel = "debian12/var/lib/dpkg/status"
    found = parse_dpkg_status(_read(rel), "var/lib/dpkg/status")
    by_name = {p.name: p for p in found}
    # exim4-config is `deinstall ok config-files`: only its conffiles are left
    assert list(by_name) == ["base-files", "libc6", "libjansson4", "libc-bin", "zlib1g"]
    libc6 = by_name["libc6"]
    assert (libc6.version, libc6.source, libc6.source_version) == ("2.36-9+deb12u1", "glibc", "2.36-9+deb12u1")
    assert (libc6.path, libc6.line, libc6.kind, libc6.arch) == (
        "var/lib/dpkg/status",
        _line_of(rel, "Package: libc6"),
        "deb",
        "amd64",
    )
    # a binNMU names its source's own version in parentheses
    jansson = by_name["libjansson4"]
    assert (jansson.version, jansson.source, jansson.source_version) == ("2.14-2+b1", "jansson", "2.14-2")
    # no Source field: the package is its own source
    base = by_name["base-files"]
    assert (base.source, base.source_version, base.line) == ("base-files", "12.4+deb12u1", 1)
    assert by_name["zlib1g"].source_version == "1:1.2.13.dfsg-1"
    assert by_name["libc-bin"].line == _line_of(rel, "Package: libc-bin")


def test_dpkg_held_packages_are_installed_too() -> None:
    text = "Package: curl\nStatus: hold ok installed\nVersion: 7.88.1-10+deb12u4\n"
    assert [p.name for p in parse_dpkg_status(text, "s")] == ["curl"]
    half = "Package: curl\nStatus: install ok half-installed\nVersion: 7.88.1-10+deb12u4\n"
    assert parse_dpkg_status(half, "s") == []


def test_distroless_status_d_stanzas_count_only_when_asked() -> None:
    text = _read("distroless/var/lib/dpkg/status.d/libc6")
    path = "var/lib/dpkg/status.d/libc6"
    assert parse_dpkg_status(text, path) == []  # no Status: not installed in a plain status file
    [libc6] = parse_dpkg_status(text, path, status_d=True)
    assert (libc6.name, libc6.version, libc6.source, libc6.path, libc6.line) == (
        "libc6",
        "2.36-9+deb12u3",
        "glibc",
        path,
        1,
    )
    # a Status that says otherwise still counts in status.d
    removed = "Package: x\nStatus: deinstall ok config-files\nVersion: 1.0-1\n"
    assert parse_dpkg_status(removed, path, status_d=True) == []


def test_dpkg_junk_is_skipped_never_raised() -> None:
    text = (
        " continuation with nothing before\nPackage: a\n\n"  # a broken stanza
        "Package: no-version\nStatus: install ok installed\n\n"
        "Package: bad source\nStatus: install ok installed\nVersion: 1\n\n"
        "Package: ok\nStatus: install ok installed\nVersion: 1.0-1\nSource: ok-src (((\n\n"
        "\x00\xff garbage without colon\n\n"
        "Package: good\nStatus: install ok installed\nVersion: 2.0-1\nSource: good-src (2.0-0.1)\n"
    )
    found = parse_dpkg_status(text, "status")
    good_line = text.splitlines().index("Package: good") + 1
    assert [(p.name, p.source, p.source_version, p.line) for p in found] == [("good", "good-src", "2.0-0.1", good_line)]
    assert parse_dpkg_status("", "status") == []


# --- apk -------------------------------------------------------------------------


def test_apk_installed_database() -> None:
    rel = "alpine318/lib/apk/db/installed"
    found = parse_apk_installed(_read(rel), "lib/apk/db/installed")
    assert [(p.name, p.version, p.source) for p in found] == [
        ("musl", "1.2.4-r2", "musl"),
        ("libcrypto3", "3.1.3-r0", "openssl"),
        ("libssl3", "3.1.3-r0", "openssl"),
        ("libucontext", "1.2-r2", "libucontext"),
    ]
    crypto = found[1]
    lines = _read(rel).splitlines()
    # the stanza starts at its checksum line, just above P:libcrypto3
    assert crypto.line == lines.index("P:libcrypto3") and lines[crypto.line - 1].startswith("C:")
    assert (crypto.kind, crypto.arch, crypto.source_version, crypto.path) == (
        "apk",
        "x86_64",
        "3.1.3-r0",
        "lib/apk/db/installed",
    )


def test_apk_junk_is_skipped() -> None:
    text = "P:no-version\n\nV:1.0-r0\n\nnonsense line\n\nP:fine\nV:1.0-r0\n"
    assert [(p.name, p.source, p.line) for p in parse_apk_installed(text, "i")] == [("fine", "fine", 7)]


# --- version order and matching -------------------------------------------------


def test_dpkg_and_apk_version_order() -> None:
    order = sort_key("Debian:12")
    assert sorted(["2.36-9+deb12u3", "1:1.0-1", "2.36-9", "2.36~rc1-1", "2.36-9+deb12u10"], key=order) == [
        "2.36~rc1-1",
        "2.36-9",
        "2.36-9+deb12u3",
        "2.36-9+deb12u10",
        "1:1.0-1",  # an epoch outranks any upstream version
    ]
    assert parse_debian("8.1.2-1ubuntu2.21") < parse_debian("8.1.2-1ubuntu2.22")
    assert parse_apk("3.1.3-r0") < parse_apk("3.1.4-r0") < parse_apk("3.1.4-r10")
    assert parse_apk("1.0_rc1-r0") < parse_apk("1.0-r0") < parse_apk("1.0_p1-r0")
    for bad in ("", "abc", "1.0 x", "-1"):
        assert parse_debian(bad) is None
    assert parse_apk("junk") is None
    assert parse_apk("1.0 -r0") is None


def test_a_release_fix_applies_to_its_own_release_only() -> None:
    dsa = _record("DSA-5514-1")
    assert is_affected(dsa, "glibc", "2.36-9+deb12u1", "Debian:12")
    assert not is_affected(dsa, "glibc", "2.36-9+deb12u3", "Debian:12")
    # bullseye's fix is lower: a bookworm version is past it there, and above it the
    # bookworm fix must not be borrowed
    assert not is_affected(dsa, "glibc", "2.36-9+deb12u1", "Debian:11")
    assert is_affected(dsa, "glibc", "2.31-13+deb11u6", "Debian:11")
    assert fixed_versions(dsa, "glibc", "Debian:11") == ("2.31-13+deb11u7",)
    assert fixed_versions(dsa, "glibc", "Debian:12") == ("2.36-9+deb12u3",)
    # releases the record does not name, and the bare family, match nothing
    assert not is_affected(dsa, "glibc", "2.28-10", "Debian:10")
    assert not is_affected(dsa, "glibc", "2.36-9+deb12u1", "Debian")
    alpine = _record("ALPINE-CVE-2023-5363")
    assert is_affected(alpine, "openssl", "3.1.3-r0", "Alpine:v3.18")
    assert not is_affected(alpine, "openssl", "3.1.4-r0", "Alpine:v3.18")
    assert not is_affected(alpine, "openssl", "3.1.3-r0", "Alpine:v3.19")
    ubuntu = _record("UBUNTU-CVE-2025-6491")
    assert is_affected(ubuntu, "php8.1", "8.1.2-1ubuntu2.21", "Ubuntu:22.04:LTS")
    assert not is_affected(ubuntu, "php8.1", "8.1.2-1ubuntu2.22", "Ubuntu:22.04:LTS")
    # the Ubuntu Pro entry is another ecosystem than the plain release's
    assert not is_affected(ubuntu, "php7.4", "7.4.3-4ubuntu2.29", "Ubuntu:20.04:LTS")
    assert is_affected(ubuntu, "php7.4", "7.4.3-4ubuntu2.29", "Ubuntu:Pro:20.04:LTS")


def test_introduced_zero_is_below_every_distribution_version() -> None:
    record = {
        "id": "X-1",
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": "p"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0-1"}]}],
            }
        ],
    }
    # dpkg sorts `0~1` below `0`: still affected from "0" on
    assert is_affected(record, "p", "0~1-1", "Debian:12")
    assert is_affected(record, "p", "0.9-1", "Debian:12")
    assert not is_affected(record, "p", "1.0-1", "Debian:12")
