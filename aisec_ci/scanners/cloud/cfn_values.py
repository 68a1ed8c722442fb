"""CloudFormation values that are only partly known before deploy: `!Ref`, `!GetAtt`,
`!Sub` and `!Join` read as text with `${Name}` placeholders, and the logical ids they name,
so one resource can be tied to another of the same template."""

from __future__ import annotations

import re
from typing import Any

from aisec_ci.yamlfile.values import YList, YMap

_PLACEHOLDER_RE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")
MAX_DEPTH = 20


def text_of(value: Any, depth: int = 0) -> str:
    """`value` as text; references become `${Name}` / `${Name.Attr}`, other functions `${?}`."""
    if depth > MAX_DEPTH:
        return "${?}"
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref" and isinstance(arg, str):
            return "${" + arg + "}"
        if fn == "Fn::GetAtt":
            if isinstance(arg, list) and arg:
                return "${" + ".".join(str(a) for a in arg) + "}"
            if isinstance(arg, str):
                return "${" + arg + "}"
        if fn == "Fn::Sub":
            if isinstance(arg, str):
                return arg
            if isinstance(arg, list) and arg and isinstance(arg[0], str):
                template = arg[0]
                variables = arg[1] if len(arg) > 1 and isinstance(arg[1], dict) else {}
                # `!Sub [template, {var: value}]`: the variables stand for their values.
                return re.sub(
                    r"\$\{([A-Za-z0-9_]+)\}",
                    lambda m: text_of(variables[m.group(1)], depth + 1) if m.group(1) in variables else m.group(0),
                    template,
                )
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            sep = arg[0] if isinstance(arg[0], str) else ""
            return sep.join(text_of(v, depth + 1) for v in arg[1])
    return "${?}"


def refs_in(value: Any) -> set[str]:
    """Logical ids a value refers to (pseudo parameters such as `AWS::Region` left out)."""
    return {m.group(1) for m in _PLACEHOLDER_RE.finditer(text_of(value))}


def ref_id(value: Any) -> str | None:
    """The logical id of `!Ref X`, `!GetAtt X.Attr`, or a `!Sub "${X}"` that is only that reference."""
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref" and isinstance(arg, str):
            return arg
        if fn == "Fn::GetAtt":
            if isinstance(arg, list) and arg:
                return str(arg[0])
            if isinstance(arg, str):
                return arg.split(".", 1)[0]
        if fn == "Fn::Sub" and isinstance(arg, str):
            m = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}", arg)
            return m.group(1) if m else None
    return None


def ref_name(value: Any) -> str | None:
    """The raw target of `!Ref X` (SAM's `MyApi.Stage` included)."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    return None


def literal(value: Any) -> str | None:
    """A plain string (or number) value; None for anything computed at deploy time."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def flag(value: Any) -> bool | None:
    """A boolean property: true/false in any spelling CloudFormation accepts; None when computed."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def mapping(value: Any) -> YMap | None:
    return value if isinstance(value, YMap) else None


def items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (YList, list)) else []
