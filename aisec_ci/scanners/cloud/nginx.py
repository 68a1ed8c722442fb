"""nginx configuration in front of ML services (E5) and committed htpasswd
files. The parser is small on purpose: directives end with `;`, blocks are
`{ ... }`, `#` starts a comment outside quotes. It never fails: unbalanced
braces are closed at end of file, so a broken conf is still checked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from aisec_ci.rules import Rule
from aisec_ci.scanners.common.context import Context
from aisec_ci.severity import Severity

PROXY_NO_AUTH = Rule(
    id="exposure/nginx-proxy-without-auth",
    name="nginx proxies an ML UI without authentication",
    short_description="`proxy_pass` to MLflow, Ray, Jupyter, TensorBoard or a model server with no "
    "auth_basic/auth_request.",
    severity=Severity.HIGH,
    what="Reports nginx locations that proxy to an ML service (recognised by upstream name, port or location "
    "path: mlflow/5000, ray/8265, jupyter/8888, tensorboard/6006, torchserve/8080-8082, triton/8000) when "
    "neither the location nor an enclosing block sets `auth_basic`, `auth_request`, `auth_jwt` or an "
    "`allow`/`deny all` access list (E5).",
    why="These services have no login of their own; the proxy is the only gate. Without authentication the "
    "proxy publishes experiment data, model registries and, for Ray and Jupyter, code execution.",
    example="location / {\n    proxy_pass http://mlflow:5000;\n}",
    example_language="nginx",
    fix='Add `auth_basic "MLflow"; auth_basic_user_file /etc/nginx/htpasswd;` (with the file provisioned '
    "outside git) or `auth_request` to an SSO endpoint such as oauth2-proxy.",
    tags=("CWE-306",),
    precision="medium",
)

AUTOINDEX = Rule(
    id="exposure/nginx-autoindex",
    name="nginx directory listing enabled",
    short_description="`autoindex on` lists directory contents.",
    severity=Severity.MEDIUM,
    what="Reports `autoindex on` (E5).",
    why="A listing of a model or artifact directory lets anyone enumerate and download every checkpoint, "
    "dataset and config file, including ones never meant to be linked.",
    example="location /models/ {\n    autoindex on;\n}",
    example_language="nginx",
    fix="Remove `autoindex on` and serve only named files, behind authentication.",
    tags=("CWE-548",),
    precision="very-high",
)

NO_TLS = Rule(
    id="exposure/nginx-no-tls-redirect",
    name="nginx serves plain HTTP without redirecting to HTTPS",
    short_description="A server listens on port 80 (no ssl) and serves content instead of redirecting.",
    severity=Severity.MEDIUM,
    what="Reports nginx `server` blocks that listen without `ssl` (port 80 or the default) and proxy or "
    "serve content instead of returning a redirect to https (E5).",
    why="Credentials sent to auth_basic, API keys and model outputs travel in clear text and can be read or "
    "altered on the path.",
    example="server {\n    listen 80;\n    location / { proxy_pass http://model:8080; }\n}",
    example_language="nginx",
    fix="Listen with `ssl` on 443 and make the port-80 server `return 301 https://$host$request_uri;`.",
    tags=("CWE-319",),
    precision="high",
)

SERVER_TOKENS = Rule(
    id="exposure/nginx-server-tokens",
    profile="strict",
    name="nginx advertises its version",
    short_description="`server_tokens on` adds the nginx version to responses and error pages.",
    severity=Severity.LOW,
    what="Reports an explicit `server_tokens on` (E5).",
    why="The exact version tells an attacker which nginx CVEs apply without probing.",
    example="server_tokens on;",
    example_language="nginx",
    fix="Set `server_tokens off;` in the http block.",
    tags=("CWE-200",),
    precision="very-high",
)

HTPASSWD = Rule(
    id="exposure/htpasswd-committed",
    name="htpasswd file committed",
    short_description="A `.htpasswd` file with password hashes is in the repository.",
    severity=Severity.HIGH,
    what="Reports htpasswd files (`user:hash` lines) in the repository (E5). Hashes are never printed.",
    why="The hashes are crackable offline, the weak formats ({SHA}, crypt, apr1/MD5) in minutes on a GPU, "
    "and the same passwords often guard the MLflow or model UI the file protects.",
    example="admin:$apr1$Qm0h0Zr5$4bDq3nZ0zJr6u1JmFNx9j/",
    example_language="text",
    fix="Remove the file from the repository (and history), rotate the passwords, and mount the file from a "
    "Secret at deploy time.",
    tags=("CWE-798", "CWE-312"),
    precision="high",
)

UNLIMITED_BODY = Rule(
    id="exposure/nginx-unlimited-body-size",
    profile="strict",
    name="nginx accepts request bodies of any size",
    short_description="`client_max_body_size 0` disables the request body limit.",
    severity=Severity.LOW,
    what="Reports `client_max_body_size 0` (E5). The default (1m) is safe; raise it to a bound, not to 0.",
    why="Model servers and MLflow artifact uploads behind the proxy then accept unbounded uploads, which "
    "fills disks and memory: a cheap denial of service against the serving stack.",
    example="client_max_body_size 0;",
    example_language="nginx",
    fix="Set the largest size the service needs, e.g. `client_max_body_size 512m;`.",
    tags=("CWE-770", "CWE-400"),
    precision="very-high",
)

RULES: tuple[Rule, ...] = (PROXY_NO_AUTH, AUTOINDEX, NO_TLS, SERVER_TOKENS, HTPASSWD, UNLIMITED_BODY)

_ML_UPSTREAM_RE = re.compile(
    r"(?i)mlflow|ray|jupyter|notebook|tensorboard|torchserve|triton|tfserving|tf-serving|kserve|vllm|tgi|"
    r"text-generation|ollama|gradio|streamlit|:(?:5000|8265|8888|6006|8081|8082|8000|8001|7860|8501|11434)\b"
)
_AUTH_DIRECTIVES = frozenset({"auth_basic", "auth_request", "auth_jwt", "auth_oidc"})
_PASS_DIRECTIVES = frozenset({"proxy_pass", "uwsgi_pass", "grpc_pass", "fastcgi_pass", "scgi_pass"})
_HTPASSWD_LINE_RE = re.compile(r"^[^:\s#]+:(?:\$apr1\$|\$2[aby]\$|\$[156]\$|\{SHA\}|\{SSHA\}|[./0-9A-Za-z]{13}$)")


@dataclass
class Directive:
    name: str
    args: list[str]
    line: int
    children: list[Directive] | None = None
    parent: Directive | None = field(default=None, repr=False)

    def find(self, name: str) -> list[Directive]:
        return [c for c in self.children or () if c.name == name]


_TOKEN_RE = re.compile(r"""\s+|#[^\n]*|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[{};]|[^\s{};"'#]+""")


