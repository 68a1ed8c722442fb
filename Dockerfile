# syntax=docker/dockerfile:1
# The aisec-ci GitHub Action image (also usable as `docker run ... aisec-ci scan`).
#
# Runs as root, deliberately: GitHub documents root as a requirement for Docker
# container actions, and an image-fixed uid breaks writing $GITHUB_OUTPUT and the
# step summary on runners whose user is not that uid (self-hosted runners often
# are not 1001). The entrypoint handles what root changes: it marks the workspace
# as a git safe.directory and writes its reports with mode 0644.
# The base image is pinned by version in both stages (literal FROM lines, so
# Dependabot can update them); add `@sha256:` once a digest has been verified.

# --- build: a virtualenv with the locked dependencies and the package -------
# aisec: ignore[docker/base-image-not-digest-pinned] exact version tag; Dependabot keeps it current until a digest is verified
FROM python:3.12.12-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY requirements/action.txt requirements/build.txt /tmp/build/requirements/
# Wheels only: nothing is compiled, so the build stage needs no compiler either.
RUN python -m venv /opt/aisec-ci \
    && /opt/aisec-ci/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: \
        -r /tmp/build/requirements/action.txt \
    && python -m venv /tmp/build/backend \
    && /tmp/build/backend/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: \
        -r /tmp/build/requirements/build.txt
COPY pyproject.toml README.md /tmp/build/src/
COPY aisec_ci /tmp/build/src/aisec_ci
# Our own package: no dependencies (all locked above), built with the locked backend.
RUN /tmp/build/backend/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation \
        --wheel-dir /tmp/build/dist /tmp/build/src \
    && /opt/aisec-ci/bin/pip install --no-cache-dir --no-deps /tmp/build/dist/*.whl \
    && /opt/aisec-ci/bin/python -m compileall -q /opt/aisec-ci/lib

# --- final: the runtime only -------------------------------------------------
# Root: container actions must run as the default Docker user (see the note at the top).
# aisec: ignore[docker/base-image-not-digest-pinned, docker/root-user] exact version tag (see above); root is required
FROM python:3.12.12-slim-bookworm
LABEL org.opencontainers.image.source="https://github.com/aisec-ci/aisec-ci" \
      org.opencontainers.image.description="aisec-ci: security gate for AI/ML repositories" \
      org.opencontainers.image.licenses="Apache-2.0"
# git is a runtime dependency (file listing, changed lines, the base commit of new-only), not a build tool.
# An exact Debian version pin would be dropped from the archive by the next security update.
# aisec: ignore[docker/apt-unpinned, docker/build-tools-in-final-stage] git is needed at run time, security updates wanted
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/aisec-ci /opt/aisec-ci
COPY entrypoint.py /opt/aisec-ci/entrypoint.py
ENV PATH=/opt/aisec-ci/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
ENTRYPOINT ["/opt/aisec-ci/bin/python", "/opt/aisec-ci/entrypoint.py"]
