"""The OS packages an image installed, read from its package databases, and its distribution.

Three formats, all plain text written by the package manager:

- `etc/os-release` (or `usr/lib/os-release`): shell-like `KEY=value` lines that
  name the distribution and its release, which decides the OSV ecosystem
  (`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.18`).
- dpkg's `var/lib/dpkg/status`: RFC 822-like stanzas separated by blank lines,
  with continuation lines indented. Distroless images keep one file per
  package in `var/lib/dpkg/status.d/` instead, without a `Status` field.
- apk's `lib/apk/db/installed`: stanzas of one-letter `X:value` lines.

Advisories for these distributions name source packages (`glibc`), not the
binary packages installed from them (`libc6`, `libc-bin`), so each package
carries its source and the source's version. Nothing here raises on bad input:
a stanza that cannot be read is skipped and the rest is returned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Distro:
    id: str
    """os-release `ID`, lower case: debian, ubuntu, alpine ..."""
    version_id: str
    """`VERSION_ID` as written (12, 22.04, 3.18.4); empty when absent (Debian testing)."""
    pretty: str
    """`PRETTY_NAME`, else id and version, for messages."""
    ecosystem: str | None
    """The OSV ecosystem of its packages, or None when OSV has no advisories for this release."""


@dataclass(frozen=True)
class OsPackage:
    name: str
    """Binary package name (libc6)."""
    version: str
    """Installed version (2.36-9+deb12u1)."""
    source: str
    """The source package advisories name (glibc); the package's own name when it has none."""
    source_version: str
    """The source's version: dpkg's `Source: glibc (2.36-9)` gives it, else the package's."""
    path: str
    """The database file inside the image, as given (var/lib/dpkg/status)."""
    line: int
    """1-based line where the package's stanza starts."""
    kind: str
    """deb or apk."""
    arch: str = ""


# --- os-release --------------------------------------------------------------

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Inside double quotes, a backslash escapes only these (as in a POSIX shell).
_DQ_ESCAPED = frozenset('"\\$`')


def _unquote(raw: str) -> str | None:
    """The value of a shell-like assignment's right-hand side, or None when it is malformed."""
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch == "'":
            end = raw.find("'", i + 1)
            if end < 0:
                return None
            out.append(raw[i + 1 : end])
            i = end + 1
        elif ch == '"':
            i += 1
            while i < n and raw[i] != '"':
                if raw[i] == "\\" and i + 1 < n and raw[i + 1] in _DQ_ESCAPED:
                    i += 1
                out.append(raw[i])
                i += 1
            if i >= n:
                return None
            i += 1
        elif ch == "\\" and i + 1 < n:
            out.append(raw[i + 1])
            i += 2
        elif ch.isspace() or ch == "#":
            break  # an unquoted space ends the value; what follows is a comment or junk
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _os_release_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        if not _KEY_RE.match(key):
            continue
        value = _unquote(raw)
        if value is not None:
            fields[key] = value
    return fields


_DEBIAN_RELEASE_RE = re.compile(r"^(\d+)(?:\.\d+)*$")
_UBUNTU_RELEASE_RE = re.compile(r"^(\d{2})\.(\d{2})$")
_ALPINE_RELEASE_RE = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)*$")


def distro_ecosystem(distro_id: str, version_id: str, version: str = "") -> str | None:
    """The OSV ecosystem of a release (`VERSION` is used to tell Ubuntu's LTS releases), or None."""
    if distro_id == "debian":
        m = _DEBIAN_RELEASE_RE.match(version_id)
        return f"Debian:{m.group(1)}" if m else None
    if distro_id == "ubuntu":
        m = _UBUNTU_RELEASE_RE.match(version_id)
        if not m:
            return None
        # LTS releases come every two years in April (even year, .04); VERSION says so as well.
        lts = "LTS" in version.split() or (int(m.group(1)) % 2 == 0 and m.group(2) == "04")
        return f"Ubuntu:{version_id}" + (":LTS" if lts else "")
    if distro_id == "alpine":
        # 3.18.4 is a point release of the v3.18 branch; edge (`3.19_alpha20230901`) has no ecosystem.
        m = _ALPINE_RELEASE_RE.match(version_id)
        return f"Alpine:v{m.group(1)}.{m.group(2)}" if m else None
    return None