def parse(text: str) -> Directive:
    """The conf as a tree under a synthetic `main` block."""
    root = Directive("main", [], 1, [])
    stack = [root]
    words: list[str] = []
    start_line = 1
    line = 1
    for m in _TOKEN_RE.finditer(text):
        tok = m.group(0)
        newlines = tok.count("\n")
        if tok[0].isspace() or tok[0] == "#":
            line += newlines
            continue
        if tok in ("{", ";"):
            if words:
                node = Directive(words[0], words[1:], start_line, [] if tok == "{" else None, stack[-1])
                assert stack[-1].children is not None
                stack[-1].children.append(node)
                if tok == "{":
                    stack.append(node)
            elif tok == "{":
                node = Directive("", [], line, [], stack[-1])
                stack.append(node)
            words = []
        elif tok == "}":
            words = []
            if len(stack) > 1:
                stack.pop()
        else:
            if not words:
                start_line = line
            if tok[0] in "\"'" and len(tok) >= 2:
                tok = tok[1:-1]
            words.append(tok)
        line += newlines
    return root


def walk(node: Directive) -> Iterator[Directive]:
    for child in node.children or ():
        yield child
        if child.children is not None:
            yield from walk(child)


def _has_auth(node: Directive | None) -> bool | None:
    """True/False when this block (or the nearest enclosing one that decides) sets auth; None if none does."""
    while node is not None:
        for child in node.children or ():
            if child.name in _AUTH_DIRECTIVES:
                # `auth_basic off;` / `auth_request off;` switch inherited auth off for this block.
                return not (child.name in ("auth_basic", "auth_request") and child.args[:1] == ["off"])
            if child.name == "deny" and child.args == ["all"]:
                return True
        node = node.parent
    return None


