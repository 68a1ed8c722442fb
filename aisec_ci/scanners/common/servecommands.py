"""ML services started from a command line with no authentication and a public
bind address (E1, E3, E4, TensorBoard): Dockerfile CMD/ENTRYPOINT, compose
`command`, Kubernetes `command`/`args`, shell scripts.

The checks work on one command at a time (a logical line), so a script that
starts MLflow on localhost and Jupyter elsewhere is judged per command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from aisec_ci.rules import Rule
from aisec_ci.severity import Severity

MLFLOW_PUBLIC = Rule(
    id="exposure/mlflow-without-auth",
    name="MLflow server on a public address without auth",
    short_description="`mlflow server`/`mlflow ui` binds 0.0.0.0 without `--app-name basic-auth`.",
    severity=Severity.HIGH,
    what="Reports `mlflow server` or `mlflow ui` started with `--host 0.0.0.0` (or `::`) and without "
    "`--app-name basic-auth` (E1). Not reported when an authenticating proxy (oauth2-proxy, Pomerium, "
    "Authelia) runs beside it in the same pod, or in the same compose project while MLflow publishes no port; "
    "the same holds for the Jupyter, Ray and TensorBoard rules.",
    why="The MLflow tracking server has no authentication by default: anyone who reaches it can read every "
    "experiment and artifact, register a poisoned model version, and exploit its path-traversal history "
    "(CVE-2023-1177, CVE-2024-37059 class) to read or write files on the server.",
    example='CMD ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000"]',
    example_language="dockerfile",
    fix="Start it with `--app-name basic-auth` (and set the admin password), or bind to 127.0.0.1 behind a "
    "proxy that authenticates (nginx `auth_basic`/`auth_request`, oauth2-proxy).",
    tags=("CWE-306", "CWE-668"),
    precision="high",
    references=("https://mlflow.org/docs/latest/auth/index.html",),
)

JUPYTER_NO_TOKEN = Rule(
    id="exposure/jupyter-without-auth",
    name="Jupyter server without a token or password",
    short_description="Jupyter is started with an empty token, or as root on all interfaces.",
    severity=Severity.HIGH,
    what="Reports Jupyter (notebook, lab, server, start-notebook.sh) started with "
    "`--NotebookApp.token=''`/`--ServerApp.token=''`/`--IdentityProvider.token=''`, or with both "
    "`--allow-root` and `--ip=0.0.0.0` (medium) (E4).",
    why="A Jupyter server is a remote shell by design. Without a token, anyone who can reach the port runs "
    "code as the server's user, with the GPUs, the cloud credentials and the data mounted into it.",
    example='CMD ["jupyter", "lab", "--ip=0.0.0.0", "--allow-root", "--ServerApp.token="]',
    example_language="dockerfile",
    fix="Keep the generated token (or set a hashed password), do not run as root, and reach it through "
    "`kubectl port-forward`/SSH tunnel or an authenticating proxy.",
    tags=("CWE-306", "CWE-250"),
    precision="high",
)

RAY_DASHBOARD_PUBLIC = Rule(
    id="exposure/ray-dashboard-public",
    name="Ray dashboard on a public address without auth",
    short_description="`ray start --dashboard-host=0.0.0.0` (or `rayStartParams`) without Ray token auth.",
    severity=Severity.HIGH,
    what="Reports `ray start` with `--dashboard-host 0.0.0.0` and KubeRay `rayStartParams.dashboard-host: "
    "0.0.0.0` when no token authentication is configured (`RAY_AUTH_MODE=token`, KubeRay `authOptions`) (E3).",
    why="The Ray dashboard serves the Jobs API: anyone who reaches port 8265 submits a job, which is arbitrary "
    "code execution on the cluster (ShadowRay, CVE-2023-48022, exploited in the wild against AI clusters).",
    example="ray start --head --dashboard-host=0.0.0.0",
    example_language="bash",
    fix="Bind the dashboard to 127.0.0.1 and use port-forwarding, or enable Ray token authentication "
    "(`RAY_AUTH_MODE=token`, KubeRay `spec.authOptions.mode: token`) and restrict the port with a NetworkPolicy.",
    tags=("CWE-306", "CWE-94"),
    precision="high",
    references=("https://nvd.nist.gov/vuln/detail/CVE-2023-48022",),
)

TENSORBOARD_PUBLIC = Rule(
    id="exposure/tensorboard-public",
    name="TensorBoard on all interfaces",
    short_description="`tensorboard --bind_all` or `--host 0.0.0.0` serves logs to the network without auth.",
    severity=Severity.MEDIUM,
    what="Reports TensorBoard started with `--bind_all` or `--host 0.0.0.0` (E3/E4 family).",
    why="TensorBoard has no authentication; event files reveal data samples, hyper-parameters, embeddings "
    "and file paths, and its plugins have had path-traversal bugs.",
    example="tensorboard --logdir runs --bind_all",
    example_language="bash",
    fix="Bind to localhost (the default) and use port-forwarding or an authenticating proxy.",
    tags=("CWE-306", "CWE-200"),
    precision="high",
)

MLFLOW_STORE = Rule(
    id="exposure/mlflow-unsafe-store-options",
    name="MLflow server with credentials, clear-text artifact store or unlimited workers on its command line",
    short_description="`mlflow server` carries a store password, an http:// artifact root, or gunicorn "
    "options that remove its limits.",
    severity=Severity.MEDIUM,
    what="Reports `mlflow server` commands whose `--backend-store-uri`, `--registry-store-uri`, "
    "`--default-artifact-root` or `--artifacts-destination` embeds a password (`postgresql://user:pass@db`, "
    "high), whose artifact location is plain `http://` or `ftp://` to a non-local host, and whose "
    "`--gunicorn-opts`/`--uvicorn-opts` set `--timeout 0` or a `--limit-request-*` of 0, which disable the "
    "limits (E2). The password is never printed.",
    why="A command line is stored in the image history, the compose file and `ps` output, so a database "
    "password there gives whoever reads it the whole tracking store (every run, metric and model version). "
    "An artifact store over clear text lets the network path swap model files, and with the worker limits "
    "removed one slow client ties up the server.",
    # aisec: ignore[secrets/credential-url] the rule's documentation example, not a credential
    example="CMD mlflow server --backend-store-uri postgresql://mlflow:s3cret@db/mlflow --host 127.0.0.1",
    example_language="dockerfile",
    fix="Pass the store URI from a secret (`MLFLOW_BACKEND_STORE_URI` from a Secret or a file), use https:// "
    "or s3:// artifact locations, and keep gunicorn's default timeout and request limits.",
    tags=("CWE-214", "CWE-319", "CWE-400"),
    precision="high",
)

RULES: tuple[Rule, ...] = (MLFLOW_PUBLIC, MLFLOW_STORE, JUPYTER_NO_TOKEN, RAY_DASHBOARD_PUBLIC, TENSORBOARD_PUBLIC)

_ANY_HOST = r"['\"]?(?:0\.0\.0\.0|::|\[::\]|\*)['\"]?(?=[\s,\]'\"]|$)"
_MLFLOW_RE = re.compile(r"\bmlflow['\"]?[\s,]+['\"]?(?:server|ui)\b")
_MLFLOW_HOST_RE = re.compile(r"(?:--host|(?<![\w-])-h)(?:=|['\"]?[\s,]+['\"]?)" + _ANY_HOST)
_MLFLOW_AUTH_RE = re.compile(r"--app-name(?:=|['\"]?[\s,]+['\"]?)['\"]?basic-auth")
_STORE_FLAG = r"--(?:backend-store-uri|registry-store-uri|default-artifact-root|artifacts-destination)"
_MLFLOW_STORE_PASSWORD_RE = re.compile(
    _STORE_FLAG + r"(?:=|['\"]?[\s,]+['\"]?)['\"]?[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?![$<{])[^@\s'\"]+@"
)
_MLFLOW_PLAIN_ARTIFACTS_RE = re.compile(
    r"--(?:default-artifact-root|artifacts-destination)(?:=|['\"]?[\s,]+['\"]?)['\"]?(?:http|ftp)://"
    r"(?!localhost[:/'\"\s]|127\.0\.0\.1[:/'\"\s])"
)
_MLFLOW_WORKER_OPTS_RE = re.compile(
    r"--(?:gunicorn|uvicorn)-opts(?:=|['\"]?[\s,]+)['\"]?([^'\"]*(?:--timeout[= ]0\b|--limit-request-"
    r"(?:line|fields|field_size)[= ]0\b)[^'\"]*)"
)
_JUPYTER_RE = re.compile(
    r"\bjupyter(?:-|['\"]?[\s,]+['\"]?)(?:notebook|lab|server)\b|start-notebook\.(?:sh|py)|jupyterhub-singleuser"
    r"|\bjupyter-lab\b"
)
_JUPYTER_EMPTY_TOKEN_RE = re.compile(
    r"--(?:NotebookApp|ServerApp|IdentityProvider|LabApp)\.token\s*=\s*(?:''|\"\"|\\\"\\\"|(?=[\s\"',\]]|$))"
)
_JUPYTER_ROOT_RE = re.compile(r"--allow-root\b")
_JUPYTER_IP_RE = re.compile(r"--(?:ip|NotebookApp\.ip|ServerApp\.ip)(?:=|['\"]?[\s,]+['\"]?)" + _ANY_HOST)
_RAY_START_RE = re.compile(r"\bray['\"]?[\s,]+['\"]?start\b")
_RAY_DASH_RE = re.compile(r"--dashboard-host(?:=|['\"]?[\s,]+['\"]?)" + _ANY_HOST)
_RAY_AUTH_RE = re.compile(r"RAY_AUTH_MODE\s*[=:]\s*['\"]?token")
_TENSORBOARD_RE = re.compile(r"\btensorboard\b(?!\.)")
_TENSORBOARD_BIND_RE = re.compile(r"--bind_all\b|--host(?:=|['\"]?[\s,]+['\"]?)" + _ANY_HOST)
# Matches wherever one of the server patterns above could: each of them needs one of these
# words. One search instead of four on every line of a long script that starts no server.
_ANY_SERVER_RE = re.compile(r"\b(?:mlflow|ray|tensorboard)|jupyter|start-notebook\.")
_SERVER_WORDS = ("mlflow", "ray", "tensorboard", "jupyter", "start-notebook.")
# Line breaks of str.splitlines other than LF: with none of them, line n is after the (n-1)th LF.
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


@dataclass(frozen=True)
class Exposure:
    rule: Rule
    message: str
    severity: Severity
    slug: str
    """Identifies the problem within the file (for the finding key)."""


def analyse(command: str, *, ray_auth: bool = False) -> Iterator[Exposure]:
    """Exposures in one command line (JSON exec form or shell form)."""
    if not may_start_server(command):
        return
    if _MLFLOW_RE.search(command) and _MLFLOW_HOST_RE.search(command) and not _MLFLOW_AUTH_RE.search(command):
        yield Exposure(
            MLFLOW_PUBLIC,
            "MLflow server listens on all interfaces without `--app-name basic-auth`",
            MLFLOW_PUBLIC.severity,
            "mlflow",
        )
    if _MLFLOW_RE.search(command):
        yield from _mlflow_store(command)
    if _JUPYTER_RE.search(command):
        if _JUPYTER_EMPTY_TOKEN_RE.search(command):
            yield Exposure(
                JUPYTER_NO_TOKEN,
                "Jupyter is started with an empty token (no authentication)",
                Severity.HIGH,
                "jupyter-token",
            )
        elif _JUPYTER_ROOT_RE.search(command) and _JUPYTER_IP_RE.search(command):
            yield Exposure(
                JUPYTER_NO_TOKEN,
                "Jupyter runs as root (--allow-root) on all interfaces",
                Severity.MEDIUM,
                "jupyter-root",
            )
    if (
        _RAY_START_RE.search(command)
        and _RAY_DASH_RE.search(command)
        and not (ray_auth or _RAY_AUTH_RE.search(command))
    ):
        yield Exposure(
            RAY_DASHBOARD_PUBLIC,
            "Ray dashboard (Jobs API) listens on all interfaces without token auth",
            RAY_DASHBOARD_PUBLIC.severity,
            "ray-dashboard",
        )
    if _TENSORBOARD_RE.search(command) and _TENSORBOARD_BIND_RE.search(command):
        yield Exposure(
            TENSORBOARD_PUBLIC, "TensorBoard listens on all interfaces", TENSORBOARD_PUBLIC.severity, "tensorboard"
        )


def may_start_server(text: str) -> bool:
    """False when no command in `text` can start one of the servers `analyse` knows."""
    return _ANY_SERVER_RE.search(text) is not None


def _mlflow_store(command: str) -> Iterator[Exposure]:
    if _MLFLOW_STORE_PASSWORD_RE.search(command):
        yield Exposure(
            MLFLOW_STORE,
            "MLflow server command line embeds a store password in a URI",
            Severity.HIGH,
            "mlflow-store-password",
        )
    plain = _MLFLOW_PLAIN_ARTIFACTS_RE.search(command)
    if plain:
        yield Exposure(
            MLFLOW_STORE,
            "MLflow artifact location is reached over clear text (http:// or ftp://)",
            MLFLOW_STORE.severity,
            "mlflow-plain-artifacts",
        )
    if _MLFLOW_WORKER_OPTS_RE.search(command):
        yield Exposure(
            MLFLOW_STORE,
            "MLflow server worker options disable the request timeout or size limits",
            MLFLOW_STORE.severity,
            "mlflow-worker-limits",
        )


def logical_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(first line number, text) with backslash continuations joined; comments dropped."""
    for start, _end, text in _logical_lines(lines, 0):
        yield start, text


