"""The `docker` scanner: Dockerfile and docker-compose rules."""

from aisec_ci.scanners.docker.scanner import DockerScanner

SCANNER = DockerScanner

__all__ = ["SCANNER", "DockerScanner"]