def _upstreams(root: Directive) -> dict[str, str]:
    """upstream name -> its servers, to recognise `proxy_pass http://backend`."""
    out: dict[str, str] = {}
    for d in walk(root):
        if d.name == "upstream" and d.args:
            out[d.args[0]] = " ".join(" ".join(s.args) for s in d.find("server"))
    return out


def check(text: str, ctx: Context) -> None:
    root = parse(text)
    upstreams = _upstreams(root)
    for d in walk(root):
        if d.name == "autoindex" and d.args and d.args[0] == "on":
            ctx.report(AUTOINDEX, d.line, "autoindex on lists directory contents", key=f"autoindex@{_where(d)}")
        elif d.name == "client_max_body_size" and d.args[:1] == ["0"]:
            ctx.report(
                UNLIMITED_BODY,
                d.line,
                "client_max_body_size 0 accepts request bodies of any size",
                key=f"body-size@{_where(d)}",
            )
        elif d.name == "server_tokens" and d.args and d.args[0] == "on":
            ctx.report(SERVER_TOKENS, d.line, "server_tokens on advertises the nginx version", key="server_tokens")
        elif d.name in _PASS_DIRECTIVES and d.args:
            _check_proxy(d, ctx, upstreams)
        elif d.name == "server" and d.children is not None and (d.parent is None or d.parent.name in ("http", "main")):
            _check_tls(d, ctx)


def _where(d: Directive) -> str:
    parts = []
    node: Directive | None = d.parent
    while node is not None and node.name != "main":
        parts.append(" ".join([node.name, *node.args]).strip())
        node = node.parent
    return " < ".join(parts) or "main"


def _check_proxy(d: Directive, ctx: Context, upstreams: dict[str, str]) -> None:
    target = d.args[0]
    host = re.sub(r"^[a-z]+://", "", target).split("/", 1)[0]
    location = d.parent
    loc_path = " ".join(location.args) if location is not None and location.name == "location" else ""
    described = " ".join((target, upstreams.get(host.split(":", 1)[0], ""), loc_path))
    if not _ML_UPSTREAM_RE.search(described):
        return
    if location is not None and location.find("internal"):
        return
    if _has_auth(location):
        return
    ctx.report(
        PROXY_NO_AUTH,
        d.line,
        f"{d.name} {target} (location {loc_path or '/'}) reaches an ML service with no auth_basic/auth_request",
        key=f"proxy:{loc_path}:{target}",
    )


def _check_tls(server: Directive, ctx: Context) -> None:
    listens = server.find("listen")
    plain = [ln for ln in listens if "ssl" not in ln.args and not any("443" in a for a in ln.args)]
    if listens and not plain:
        return
    redirects = any(
        (
            c.name == "return"
            and any(a.startswith("https://") or a in ("301", "302", "307", "308") for a in c.args)
            and any("https" in a for a in c.args)
        )
        or (c.name == "rewrite" and any(a.startswith("https://") for a in c.args))
        for c in walk(server)
        if c.parent is server or (c.parent is not None and c.parent.name == "location" and c.parent.args in (["/"],))
    )
    if redirects:
        return
    serves = any(c.name in _PASS_DIRECTIVES or c.name in ("root", "alias") for c in walk(server))
    if not serves:
        return
    line = plain[0].line if plain else server.line
    names = next((" ".join(c.args) for c in server.find("server_name")), "")
    ctx.report(
        NO_TLS,
        line,
        f"server {names or '(default)'} serves plain HTTP without redirecting to HTTPS",
        key=f"tls:{names}:{' '.join(plain[0].args) if plain else ''}",
    )


def check_htpasswd(lines: list[str], ctx: Context) -> None:
    users = [(i, ln.split(":", 1)[0]) for i, ln in enumerate(lines, start=1) if _HTPASSWD_LINE_RE.match(ln.strip())]
    if users:
        ctx.report(
            HTPASSWD,
            users[0][0],
            f"htpasswd file with {len(users)} password hash(es) (users: {', '.join(u for _, u in users[:5])})",
            key="htpasswd",
            snippet="<redacted>",
        )
