"""docker/unpinned-base-image, docker/base-image-not-digest-pinned, docker/full-base-image,
docker/disallowed-registry."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.scanners.docker.images import parse_image, registry_allowed
from tests.scanners.docker.docker_support import RULES, hits, lines, scan, write


def test_untagged_and_latest_bases_after_arg_substitution() -> None:
    found = scan(RULES / "base-images.Dockerfile")
    assert lines(found, "docker/unpinned-base-image") == [3, 6]
    # Digest-pinned, stage aliases, scratch and unresolved variables are not reported.
    assert lines(found, "docker/base-image-not-digest-pinned") == []
    messages = " ".join(f.message for f in found if f.rule_id == "docker/unpinned-base-image")
    assert "pytorch/pytorch" in messages and "python:latest" in messages


def test_tag_without_digest_is_low(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nUSER 1000\n")
    found = scan(path)
    assert hits(found, "docker/base") == {("docker/base-image-not-digest-pinned", 1)}
    assert found[0].severity.label == "low"
    assert (
        lines(scan(path, options={"digest_exempt_images": ["nvidia/cuda:*"]}), "docker/base-image-not-digest-pinned")
        == []
    )


def test_devel_image_in_the_final_stage() -> None:
    assert lines(scan(RULES / "full-base-devel.Dockerfile"), "docker/full-base-image") == [1]
    assert lines(scan(RULES / "full-base-runtime.Dockerfile"), "docker/full-base-image") == []
    # A development container (no CMD/ENTRYPOINT) is meant to be full.
    assert lines(scan(RULES / "full-base-devenv.Dockerfile"), "docker/full-base-image") == []


def test_full_python_and_toolchain_images(tmp_path: Path) -> None:
    full = write(tmp_path, 'FROM python:3.11.9-bookworm\nUSER 1\nCMD ["python"]\n', "a/Dockerfile")
    slim = write(tmp_path, 'FROM python:3.11.9-slim-bookworm\nUSER 1\nCMD ["python"]\n', "b/Dockerfile")
    golang = write(tmp_path, 'FROM golang:1.22.4-alpine\nUSER 1\nCMD ["/app"]\n', "c/Dockerfile")
    assert lines(scan(full), "docker/full-base-image") == [1]
    assert lines(scan(slim), "docker/full-base-image") == []
    assert lines(scan(golang), "docker/full-base-image") == [1]


def test_allowed_registries_option() -> None:
    path = RULES / "registry.Dockerfile"
    assert lines(scan(path), "docker/disallowed-registry") == []
    found = scan(path, options={"allowed_registries": ["nvcr.io", "ghcr.io/acme"]})
    assert lines(found, "docker/disallowed-registry") == [3, 4]
    assert (
        lines(
            scan(path, options={"allowed_registries": ["docker.io", "nvcr.io", "ghcr.io"]}),
            "docker/disallowed-registry",
        )
        == []
    )


def test_image_reference_parsing() -> None:
    ref = parse_image("localhost:5000/team/model-server:1.2@sha256:abc")
    assert ref is not None
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        "localhost:5000",
        "team/model-server",
        "1.2",
        "sha256:abc",
    )
    hub = parse_image("python:3.11")
    assert hub is not None and hub.full_name == "docker.io/library/python" and hub.short == "python"
    user = parse_image("pytorch/pytorch")
    assert user is not None and user.tag is None and user.short == "pytorch/pytorch"
    assert parse_image("") is None
    assert registry_allowed(parse_image("ghcr.io/acme/x:1"), ["ghcr.io/acme"])  # type: ignore[arg-type]
    assert not registry_allowed(parse_image("ghcr.io/acmeevil/x:1"), ["ghcr.io/acme"])  # type: ignore[arg-type]
