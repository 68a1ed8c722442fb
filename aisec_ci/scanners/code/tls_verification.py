"""HTTP clients with TLS certificate verification turned off."""

from __future__ import annotations

from collections.abc import Iterator

from aisec_ci.rules import Rule
from aisec_ci.scanners.code.calls import AttributeSite, CallSite, Hit
from aisec_ci.severity import Severity

TLS_VERIFY_DISABLED = Rule(
    id="code/tls-verify-disabled",
    name="TLS certificate verification disabled",
    short_description="`verify=False` accepts any certificate, so the connection can be intercepted.",
    severity=Severity.MEDIUM,
    what="Reports `verify=False` in requests (`requests.get`, `Session`, `session.post`, ...), httpx "
    "(`httpx.get`, `Client`, `AsyncClient`) and boto3 clients, `session.verify = False`, and "
    "`ssl._create_unverified_context()`.",
    why="Without certificate checks anyone on the network path (a proxy, public Wi-Fi, a compromised "
    "cluster node) can read and change the traffic: API keys and tokens sent to model providers, model "
    "files and datasets downloaded over it.",
    example="resp = requests.post(url, json=payload, headers=auth, verify=False)",
    example_language="python",
    fix="Remove `verify=False`. For a private CA, pass its bundle: `verify='/etc/ssl/certs/corp-ca.pem'` "
    "(or set `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE`).",
    tags=("CWE-295",),
    precision="high",
)

RULES = (TLS_VERIFY_DISABLED,)

_HTTP_ROOTS = ("requests", "httpx", "boto3", "botocore", "aiohttp", "urllib3")
_HTTP_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "send", "Session", "Client"}
)


def check_call(site: CallSite) -> Iterator[Hit]:
    if site.name in ("ssl._create_unverified_context", "ssl._create_stdlib_context"):
        yield Hit(TLS_VERIFY_DISABLED, f"`{site.name}` builds a context that accepts any certificate")
        return
    verify = site.keyword("verify")
    if not site.is_false(verify):
        return
    if site.has_root(*_HTTP_ROOTS) or (not site.resolved and site.last in _HTTP_METHODS):
        yield Hit(
            TLS_VERIFY_DISABLED,
            f"`{site.name or 'request'}(..., verify=False)` accepts any TLS certificate; traffic and credentials "
            "can be intercepted",
            properties={"client": site.root},
        )


def check_attribute(site: AttributeSite) -> Iterator[Hit]:
    if site.attr == "verify" and site.is_false(site.value):
        base = site.owner.split("(", 1)[0]
        if base.startswith(_HTTP_ROOTS) or "session" in site.owner.lower():
            yield Hit(
                TLS_VERIFY_DISABLED,
                "`.verify = False` on an HTTP session turns off certificate checks for every request it sends",
            )
