"""Checks of the image config: who it runs as, what it exposes, its health check, and credentials
written into `Env` or into the build history (`ARG` values end up in `RUN` history entries)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aisec_ci.findings import Finding
from aisec_ci.image.rules import IMAGE_EXPOSED_ML_PORT, IMAGE_NO_HEALTHCHECK, IMAGE_ROOT_USER
from aisec_ci.image.source import iter_history
from aisec_ci.scanners.secrets.content import ContentScanner
from aisec_ci.workspace.kinds import FileKind

# port -> service: the ones that answer anybody by default (see image/exposed-ml-port).
ML_SERVICE_PORTS: dict[int, str] = {
    5000: "MLflow tracking server",
    8888: "Jupyter",
    8265: "Ray dashboard / Jobs API",
    10001: "Ray client server",
    6006: "TensorBoard",
}
_ROOT_USERS = frozenset({"", "root", "0"})


def image_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = config.get("config")
    return inner if isinstance(inner, Mapping) else {}


def config_findings(config: Mapping[str, Any], where: str) -> Iterator[Finding]:
    """Findings about the runtime config, located at `where` (the image target's name)."""
    cfg = image_config(config)
    user = str(cfg.get("User") or "")
    if user.split(":", 1)[0] in _ROOT_USERS:
        shown = f"`User` is {user!r}" if user else "no `User` is set"
        yield Finding(
            rule_id=IMAGE_ROOT_USER.id,
            severity=IMAGE_ROOT_USER.severity,
            message=f"The image runs as root: {shown} in its config, so its entrypoint starts with uid 0.",
            path=where,
            key="config:User",
            properties={"image_field": "User", "user": user},
        )
    ports = cfg.get("ExposedPorts")
    if isinstance(ports, Mapping):
        for spec in sorted(str(p) for p in ports):
            number, _, proto = spec.partition("/")
            if number.isdigit() and int(number) in ML_SERVICE_PORTS and proto in ("", "tcp"):
                service = ML_SERVICE_PORTS[int(number)]
                yield Finding(
                    rule_id=IMAGE_EXPOSED_ML_PORT.id,
                    severity=IMAGE_EXPOSED_ML_PORT.severity,
                    message=f"The image exposes port {number}, where {service} listens by default and answers "
                    "without authentication unless it is configured to ask for it.",
                    path=where,
                    key=f"config:ExposedPorts:{spec}",
                    properties={"image_field": "ExposedPorts", "port": int(number), "service": service},
                )
    health = cfg.get("Healthcheck")
    test = health.get("Test") if isinstance(health, Mapping) else None
    if not test or (isinstance(test, list) and test[:1] == ["NONE"]):
        yield Finding(
            rule_id=IMAGE_NO_HEALTHCHECK.id,
            severity=IMAGE_NO_HEALTHCHECK.severity,
            message="The image has no health check: a hung model server keeps running and keeps taking traffic.",
            path=where,
            key="config:Healthcheck",
            properties={"image_field": "Healthcheck"},
        )


def config_secret_findings(config: Mapping[str, Any], where: str, scanner: ContentScanner) -> Iterator[Finding]:
    """Credentials in `Env` and in the history's `created_by` lines, found by the secrets detectors.

    Each value is scanned as a Dockerfile line (`ENV NAME=value`, `RUN ...`), which is what it was
    written as, so the keyword detectors see the variable name next to its value."""
    cfg = image_config(config)
    env = cfg.get("Env")
    env_names = {str(item).partition("=")[0] for item in env} if isinstance(env, list) else set()
    if isinstance(env, list):
        for item in env:
            text = str(item)
            name = text.partition("=")[0]
            for f in scanner.scan("Dockerfile", f"ENV {text}\n", FileKind.DOCKERFILE):
                yield _relocated(
                    f, where, f"config:Env:{name}:{f.rule_id}", "Env", f"the image config's `Env` ({name})"
                )
    for position, entry in iter_history(dict(config)):
        created_by = str(entry.get("created_by") or "")
        if not created_by:
            continue
        line = " ".join(created_by.split())
        if _env_instruction(line) in env_names:
            continue  # the same value is in `Env`, reported there once
        for f in scanner.scan("Dockerfile", line + "\n", FileKind.DOCKERFILE):
            yield _relocated(
                f,
                where,
                f"history:{position}:{f.rule_id}:{f.key}",
                "history",
                f"the image history (entry {position + 1}, which anyone who pulls the image can read)",
            )


def _env_instruction(line: str) -> str | None:
    """The variable an `ENV` history entry sets (BuildKit's `ENV A=b`, the classic `#(nop)  ENV A=b`)."""
    text = line.removeprefix("/bin/sh -c #(nop) ").strip()
    if not text.startswith("ENV "):
        return None
    rest = text[4:].strip()
    return rest.split("=", 1)[0].split(" ", 1)[0] or None


def _relocated(f: Finding, where: str, key: str, field_name: str, place: str) -> Finding:
    props = dict(f.properties)
    props["image_field"] = field_name
    return f.evolve(
        path=where,
        start_line=1,
        end_line=None,
        start_column=1,
        end_column=None,
        key=key,
        message=f"{f.message.rstrip('.')} — in {place}.",
        properties=props,
    )
