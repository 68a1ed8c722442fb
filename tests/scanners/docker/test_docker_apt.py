"""docker/apt-* hygiene rules."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.docker.docker_support import RULES, hits, scan, write


def test_apt_fixture() -> None:
    found = scan(RULES / "apt.Dockerfile")
    assert hits(found, "docker/apt") == {
        ("docker/apt-update-alone", 2),
        ("docker/apt-missing-yes", 3),
        ("docker/apt-cli-in-script", 4),
    }


def test_unpinned_recommends_and_lists(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "FROM ubuntu:22.04\n"
        "RUN apt-get update && \\\n"
        "    apt-get install -y ffmpeg libsndfile1=1.0.31-2build1\n"
        'CMD ["bash"]\n',
    )
    found = scan(path)
    assert hits(found, "docker/apt") == {
        ("docker/apt-unpinned", 3),
        ("docker/apt-install-recommends", 3),
        ("docker/apt-lists-not-removed", 2),
    }
    (unpinned,) = [f for f in found if f.rule_id == "docker/apt-unpinned"]
    assert unpinned.properties["packages"] == ["ffmpeg"]


def test_lists_only_matter_in_the_shipped_stages(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "FROM ubuntu:22.04 AS build\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends g++=4:11.2.0-1ubuntu1\n"
        "FROM ubuntu:22.04\n"
        "USER 1\n",
    )
    assert hits(scan(path), "docker/apt-lists") == set()
