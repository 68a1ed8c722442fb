"""One unsafe load written on both branches of an `if`/`else` is one problem, not two.

`torch.load(p, map_location="cuda")` if a GPU is present, `torch.load(p, map_location="cpu")`
otherwise: whichever branch runs, the same file is unpickled once. Reporting both doubles the
work of whoever triages the scan without telling them anything new.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from aisec_ci.findings import Finding

# Keywords that only say where or how the loaded data lands, not what is loaded.
_PLACEMENT_KEYWORDS = frozenset({"map_location", "mmap", "encoding", "mode"})


def merge_branch_twins(origins: list[tuple[Finding, ast.Call]], tree: ast.AST) -> dict[int, Finding | None]:
    """For findings whose calls load the same thing on the two sides of one `if`, keep the first
    (its fingerprint unchanged) with the other's line noted on it, and drop the other.

    Returns id(original finding) -> its replacement, or None to drop it; absent ids stay as they are."""
    groups: dict[tuple[str, str, str], list[tuple[Finding, ast.Call]]] = {}
    for finding, call in origins:
        key = (finding.rule_id, str(finding.properties.get("call", "")), _what(call))
        groups.setdefault(key, []).append((finding, call))
    if all(len(members) < 2 for members in groups.values()):
        return {}
    branch_of = _branches(tree)
    changes: dict[int, Finding | None] = {}
    for members in groups.values():
        for i, (first, first_call) in enumerate(members):
            if id(first) in changes:
                continue
            twins = [
                other
                for other, other_call in members[i + 1 :]
                if id(other) not in changes and _opposite(branch_of, first_call, other_call)
            ]
            if not twins:
                continue
            lines = [t.start_line for t in twins]
            for twin in twins:
                changes[id(twin)] = None
            changes[id(first)] = replace(
                first,
                message=f"{first.message} (the same load is on the other branch of the `if`, line "
                + ", ".join(str(n) for n in lines)
                + ")",
                properties={**first.properties, "also_at_lines": lines},
            )
    return changes


def _what(call: ast.Call) -> str:
    """The call's arguments without the placement keywords: what is being loaded."""
    args = [ast.dump(a) for a in call.args]
    keywords = sorted(ast.dump(k) for k in call.keywords if k.arg is None or k.arg not in _PLACEMENT_KEYWORDS)
    return "|".join([*args, "kw", *keywords])


def _branches(tree: ast.AST) -> dict[int, list[tuple[int, bool]]]:
    """Call node id -> the `if` statements it sits in, with True for the body and False for `else`."""
    out: dict[int, list[tuple[int, bool]]] = {}
    stack: list[tuple[ast.AST, tuple[tuple[int, bool], ...]]] = [(tree, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, ast.Call):
            out[id(node)] = list(path)
        if isinstance(node, ast.If):
            stack.append((node.test, path))
            stack.extend((child, (*path, (id(node), True))) for child in node.body)
            stack.extend((child, (*path, (id(node), False))) for child in node.orelse)
            continue
        stack.extend((child, path) for child in ast.iter_child_nodes(node))
    return out


def _opposite(branch_of: dict[int, list[tuple[int, bool]]], a: ast.Call, b: ast.Call) -> bool:
    """Whether one `if` has `a` in its body and `b` in its `else` (an `elif` chain counts)."""
    a_path = dict(branch_of.get(id(a), []))
    return any(a_path.get(node) is True and side is False for node, side in branch_of.get(id(b), []))
