"""Model demos and APIs served publicly without auth, or with debuggers switched on."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from aisec_ci.rules import Rule
from aisec_ci.scanners.code.calls import AttributeSite, CallSite, Hit, constant
from aisec_ci.severity import Severity

GRADIO_PUBLIC = Rule(
    id="code/gradio-public-without-auth",
    name="Gradio app exposed without authentication",
    short_description="`launch(share=True)` or a public `server_name` without `auth=`.",
    severity=Severity.HIGH,
    what="Reports Gradio `launch()` calls without `auth=` that either set `share=True` (high: a public "
    "`*.gradio.live` URL) or bind all interfaces with `server_name='0.0.0.0'`/`'::'` (medium).",
    why="A share link is reachable by anyone on the internet who finds or guesses it, and a server bound to "
    "every interface is reachable from the whole network. The app runs the model with your GPU, your API "
    "keys and your files; Gradio's own file-serving routes have had path traversal bugs "
    "(CVE-2023-51449, CVE-2024-1561).",
    example='demo.launch(server_name="0.0.0.0", share=True)',
    example_language="python",
    fix="Drop `share=True`; bind to `127.0.0.1` behind a reverse proxy that authenticates, or pass "
    "`auth=` (a callable or credentials from the environment).",
    tags=("CWE-306", "CWE-668", "ai"),
    precision="high",
    references=("https://www.gradio.app/guides/sharing-your-app",),
)

FLASK_DEBUG = Rule(
    id="code/flask-debug",
    name="Flask debug mode",
    short_description="`app.run(debug=True)` serves the Werkzeug debugger, which runs code from the browser.",
    severity=Severity.HIGH,
    what="Reports `app.run(debug=True)` and `app.debug = True` on Flask applications outside test files.",
    why="The Werkzeug debugger gives anyone who can trigger an exception an interactive Python console in "
    "the server process; its PIN has been brute-forced and derived from leaked host facts. Debug mode "
    "also reloads code and shows source in tracebacks.",
    example='app.run(host="0.0.0.0", debug=True)',
    example_language="python",
    fix="Remove `debug=True`; use `flask --app app run --debug` locally only, and serve production with "
    "gunicorn or uWSGI.",
    tags=("CWE-489", "CWE-94"),
    precision="high",
    references=("https://flask.palletsprojects.com/en/stable/debugging/",),
)

ASGI_DEBUG = Rule(
    id="code/asgi-debug",
    name="FastAPI/Starlette debug or uvicorn reload in application code",
    short_description="Debug tracebacks or the auto-reloader in code that also runs in production.",
    severity=Severity.MEDIUM,
    what="Reports `FastAPI(debug=True)`/`Starlette(debug=True)` and `uvicorn.run(..., debug=True)` (medium) "
    "and `uvicorn.run(..., reload=True)` (low) outside test files.",
    why="Debug mode returns full tracebacks, with source lines, file paths and local values, to any client "
    "that triggers an error. The reloader watches the file system and restarts on change, meant for a "
    "developer's laptop; in a container it wastes resources and runs whatever lands in the watched tree.",
    example='uvicorn.run("app:api", host="0.0.0.0", reload=True)',
    example_language="python",
    fix="Enable debug and reload from the command line during development (`uvicorn app:api --reload`) "
    "and keep them out of the code that production runs.",
    tags=("CWE-489", "CWE-209"),
    precision="high",
)

RULES = (GRADIO_PUBLIC, FLASK_DEBUG, ASGI_DEBUG)

_PUBLIC_HOSTS = frozenset({"0.0.0.0", "::", "[::]", "*", ""})


def check_call(site: CallSite) -> Iterator[Hit]:
    last = site.last
    if last == "launch" and _is_gradio(site):
        yield from _gradio(site)
    elif last == "run" and _is_flask(site) and not site.in_test and site.is_true(site.keyword("debug")):
        yield Hit(
            FLASK_DEBUG,
            "`app.run(debug=True)` serves the Werkzeug debugger: an exception page becomes a "
            "Python console for whoever sees it",
        )
    elif site.in_test:
        return
    elif site.name in ("fastapi.FastAPI", "starlette.applications.Starlette", "starlette.Starlette"):
        if site.is_true(site.keyword("debug")):
            yield Hit(ASGI_DEBUG, f"`{last}(debug=True)` returns full tracebacks to clients")
    elif site.name == "uvicorn.run":
        if site.is_true(site.keyword("debug")):
            yield Hit(ASGI_DEBUG, "`uvicorn.run(..., debug=True)` returns full tracebacks to clients")
        elif site.is_true(site.keyword("reload")):
            yield Hit(
                ASGI_DEBUG,
                "`uvicorn.run(..., reload=True)` starts the development auto-reloader in application code",
                severity=Severity.LOW,
                properties={"option": "reload"},
            )


def check_attribute(site: AttributeSite) -> Iterator[Hit]:
    if site.in_test or site.attr != "debug" or not site.is_true(site.value):
        return
    if site.owner.startswith("flask.Flask("):
        yield Hit(FLASK_DEBUG, "`app.debug = True` turns on the Werkzeug debugger for this Flask app")


def _is_gradio(site: CallSite) -> bool:
    if site.has_root("gradio"):
        return True
    # `demo` built in another module or a helper: a `launch` in a file that imports gradio is Gradio's.
    return not site.resolved and "gradio" in site.symbols.imported_roots


def _is_flask(site: CallSite) -> bool:
    return site.name.startswith("flask.Flask(") or (not site.resolved and "flask" in site.symbols.imported_roots)


def _gradio(site: CallSite) -> Iterator[Hit]:
    auth = site.keyword("auth")
    if auth is not None and constant(auth, object()) is not None:
        return
    if site.has_star_kwargs():
        return
    share = site.is_true(site.keyword("share"))
    host = _host_value(site, site.keyword("server_name"))
    public_bind = isinstance(host, str) and host in _PUBLIC_HOSTS
    if share:
        extra = f" and binds {host!r}" if public_bind else ""
        yield Hit(
            GRADIO_PUBLIC,
            f"Gradio `launch(share=True)`{extra} without `auth=`: the app gets a public gradio.live URL anyone can use",
            properties={"share": True, "server_name": _shown(host)},
        )
    elif public_bind:
        yield Hit(
            GRADIO_PUBLIC,
            f"Gradio `launch(server_name={host!r})` without `auth=`: the app is reachable from every network the "
            "host is on",
            severity=Severity.MEDIUM,
            properties={"share": False, "server_name": _shown(host)},
        )


def _host_value(site: CallSite, node: ast.expr | None) -> object:
    """A literal host, or the literal default of `os.getenv(NAME, default)` / `os.environ.get(...)`,
    which is what runs wherever the variable is not set."""
    value = site.symbols.value_of(node)
    if value is not None or not isinstance(node, ast.Call):
        return value
    if site.symbols.qualify(node.func) in ("os.getenv", "os.environ.get") and len(node.args) >= 2:
        return site.symbols.value_of(node.args[1])
    return None


def _shown(value: object) -> object:
    """A host value for the report: JSON-friendly, and short even when the code binds a huge literal."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
