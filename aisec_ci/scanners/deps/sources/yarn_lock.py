"""yarn.lock: yarn 1's own format and yarn 2+ ("berry"), which is YAML.

Both are one block per resolved package: a header line at column 0 naming
every descriptor that resolved to it (`"lodash@^4.17.0", lodash@^4.17.20:`)
and fields indented below it. yarn 1 writes `version "4.17.21"` and
`resolved "<tarball url>"`; berry writes `version: 4.17.21` and
`resolution: "lodash@npm:4.17.21"`, whose protocol says where the code came
from (`npm:` a registry release, `patch:` a release with a local patch,
`workspace:` the project itself, `git`/`github:` a checkout, `file:`/`link:`
/`portal:` a local folder). Both formats are written by machine with fixed
indentation, so they are read line by line, which also gives each block's
line; the berry file is never handed to a YAML loader (a large lock file would
cost seconds there).
"""

from __future__ import annotations

import re

from aisec_ci.scanners.deps.model import ManifestError, Parsed, PinKind, Problem
from aisec_ci.scanners.deps.sources.npm_common import Entry, dependencies, source_kind

ORIGIN = "yarn.lock"
_FIELD_RE = re.compile(r"^  ([A-Za-z][\w-]*)(?::\s*|\s+)(.*)$")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _descriptors(header: str) -> list[str]:
    body = header.rstrip()
    body = body[:-1] if body.endswith(":") else body
    return [_unquote(part) for part in re.split(r",\s*", body) if part.strip()]


def _name_and_range(descriptor: str) -> tuple[str, str]:
    at = descriptor.find("@", 1)  # a scoped name starts with its own `@`
    if at < 0:
        return descriptor, ""
    return descriptor[:at], descriptor[at + 1 :]


def parse(path: str, text: str) -> Parsed:
    lines = text.splitlines()
    berry = any(line.startswith("__metadata:") for line in lines[:50])
    out = Parsed()
    entries: list[Entry] = []
    header_line = 0
    header = ""
    fields: dict[str, str] = {}

    def flush() -> None:
        if header_line and header:
            entry = (_berry if berry else _classic)(path, header, header_line, fields, out)
            if entry is not None:
                entries.append(entry)

    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            flush()
            if not line.rstrip().endswith(":"):
                raise ManifestError(f"{path}: line {number} is neither a package header nor a field")
            header_line, header, fields = number, line.strip(), {}
            if berry and header == "__metadata:":
                header_line = 0
            continue
        m = _FIELD_RE.match(line)
        if m and header_line:
            fields[m.group(1)] = _unquote(m.group(2))
    flush()
    out.dependencies = dependencies(path, ORIGIN, entries)
    return out


def _classic(path: str, header: str, line: int, fields: dict[str, str], out: Parsed) -> Entry | None:
    name, spec = _name_and_range(_descriptors(header)[0])
    if spec.startswith("npm:"):
        name = _name_and_range(spec[4:])[0]  # an alias: `string-width-cjs@npm:string-width@^4.2.0`
    version = fields.get("version", "")
    resolved = fields.get("resolved", "")
    kind = source_kind(spec) or source_kind(resolved)
    if kind is None and "://" in spec:
        kind = PinKind.URL  # `name@https://host/archive.tgz`: not a registry release
    if kind is None and not version:
        out.problems.append(Problem(path, line, f"{name} has no version", header))
        return None
    return Entry(
        name=name,
        version=version,
        line=line,
        snippet=header,
        kind=kind or PinKind.PINNED,
        source=(spec if source_kind(spec) or "://" in spec else resolved) if kind else "",
    )


def _berry(path: str, header: str, line: int, fields: dict[str, str], out: Parsed) -> Entry | None:
    resolution = fields.get("resolution") or _descriptors(header)[0]
    name, protocol = _name_and_range(resolution)
    version = fields.get("version", "")
    if protocol.startswith("workspace:"):
        return None  # the project's own workspace
    if protocol.startswith(("npm:", "patch:")):
        if not version:
            out.problems.append(Problem(path, line, f"{name} has no version", header))
            return None
        return Entry(name=name, version=version, line=line, snippet=header)
    kind = source_kind(protocol)
    if kind is None:
        kind = PinKind.VCS if "#commit=" in protocol else PinKind.URL if "://" in protocol else PinKind.LOCAL
    return Entry(name=name, version=version, line=line, snippet=header, kind=kind, source=protocol)
