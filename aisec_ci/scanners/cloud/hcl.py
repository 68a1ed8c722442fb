"""A tolerant reader for the part of HCL (Terraform) that policies are written
in: blocks, attributes, literals, tuples, objects, `jsonencode(...)`,
heredocs and references. Anything else (operators, `for` expressions, other
function calls) becomes an opaque `<expr>` string rather than an error, so an
unusual file is still read as far as it can be, in one linear pass."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aisec_ci.yamlfile.values import YList, YMap

OPAQUE = "<expr>"
MAX_DEPTH = 100


@dataclass
class Block:
    type: str
    labels: list[str]
    line: int
    attrs: YMap
    blocks: list[Block] = field(default_factory=list)

    def blocks_of(self, type_: str) -> list[Block]:
        return [b for b in self.blocks if b.type == type_]


@dataclass(frozen=True)
class Heredoc:
    """Heredoc text and the line its first content line is on (for JSON inside it)."""

    text: str
    line: int


_TOKEN_RE = re.compile(
    r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\r]+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<heredoc><<-?(?P<hid>[A-Za-z_][A-Za-z0-9_]*)[ \t]*\n)
  | (?P<string>"(?:\\.|\$\{(?:[^{}"]|"(?:\\.|[^"\\])*"|\{[^{}]*\})*\}|[^"\\\n])*")
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_\-]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|[{}\[\]()=:,.?*!<>+\-/%])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str
    line: int
    value: Any = None


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    line = 1
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:  # pragma: no cover - `other` matches any character
            break
        kind = m.lastgroup or "other"
        if kind == "hid":
            kind = "heredoc"
        raw = m.group(0)
        if kind == "heredoc":
            ident = m.group("hid")
            end = re.compile(r"^[ \t]*" + re.escape(ident) + r"[ \t]*$", re.M)
            body_start = m.end()
            em = end.search(text, body_start)
            body_end = em.start() if em else n
            body = text[body_start:body_end]
            toks.append(Tok("heredoc", raw, line, Heredoc(body, line + 1)))
            consumed_to = em.end() if em else n
            line += text.count("\n", pos, consumed_to)
            pos = consumed_to
            continue
        if kind not in ("ws", "comment"):
            value: Any = None
            if kind == "string":
                value = _unquote(raw[1:-1])
            toks.append(Tok(kind, raw, line, value))
        line += raw.count("\n")
        pos = m.end()
    toks.append(Tok("eof", "", line))
    return toks


def _unquote(s: str) -> str:
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


_CLOSERS = {"(": ")", "[": "]", "{": "}"}


class Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0

    # -- helpers ---------------------------------------------------------
    def peek(self, ahead: int = 0) -> Tok:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def next(self) -> Tok:
        tok = self.peek()
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def skip_newlines(self) -> None:
        while self.peek().kind == "nl":
            self.i += 1

    def skip_balanced(self, opener: str) -> None:
        """After consuming `opener`, skip to its matching closer."""
        depth = 1
        while depth and self.peek().kind != "eof":
            tok = self.next()
            if tok.text in _CLOSERS:
                depth += 1
            elif tok.text in _CLOSERS.values():
                depth -= 1

    def skip_rest_of_expression(self) -> None:
        while True:
            tok = self.peek()
            if tok.kind in ("nl", "eof") or tok.text in (",", ")", "]", "}"):
                return
            self.next()
            if tok.text in _CLOSERS:
                self.skip_balanced(tok.text)

    # -- grammar ---------------------------------------------------------
    def body(self, closer: str | None, depth: int = 0) -> tuple[YMap, list[Block]]:
        attrs = YMap()
        blocks: list[Block] = []
        while True:
            self.skip_newlines()
            tok = self.peek()
            if tok.kind == "eof" or (closer is not None and tok.text == closer):
                if tok.kind != "eof":
                    self.next()
                return attrs, blocks
            if tok.kind != "ident":
                self.next()
                if tok.text in _CLOSERS:
                    self.skip_balanced(tok.text)
                continue
            self.next()
            if self.peek().text == "=" or self.peek().text == ":":
                self.next()
                value = self.expr(depth + 1)
                attrs[tok.text] = value
                attrs.key_lines[tok.text] = tok.line
                attrs.key_columns[tok.text] = 1
                continue
            labels: list[str] = []
            while self.peek().kind in ("string", "ident"):
                lab = self.next()
                labels.append(lab.value if lab.kind == "string" else lab.text)
            if self.peek().text == "{":
                self.next()
                if depth > MAX_DEPTH:
                    self.skip_balanced("{")
                    continue
                b_attrs, b_blocks = self.body("}", depth + 1)
                b_attrs.line = tok.line
                blocks.append(Block(tok.text, labels, tok.line, b_attrs, b_blocks))
            else:
                self.skip_rest_of_expression()

    def expr(self, depth: int) -> Any:
        value = self.primary(depth)
        tok = self.peek()
        if tok.kind in ("nl", "eof") or tok.text in (",", ")", "]", "}"):
            return value
        self.skip_rest_of_expression()  # operators, conditionals: value unknown
        return OPAQUE

    def primary(self, depth: int) -> Any:
        self.skip_newlines()
        tok = self.next()
        if depth > MAX_DEPTH:
            if tok.text in _CLOSERS:
                self.skip_balanced(tok.text)
            return OPAQUE
        if tok.kind == "string":
            return tok.value
        if tok.kind == "heredoc":
            return tok.value
        if tok.kind == "number":
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.text == "-" and self.peek().kind == "number":
            num = self.next().text
            return -(float(num) if "." in num else int(num))
        if tok.text == "[":
            return self.tuple_(tok.line, depth)
        if tok.text == "{":
            return self.object_(tok.line, depth)
        if tok.text == "(":
            value = self.expr(depth + 1)
            self.skip_newlines()
            if self.peek().text == ")":
                self.next()
            return value
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                return tok.text == "true"
            if tok.text == "null":
                return None
            if self.peek().text == "(":
                self.next()
                args = []
                while True:
                    self.skip_newlines()
                    if self.peek().text == ")" or self.peek().kind == "eof":
                        self.next()
                        break
                    args.append(self.expr(depth + 1))
                    self.skip_newlines()
                    if self.peek().text == ",":
                        self.next()
                if tok.text == "jsonencode" and len(args) == 1:
                    return args[0]
                return OPAQUE
            return "${" + self.traversal(tok.text) + "}"
        if tok.text in _CLOSERS:
            self.skip_balanced(tok.text)
        return OPAQUE

    def traversal(self, head: str) -> str:
        parts = [head]
        while True:
            tok = self.peek()
            if (tok.text == "." and self.peek(1).kind in ("ident", "number")) or (
                tok.text == "." and self.peek(1).text == "*"
            ):
                self.next()
                parts.append("." + self.next().text)
            elif tok.text == "[":
                self.next()
                inner = self.peek()
                self.skip_balanced("[")
                parts.append(f"[{inner.text}]")
            else:
                return "".join(parts)

    def tuple_(self, line: int, depth: int) -> Any:
        out = YList(line, 1)
        self.skip_newlines()
        if self.peek().text == "for":
            self.skip_balanced("[")
            return OPAQUE
        while True:
            self.skip_newlines()
            tok = self.peek()
            if tok.text == "]" or tok.kind == "eof":
                self.next()
                return out
            out.append(self.expr(depth + 1))
            out.item_lines.append(tok.line)
            self.skip_newlines()
            if self.peek().text == ",":
                self.next()

    def object_(self, line: int, depth: int) -> Any:
        out = YMap(line, 1)
        self.skip_newlines()
        if self.peek().text == "for":
            self.skip_balanced("{")
            return OPAQUE
        while True:
            self.skip_newlines()
            tok = self.peek()
            if tok.text == "}" or tok.kind == "eof":
                self.next()
                return out
            key_tok = self.next()
            if key_tok.kind == "string":
                key = str(key_tok.value)
            elif key_tok.kind == "ident":
                key = self.traversal(key_tok.text)
            elif key_tok.text == "(":
                key = str(self.expr(depth + 1))
                if self.peek().text == ")":
                    self.next()
            else:
                if key_tok.text in _CLOSERS:
                    self.skip_balanced(key_tok.text)
                continue
            if self.peek().text not in ("=", ":"):
                self.skip_rest_of_expression()
                continue
            self.next()
            if key in out:
                out.duplicates.append((key, key_tok.line))
            out[key] = self.expr(depth + 1)
            out.key_lines[key] = key_tok.line
            out.key_columns[key] = 1
            self.skip_newlines()
            if self.peek().text == ",":
                self.next()


def parse(text: str) -> Block:
    """The whole file as a root block."""
    attrs, blocks = Parser(text).body(None)
    return Block("", [], 1, attrs, blocks)
