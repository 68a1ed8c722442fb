"""Rules of the `image` command that no repository scanner has (the rest reuse deps, secrets and
models rules: a vulnerable package or a leaked key is the same problem in an image)."""

from __future__ import annotations

from aisec_ci.rules import Rule
from aisec_ci.severity import Severity

IMAGE_ROOT_USER = Rule(
    id="image/root-user",
    name="Image runs as root",
    short_description="The image config sets no `User`, or sets root, so containers start as root.",
    severity=Severity.MEDIUM,
    what="Reads the built image's config: an empty `User` (the default) or `root`/`0` means every container "
    "started from the image runs its entrypoint as root unless the runtime overrides it.",
    why="Root in the container is root on the host's kernel: a bug in the model server or a pickle loaded from "
    "a request then has the privileges that container escapes need, and Kubernetes `runAsNonRoot` rejects "
    "the image. The built image is what runs, whatever the Dockerfile in the repository says today.",
    example='"config": {"User": "", "Cmd": ["python", "serve.py"]}',
    example_language="json",
    fix="Add a numeric non-root user to the Dockerfile's final stage and rebuild:\n\n"
    "```dockerfile\nRUN useradd --uid 10001 --create-home app\nUSER 10001\n```",
    tags=("CWE-250", "CWE-269"),
    precision="very-high",
)

IMAGE_EXPOSED_ML_PORT = Rule(
    id="image/exposed-ml-port",
    name="Image exposes an ML service port",
    short_description="The image declares a port of a service with no authentication by default "
    "(MLflow, Jupyter, Ray, TensorBoard).",
    severity=Severity.MEDIUM,
    what="Reports `ExposedPorts` in the image config that belong to ML services which accept requests without "
    "authentication out of the box: MLflow's tracking server (5000), Jupyter (8888), Ray's dashboard and Jobs "
    "API (8265) and client server (10001), TensorBoard (6006).",
    why="`EXPOSE` documents what the image serves, and `docker run -P`, compose files and platform defaults "
    "publish exactly those ports. Ray's Jobs API and Jupyter run arbitrary code for whoever reaches them; "
    "MLflow's server has had path traversal and remote file read flaws, and it writes models anywhere its "
    "artifact store allows.",
    example='"ExposedPorts": {"8265/tcp": {}}',
    example_language="json",
    fix="Do not publish the service port: keep the service on an internal network and put an authenticating "
    "proxy in front of it; in the image, drop the `EXPOSE` of ports that only operators need.",
    tags=("CWE-306", "CWE-668"),
    precision="high",
)

IMAGE_NO_HEALTHCHECK = Rule(
    id="image/no-healthcheck",
    name="Image has no health check",
    short_description="The image config has no `Healthcheck`.",
    severity=Severity.LOW,
    profile="strict",
    what="Reports an image whose config carries no `Healthcheck`.",
    why="A model server that hangs (a wedged GPU, a deadlocked worker) keeps its container running and keeps "
    "receiving traffic: a denial of service nobody notices. Orchestrators with their own probes "
    "(Kubernetes) do not need it, hence the strict profile.",
    example='"config": {"Cmd": ["python", "serve.py"]}',
    example_language="json",
    fix='```dockerfile\nHEALTHCHECK --interval=30s CMD ["curl", "-fsS", "http://127.0.0.1:8080/health"]\n```',
    tags=("CWE-400",),
    precision="very-high",
)

IMAGE_INCOMPLETE = Rule(
    id="image/incomplete-scan",
    name="Part of the image could not be scanned",
    short_description="A layer could not be read to the end, so the files in it were not checked.",
    severity=Severity.MEDIUM,
    what="Reports a layer that could not be opened or read to its end: corrupt or truncated, or compressed "
    "with a method this installation cannot decompress (zstd without the `zstandard` package).",
    why="A gate that passes an image it could only partly read is a gate an attacker walks around with one "
    "malformed layer.",
    example="layer 3 (blobs/sha256/…): zstd-compressed layer, and the `zstandard` package is not installed",
    fix="Re-export the image (`docker save -o image.tar IMAGE`), or install what the message names.",
    tags=("reliability",),
    precision="very-high",
)


def image_rules() -> tuple[Rule, ...]:
    # The OS package rule lives beside its audit (os_vulns.py), which imports the deps engine.
    from aisec_ci.image.os_vulns import VULNERABLE_OS_PACKAGE

    return (IMAGE_ROOT_USER, IMAGE_EXPOSED_ML_PORT, IMAGE_NO_HEALTHCHECK, IMAGE_INCOMPLETE, VULNERABLE_OS_PACKAGE)
