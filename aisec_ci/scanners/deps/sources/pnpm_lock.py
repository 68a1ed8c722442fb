"""pnpm-lock.yaml: lockfileVersion 5.x, 6.x and 9.x.

Every installed package is a key of the top-level `packages` map, and the key
spells name and version differently per lockfile version:

- 5.x: `/lodash/4.17.21`, `/@babel/core/7.12.3`, peers after `_`
  (`/styled-jsx/5.0.0_react@18.2.0`);
- 6.x: `/lodash@4.17.21`, `/@babel/core@7.12.3`, peers in parentheses
  (`/react-dom@18.2.0(react@18.2.0)`);
- 9.x: `lodash@4.17.21`, `'@babel/core@7.12.3'` without the slash; peer
  variants moved to `snapshots`, which repeats what `packages` holds and is
  not read.

A package fetched from elsewhere has a host path or URL as its key
(`github.com/user/repo/<sha>`, `foo@https://codeload.github.com/...`) and says
so in its `resolution` (`{tarball: ...}`, `{type: git, ...}`,
`{directory: ...}`); its `name` and `version` fields name it. pnpm writes the
file with fixed two-space indentation, so it is read line by line (which gives
each key's line) rather than loaded as YAML.
"""

from __future__ import annotations

import re

from aisec_ci.scanners.deps.model import ManifestError, Parsed, PinKind, Problem
from aisec_ci.scanners.deps.sources.npm_common import Entry, dependencies, source_kind

ORIGIN = "pnpm-lock.yaml"
_VERSION_RE = re.compile(r"""^lockfileVersion:\s*['"]?([\d.]+)['"]?\s*$""")
_KEY_RE = re.compile(r"^  (\S.*?):\s*$")
_FIELD_RE = re.compile(r"^    ([A-Za-z][\w-]*):\s*(.*?)\s*$")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _major(version: str) -> int:
    try:
        return int(float(version))
    except ValueError:
        return 0


def parse(path: str, text: str) -> Parsed:
    lines = text.splitlines()
    lockfile = ""
    for line in lines[:20]:
        m = _VERSION_RE.match(line)
        if m:
            lockfile = m.group(1)
            break
    if not lockfile:
        raise ManifestError(f"{path}: no `lockfileVersion` in the first lines; not a pnpm lock file")
    major = _major(lockfile)
    out = Parsed()
    entries: list[Entry] = []
    in_packages = False
    key, key_line, snippet = "", 0, ""
    fields: dict[str, str] = {}

    def flush() -> None:
        if key_line:
            entry = _entry(path, key, key_line, snippet, fields, major, out)
            if entry is not None:
                entries.append(entry)

    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            flush()
            key, key_line, fields = "", 0, {}
            in_packages = line.rstrip() == "packages:"
            continue
        if not in_packages:
            continue
        m = _KEY_RE.match(line)
        if m:
            flush()
            key, key_line, snippet, fields = _unquote(m.group(1)), number, line.strip(), {}
            continue
        f = _FIELD_RE.match(line)
        if f and key_line:
            fields[f.group(1)] = f.group(2)
    flush()
    out.dependencies = dependencies(path, ORIGIN, entries)
    return out


def _split_key(key: str, major: int) -> tuple[str, str]:
    """(name, version) from a registry package's key."""
    body = key.removeprefix("/")
    if major >= 6:
        body = body.split("(", 1)[0]
        at = body.rfind("@")
        return (body[:at], body[at + 1 :]) if at > 0 else (body, "")
    slash = body.rfind("/")
    if slash <= 0:
        return body, ""
    return body[:slash], body[slash + 1 :].split("_", 1)[0]


def _entry(
    path: str, key: str, line: int, snippet: str, fields: dict[str, str], major: int, out: Parsed
) -> Entry | None:
    resolution = fields.get("resolution", "")
    group = "dev" if fields.get("dev") == "true" else ("optional" if fields.get("optional") == "true" else "")
    name_field = _unquote(fields.get("name", ""))
    version_field = _unquote(fields.get("version", ""))
    kind: PinKind | None = None
    source = ""
    if "directory:" in resolution:
        kind, source = PinKind.LOCAL, _inline(resolution, "directory")
    elif "type: git" in resolution or "repo:" in resolution:
        kind, source = PinKind.VCS, _inline(resolution, "repo") or key
    elif "tarball:" in resolution:
        tarball = _inline(resolution, "tarball")
        kind = source_kind(tarball) or (None if _registry_key(key, major) else PinKind.URL)
        source = tarball if kind else ""
    if kind is None and not _registry_key(key, major):
        kind, source = (source_kind(key) or PinKind.URL), key
    if kind is not None:
        name = name_field or _split_key(key, major)[0]
        return Entry(
            name=name, version=version_field, line=line, snippet=snippet, kind=kind, source=source, group=group
        )
    name, version = _split_key(key, major)
    name, version = name_field or name, version_field or version
    if not name or not version:
        out.problems.append(Problem(path, line, f"cannot tell the package and version of `{key}`", snippet))
        return None
    return Entry(name=name, version=version, line=line, snippet=snippet, group=group)


def _registry_key(key: str, major: int) -> bool:
    """A key of a registry package (`/name/1.0.0`, `/name@1.0.0`, `name@1.0.0`), not a host path or URL
    (`github.com/u/r/<sha>`, `foo@https://...`, `foo@file:../foo`)."""
    body = key.split("(", 1)[0]
    if major < 6:
        return body.startswith("/") and ":" not in body
    return _REGISTRY_KEY_RE.match(body.removeprefix("/")) is not None


_REGISTRY_KEY_RE = re.compile(r"^(?:@[^/@:]+/)?[^/@:]+@[^/@:]+$")


def _inline(flow: str, field: str) -> str:
    """One value of a YAML flow map (`{tarball: https://..., integrity: ...}`)."""
    m = re.search(r"(?:\{|,)\s*" + re.escape(field) + r":\s*([^,}]+)", flow)
    return _unquote(m.group(1).strip()) if m else ""