def _logical_lines(lines: list[str], first: int) -> Iterator[tuple[int, int, str]]:
    """(first line number, last line number, text) of the logical lines from index `first`,
    which must follow a line that does not end with a backslash (or be 0)."""
    buf: list[str] = []
    start = 0
    for number in range(first + 1, len(lines) + 1):
        stripped = lines[number - 1].strip()
        if not buf and stripped.startswith("#"):
            continue
        if not buf:
            start = number
        if stripped.endswith("\\"):
            buf.append(stripped[:-1])
            continue
        buf.append(stripped)
        text = " ".join(buf)
        buf = []
        if text:
            yield start, number, text
    if buf:
        yield start, len(lines), " ".join(buf)


def server_commands(text: str, lines: list[str]) -> Iterator[tuple[int, str]]:
    """The logical lines of a script that `analyse` can report on: those of
    `logical_lines(lines)` that `may_start_server`, in the same order.

    A script of several MB (an installer with its manifests inline) names no server on
    almost every line: only the lines around the server words are joined and checked.
    A word never spans two lines (joining puts a space between them)."""
    if not any(word in text for word in _SERVER_WORDS):
        return
    if any(sep in text for sep in _OTHER_BREAKS):
        yield from ((n, c) for n, c in logical_lines(lines) if may_start_server(c))
        return
    offsets: list[int] = []
    for word in _SERVER_WORDS:
        pos = text.find(word)
        while pos != -1:
            offsets.append(pos)
            pos = text.find(word, pos + 1)
    offsets.sort()
    done = 0  # lines[:done] are covered by the logical lines already looked at
    counted, line_index = 0, 0
    for pos in offsets:
        line_index += text.count("\n", counted, pos)
        counted = pos
        if line_index < done:
            continue
        # Back to a line that ends no continuation: a logical line starts after it.
        first = line_index
        while first > 0 and lines[first - 1].strip().endswith("\\"):
            first -= 1
        for start, end, command in _logical_lines(lines, max(first, done)):
            done = end
            if may_start_server(command):
                yield start, command
            if end > line_index:
                break


# Images of authenticating reverse proxies: a service that sits behind one in the same pod
# (sidecar) or compose project is not reachable without logging in.
AUTH_PROXY_IMAGES = ("oauth2-proxy", "oauth2_proxy", "pomerium", "authelia", "keycloak-gatekeeper", "louketo")


def is_auth_proxy(image: str) -> bool:
    lowered = image.lower()
    return any(hint in lowered for hint in AUTH_PROXY_IMAGES)


def mentions_ray_auth(text: str) -> bool:
    return _RAY_AUTH_RE.search(text) is not None