def parse_os_release(text: str) -> Distro | None:
    """The distribution an os-release file names, or None when it names none (no `ID`)."""
    fields = _os_release_fields(text)
    distro_id = fields.get("ID", "").strip().lower()
    if not distro_id:
        return None
    version_id = fields.get("VERSION_ID", "").strip()
    pretty = fields.get("PRETTY_NAME", "").strip() or " ".join(p for p in (distro_id, version_id) if p)
    return Distro(
        id=distro_id,
        version_id=version_id,
        pretty=pretty,
        ecosystem=distro_ecosystem(distro_id, version_id, fields.get("VERSION", "")),
    )


# --- dpkg --------------------------------------------------------------------


def _stanzas(text: str) -> Iterator[tuple[int, list[str]]]:
    """(1-based first line, lines) of each blank-line separated stanza."""
    start = 0
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not lines:
                start = number
            lines.append(line)
        elif lines:
            yield start, lines
            lines = []
    if lines:
        yield start, lines


def _deb_fields(lines: list[str]) -> dict[str, str] | None:
    """A dpkg stanza's fields (first line of each; continuation lines are descriptions and file
    lists, which nothing here needs), or None when a line is neither field nor continuation."""
    fields: dict[str, str] = {}
    for line in lines:
        if line[0] in " \t":
            if not fields:
                return None  # a continuation with nothing to continue
            continue
        key, sep, value = line.partition(":")
        if not sep or not key or " " in key:
            return None
        fields.setdefault(key.strip().lower(), value.strip())
    return fields


_SOURCE_RE = re.compile(r"^(\S+)(?:\s*\(\s*(\S+)\s*\))?$")


def _installed(status: str) -> bool:
    """dpkg's Status is `want flag state`: the files are there when the flag is `ok` and the state
    `installed` (`install ok installed`, and also held or to-be-removed packages that still are)."""
    words = status.split()
    return len(words) == 3 and words[1] == "ok" and words[2] == "installed"


def parse_dpkg_status(text: str, path: str, status_d: bool = False) -> list[OsPackage]:
    """The installed packages of a dpkg status file. With `status_d` (distroless images'
    `var/lib/dpkg/status.d/<name>` files, which carry no Status), a stanza without Status counts
    as installed; otherwise only a stanza whose Status says installed does."""
    found: list[OsPackage] = []
    for start, lines in _stanzas(text):
        fields = _deb_fields(lines)
        if fields is None:
            continue
        name, version = fields.get("package", ""), fields.get("version", "")
        if not name or not version or any(c.isspace() for c in name + version):
            continue
        status = fields.get("status")
        if not (_installed(status) if status is not None else status_d):
            continue
        source, source_version = name, version
        if fields.get("source"):
            m = _SOURCE_RE.match(fields["source"])
            if m is None:
                continue
            source = m.group(1)
            source_version = m.group(2) or version
        found.append(
            OsPackage(
                name=name,
                version=version,
                source=source,
                source_version=source_version,
                path=path,
                line=start,
                kind="deb",
                arch=fields.get("architecture", ""),
            )
        )
    return found


# --- apk ---------------------------------------------------------------------


def parse_apk_installed(text: str, path: str) -> list[OsPackage]:
    """The packages of Alpine's `lib/apk/db/installed` (P: name, V: version, o: origin, A: arch)."""
    found: list[OsPackage] = []
    for start, lines in _stanzas(text):
        fields: dict[str, str] = {}
        for line in lines:
            # Each line is one letter, a colon and the value; the file lists (F:, R:, Z: ...) repeat.
            if len(line) >= 2 and line[1] == ":" and line[0].isalpha():
                fields.setdefault(line[0], line[2:].strip())
        name, version = fields.get("P", ""), fields.get("V", "")
        if not name or not version or any(c.isspace() for c in name + version):
            continue
        origin = fields.get("o", "")
        found.append(
            OsPackage(
                name=name,
                version=version,
                source=origin if origin and not any(c.isspace() for c in origin) else name,
                # An apk's origin is built at the same version and release as the package.
                source_version=version,
                path=path,
                line=start,
                kind="apk",
                arch=fields.get("A", ""),
            )
        )
    return found
