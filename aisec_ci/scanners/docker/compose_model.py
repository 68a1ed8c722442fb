"""The services of a Compose file and a helper to report findings on them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from aisec_ci.findings import Finding
from aisec_ci.rules import Rule
from aisec_ci.scanners.docker.compose_yaml import MAX_NODE_VISITS, NodeBudget, line_of, load_documents, scalar
from aisec_ci.scanners.docker.redaction import redact_text
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SourceFile

SNIPPET_MAX = 200
_SERVICE_HINT_KEYS = frozenset({"image", "build", "command", "ports", "volumes", "environment"})


@dataclass
class Service:
    name: str
    key_node: yaml.Node
    node: yaml.Node

    @property
    def line(self) -> int:
        return line_of(self.key_node)


@dataclass
class ComposeContext:
    file: SourceFile
    budget: NodeBudget
    options: Mapping[str, Any]
    services: list[Service] = field(default_factory=list)
    _snippets: dict[int, str] = field(default_factory=dict, repr=False)

    def value(self, service: Service, key: str) -> tuple[yaml.Node, yaml.Node] | None:
        return self.budget.get(service.node, key)

    def text(self, service: Service, key: str) -> str | None:
        got = self.value(service, key)
        return scalar(got[1]) if got else None

    def command_text(self, service: Service, key: str = "command") -> str:
        """`command`/`entrypoint` as one string (list form joined with spaces)."""
        got = self.value(service, key)
        if got is None:
            return ""
        node = got[1]
        if isinstance(node, yaml.SequenceNode):
            return " ".join(scalar(n) or "" for n in self.budget.sequence(node))
        return scalar(node) or ""

    def snippet(self, line: int) -> str:
        cached = self._snippets.get(line)
        if cached is None:
            cached = self._snippets[line] = self._make_snippet(line)
        return cached

    def _make_snippet(self, line: int) -> str:
        # Redact a window a little wider than what is shown, so a cut never splits a
        # credential the patterns would have recognised, and a huge line costs nothing.
        text = redact_text(self.file.line(line).strip()[: SNIPPET_MAX * 3])
        return text if len(text) <= SNIPPET_MAX else text[: SNIPPET_MAX - 3] + "..."

    def finding(
        self,
        rule: Rule,
        node: yaml.Node,
        message: str,
        *,
        key: str,
        snippet: str | None = None,
        severity: Severity | None = None,
        properties: dict[str, Any] | None = None,
    ) -> Finding:
        line = line_of(node)
        return Finding(
            rule_id=rule.id,
            severity=severity if severity is not None else rule.severity,
            message=message,
            path=self.file.path,
            start_line=line,
            start_column=int(node.start_mark.column) + 1,
            snippet=self.snippet(line) if snippet is None else snippet,
            key=key,
            properties=properties or {},
        )


def load_compose(file: SourceFile, options: Mapping[str, Any]) -> ComposeContext:
    # A walk costs about one node visit per two bytes of a real file; alias and merge
    # bombs are small files that would cost far more.
    budget = NodeBudget(file.path, max(MAX_NODE_VISITS, len(file.text)))
    ctx = ComposeContext(file, budget, options)
    for doc in load_documents(file.text):
        if not isinstance(doc, yaml.MappingNode):
            continue
        got = budget.get(doc, "services")
        if got is not None:
            for name, knode, vnode in budget.items(got[1]):
                if isinstance(vnode, yaml.MappingNode):
                    ctx.services.append(Service(name, knode, vnode))
            continue
        # Compose file format 1: services at the top level.
        for name, knode, vnode in budget.items(doc):
            if isinstance(vnode, yaml.MappingNode) and any(k in _SERVICE_HINT_KEYS for k, _, _ in budget.items(vnode)):
                ctx.services.append(Service(name, knode, vnode))
    return ctx
