"""docker/curl-pipe-shell, docker/add-remote-without-checksum, docker/add-instead-of-copy,
docker/plain-http-download."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.docker.docker_support import RULES, hits, lines, scan, write


def test_every_pipe_to_shell_form_and_none_of_the_safe_ones() -> None:
    found = scan(RULES / "curl-pipe.Dockerfile")
    # wget -O- | sh, sh -c "$(curl)", bash <(curl), a pipe across a continuation,
    # a heredoc body, and `| python3 -`; not `python3 -c`, `| tar`, or a verified download.
    assert lines(found, "docker/curl-pipe-shell") == [2, 3, 4, 6, 9, 11]
    by_line = {f.start_line: f for f in found if f.rule_id == "docker/curl-pipe-shell"}
    assert by_line[2].properties["url"] == "https://get.example.com/installer.sh"
    assert by_line[11].properties["interpreter"] == "python3"
    assert by_line[2].severity.label == "high"


def test_onbuild_run_is_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM node:20.14.0\nONBUILD RUN curl https://install.example.com/ | sh\nUSER node\n")
    assert lines(scan(path), "docker/curl-pipe-shell") == [2]


def test_add_rules() -> None:
    found = scan(RULES / "add.Dockerfile")
    assert hits(found, "docker/add") == {
        ("docker/add-instead-of-copy", 4),
        ("docker/add-remote-without-checksum", 6),
    }
    assert lines(found, "docker/plain-http-download") == [6]
    (remote,) = [f for f in found if f.rule_id == "docker/add-remote-without-checksum"]
    assert remote.properties["model_weights"] is True


def test_plain_http_download_in_run() -> None:
    found = scan(RULES / "curl-pipe.Dockerfile")
    assert lines(found, "docker/plain-http-download") == []
    path = RULES.parent / "kitchen-sink" / "Dockerfile"
    assert lines(scan(path), "docker/plain-http-download") == []


def test_credentials_in_urls_are_redacted(tmp_path: Path) -> None:
    path = write(tmp_path, "FROM alpine:3.20\nADD https://user:tok3n@files.example.com/w.bin /w.bin\nUSER 1\n")
    (f,) = [f for f in scan(path) if f.rule_id == "docker/add-remote-without-checksum"]
    assert "tok3n" not in f.message and "tok3n" not in str(f.properties) and "***@" in f.message
