"""CMD, ENTRYPOINT and HEALTHCHECK: curl|sh and TLS verification switched off at container start."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.scanners.docker.analysis import start_command
from aisec_ci.scanners.docker.parser import parse
from tests.scanners.docker.docker_support import RULES, lines, scan, write

PIPE = "docker/curl-pipe-shell"
TLS = "docker/tls-verification-disabled"


def test_downloads_piped_into_a_shell_at_start_are_reported() -> None:
    found = scan(RULES / "start-commands.Dockerfile")
    # ENTRYPOINT exec form with `sh -c` (line 8), CMD shell form into `python3 -` (line 9).
    assert lines(found, PIPE) == [8, 9]
    by_line = {f.start_line: f for f in found if f.rule_id == PIPE}
    assert by_line[8].properties == {
        "url": "https://get.example.com/bootstrap.sh",
        "interpreter": "bash",
        "instruction": "ENTRYPOINT",
    }
    assert "when the container starts" in by_line[8].message
    assert by_line[9].properties["interpreter"] == "python3"
    assert by_line[8].key != by_line[9].key


def test_insecure_health_check_against_another_host_is_reported_on_its_command_line() -> None:
    found = scan(RULES / "start-commands.Dockerfile")
    # The HEALTHCHECK starts on line 6; its CMD (and the -k) is on the continuation line 7.
    assert lines(found, TLS) == [7]
    (tls,) = [f for f in found if f.rule_id == TLS]
    assert "HEALTHCHECK" in tls.message
    assert tls.key == "healthcheck:`curl --insecure`"


def test_local_health_checks_and_plain_exec_commands_are_not_reported() -> None:
    found = scan(RULES / "start-commands-ok.Dockerfile")
    assert lines(found, PIPE) == []
    assert lines(found, TLS) == []


def test_onbuild_and_json_healthcheck(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "FROM alpine:3.20\n"
        'ONBUILD CMD ["bash", "-c", "bash <(curl -s https://x.example.com/i.sh)"]\n'
        'HEALTHCHECK CMD ["wget", "--no-check-certificate", "-qO-", "https://status.example.com/"]\n',
    )
    found = scan(path)
    assert lines(found, PIPE) == [2]
    assert lines(found, TLS) == [3]


def test_healthcheck_none_and_flags_only_run_nothing() -> None:
    dockerfile = parse("FROM x\nHEALTHCHECK NONE\nHEALTHCHECK --interval=5s\n")
    assert [start_command(i) for i in dockerfile.instructions[1:]] == [None, None]


def test_run_keys_are_unchanged_by_the_start_command_checks(tmp_path: Path) -> None:
    # Baselines written before start commands were checked must keep matching.
    path = write(tmp_path, "FROM alpine:3.20\nRUN curl -k https://x.example.com/a | sh\n")
    found = {f.rule_id: f for f in scan(path)}
    assert found[PIPE].key == "pipe:https://x.example.com/a:sh"
    assert found[PIPE].properties == {"url": "https://x.example.com/a", "interpreter": "sh"}
    assert found[TLS].key == "run:`curl --insecure`"
