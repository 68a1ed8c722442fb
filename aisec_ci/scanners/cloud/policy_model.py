"""An AWS policy document read into statements that keep their lines.

Values come from `aisec_ci.yamlfile.values` (JSON, CloudFormation YAML/JSON, or Terraform
converted to the same shape), so CloudFormation intrinsics appear as
single-key mappings (`{"Fn::Sub": ...}`, `{"Ref": ...}`): they are "unknown",
never taken as `*`."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from aisec_ci.yamlfile.values import YList, YMap


def is_intrinsic(value: Any) -> bool:
    """A CloudFormation function or reference whose value is only known at deploy time."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


@dataclass
class Statement:
    doc: YMap
    index: int
    line: int
    effect: str
    actions: list[str] = field(default_factory=list)
    """Action strings (intrinsics dropped); empty when NotAction is used."""
    not_actions: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    not_resources: list[str] = field(default_factory=list)
    principal: Any = None
    not_principal: Any = None
    condition: YMap | None = None
    has_action: bool = False
    has_not_action: bool = False
    has_resource: bool = False
    has_not_resource: bool = False
    has_principal: bool = False
    has_not_principal: bool = False

    @property
    def sid(self) -> str:
        sid = self.doc.get("Sid")
        return sid if isinstance(sid, str) else ""

    @property
    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else f"statement {self.index}"

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    def line_of(self, key: str) -> int:
        return self.doc.line_of(key) if key in self.doc else self.line

    @property
    def resource_star(self) -> bool:
        """Resource is `*` (or `arn:*`-style effectively everything); NotResource counts too."""
        if self.has_not_resource:
            return True
        return any(r == "*" or r in ("arn:aws:*:*:*:*", "arn:*") for r in self.resources)

    def condition_keys(self) -> set[str]:
        keys: set[str] = set()
        if isinstance(self.condition, dict):
            for block in self.condition.values():
                if isinstance(block, dict):
                    keys.update(str(k).lower() for k in block)
        return keys

    def condition_values(self, key: str) -> list[str]:
        """Every value given for condition `key` (case-insensitive), any operator."""
        out: list[str] = []
        if isinstance(self.condition, dict):
            for block in self.condition.values():
                if isinstance(block, dict):
                    for k, v in block.items():
                        if str(k).lower() == key.lower():
                            out.extend(str(x) for x in (v if isinstance(v, list) else [v]))
        return out

    def matches_action(self, action: str) -> bool:
        """Whether this statement's Action patterns grant `action` (service:Name)."""
        target = action.lower()
        if self.has_not_action:
            return not any(fnmatch.fnmatchcase(target, p.lower()) for p in self.not_actions)
        return any(fnmatch.fnmatchcase(target, p.lower()) for p in self.actions)


def _sub_template(value: Any) -> str | None:
    """The template of `!Sub "arn:...${X}"`: its literal parts are known before deploy."""
    if isinstance(value, dict) and is_intrinsic(value) and "Fn::Sub" in value:
        tpl = value["Fn::Sub"]
        if isinstance(tpl, list) and tpl:
            tpl = tpl[0]
        return tpl if isinstance(tpl, str) else None
    return None


def strings(value: Any) -> list[str]:
    """String items of a string-or-list field (`!Sub` templates kept, other intrinsics and wrong types dropped)."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for v in items:
        if isinstance(v, str):
            out.append(v)
        else:
            tpl = _sub_template(v)
            if tpl is not None:
                out.append(tpl)
    return out


def principal_values(principal: Any) -> list[tuple[str, str]]:
    """(type, value) pairs: `"*"` is ("*", "*"); {"AWS": [..]} gives ("AWS", ..)."""
    if isinstance(principal, str):
        return [("*" if principal == "*" else "AWS", principal)]
    out: list[tuple[str, str]] = []
    if isinstance(principal, dict) and not is_intrinsic(principal):
        for ptype, vals in principal.items():
            for v in strings(vals):
                out.append((str(ptype), v))
    return out


def statements(policy: Any) -> list[Statement]:
    """The statements of a policy document value; malformed parts are skipped
    here and reported by the grammar rule."""
    if not isinstance(policy, dict):
        return []
    raw = policy.get("Statement")
    items: list[tuple[int, Any, int]] = []
    if isinstance(raw, YList):
        items = [(i, s, raw.line_of(i)) for i, s in enumerate(raw)]
    elif isinstance(raw, YMap):
        items = [(0, raw, raw.line)]
    out: list[Statement] = []
    for index, st, line in items:
        if not isinstance(st, YMap):
            continue
        effect = st.get("Effect")
        s = Statement(
            doc=st,
            index=index,
            line=line,
            effect=effect if isinstance(effect, str) else "",
            actions=strings(st.get("Action")),
            not_actions=strings(st.get("NotAction")),
            resources=strings(st.get("Resource")),
            not_resources=strings(st.get("NotResource")),
            principal=st.get("Principal"),
            not_principal=st.get("NotPrincipal"),
            condition=st.get("Condition") if isinstance(st.get("Condition"), YMap) else None,
            has_action="Action" in st,
            has_not_action="NotAction" in st,
            has_resource="Resource" in st,
            has_not_resource="NotResource" in st,
            has_principal="Principal" in st,
            has_not_principal="NotPrincipal" in st,
        )
        out.append(s)
    return out


def looks_like_policy(value: Any) -> bool:
    return isinstance(value, dict) and "Statement" in value
