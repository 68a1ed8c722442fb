"""setup.cfg `[options] install_requires` and `[options.extras_require]` (setup.py is never run)."""

from __future__ import annotations

import re

from aisec_ci.scanners.deps.model import Parsed, Problem
from aisec_ci.scanners.deps.sources.requirements import parse_requirement_text

_SECTION_RE = re.compile(r"^\[([^\]]+)\]\s*$")
_KEY_RE = re.compile(r"^([A-Za-z0-9_.-]+)\s*[=:]\s*(.*)$")


def parse(path: str, text: str) -> Parsed:
    out = Parsed()
    section = ""
    key = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith(("#", ";")):
            continue
        m = _SECTION_RE.match(raw.strip()) if not raw[0].isspace() else None
        if m:
            section, key = m.group(1).strip(), ""
            continue
        if not raw[0].isspace():
            km = _KEY_RE.match(raw)
            key = km.group(1) if km else ""
            value = km.group(2) if km else ""
        else:
            value = raw
        group = _group(section, key)
        if group is None:
            continue
        req = value.split(" #", 1)[0].strip()
        if not req or req.startswith("#"):
            continue
        dep = parse_requirement_text(req, path, number, raw.strip(), origin="setup.cfg", group=group)
        if isinstance(dep, Problem):
            out.problems.append(dep)
        else:
            out.dependencies.append(dep)
    return out


def _group(section: str, key: str) -> str | None:
    if section == "options" and key == "install_requires":
        return ""
    if section == "options.extras_require" and key:
        return key
    return None
