"""The Dockerfile parser: lines, continuations, heredocs, directives, forms and stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.scanners.docker.parser import parse, split_assignments, substitute
from tests.scanners.docker.docker_support import REALWORLD, RULES


def test_continuations_skip_comments_and_blank_lines_and_keep_line_numbers() -> None:
    df = parse(
        "FROM python:3.11-slim\n"
        "RUN apt-get update && \\\n"
        "    # the comment line is dropped\n"
        "    apt-get install -y \\\n"
        "\n"
        "      curl\n"
        "CMD python\n"
    )
    run = df.instructions[1]
    assert run.keyword == "RUN"
    assert (run.start_line, run.end_line) == (2, 6)
    assert "comment" not in run.args
    assert run.args.split() == ["apt-get", "update", "&&", "apt-get", "install", "-y", "curl"]
    # Offsets map back to the physical line that holds them.
    assert run.line_of_args(run.args.index("curl")) == 6
    assert run.line_of_args(run.args.index("install")) == 4
    assert df.instructions[2].start_line == 7


def test_escaped_escape_at_line_end_is_not_a_continuation() -> None:
    df = parse("FROM alpine:3.20\nRUN echo a\\\\\nRUN echo b\n")
    assert [i.keyword for i in df.instructions] == ["FROM", "RUN", "RUN"]


def test_backtick_escape_directive() -> None:
    df = parse((RULES / "windows.Dockerfile").read_text())
    assert df.escape == "`"
    run = next(i for i in df.instructions if i.keyword == "RUN")
    assert (run.start_line, run.end_line) == (4, 5)
    assert "C:\\python.exe" in run.args
    workdir = next(i for i in df.instructions if i.keyword == "WORKDIR")
    assert workdir.args == "C:\\app"


def test_directives_only_at_the_top() -> None:
    df = parse("# syntax=docker/dockerfile:1.7\n# a comment\n# escape=`\nFROM alpine:3.20\nRUN echo \\\n  x\n")
    assert df.directives == {"syntax": "docker/dockerfile:1.7"}
    assert df.escape == "\\"
    assert df.instructions[1].end_line == 6


def test_unknown_directive_is_a_comment_that_ends_directives() -> None:
    df = parse("# copyright=acme\n# escape=`\nFROM alpine:3.20\n")
    assert df.directives == {} and df.escape == "\\"


def test_heredocs_multiple_and_tab_stripping() -> None:
    text = (
        "FROM alpine:3.20\nCOPY <<A <<-'B' /etc/\nalpha\nA\n\tbeta\n\tB\nRUN <<EOF\nset -e\necho done\nEOF\nUSER 1000\n"
    )
    df = parse(text)
    copy, run, user = df.instructions[1:]
    assert [(h.name, h.body, h.start_line, h.end_line) for h in copy.heredocs] == [
        ("A", "alpha", 3, 4),
        ("B", "beta", 5, 6),
    ]
    assert (copy.start_line, copy.end_line) == (2, 6)
    assert run.heredocs[0].body == "set -e\necho done"
    assert run.heredocs[0].line_at(run.heredocs[0].body.index("echo")) == 9
    assert (user.keyword, user.start_line) == ("USER", 11)
    assert not df.problems


def test_here_string_is_not_a_heredoc() -> None:
    df = parse("FROM alpine:3.20\nRUN cat <<< 'x'\nUSER 1\n")
    assert df.instructions[1].heredocs == ()
    assert df.instructions[2].keyword == "USER"


def test_json_and_shell_forms() -> None:
    df = parse('FROM alpine:3.20\nCMD ["python", "-m", "app"]\nENTRYPOINT [python, app]\nRUN ["sh", "-c", "echo hi"]\n')
    cmd, entry, run = df.instructions[1:]
    assert cmd.json_args == ["python", "-m", "app"]
    # Not valid JSON: Docker runs it through the shell, so it is shell form.
    assert entry.json_args is None
    assert run.json_args == ["sh", "-c", "echo hi"]


def test_flags_are_split_from_arguments() -> None:
    df = parse(
        "FROM --platform=linux/amd64 python:3.11-slim AS build\n"
        "RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=tok --network=none pip wheel .\n"
        'COPY --from=build --chown="app:app" /src /dst\n'
    )
    frm, run, copy = df.instructions
    assert frm.flag("platform") == "linux/amd64"
    assert df.stages[0].base == "python:3.11-slim"
    assert run.flags["mount"] == ["type=cache,target=/root/.cache", "type=secret,id=tok"]
    assert run.args == "pip wheel ."
    assert copy.flag("chown") == "app:app"
    assert copy.flag("from") == "build"


def test_arg_defaults_are_substituted_into_from_and_stages_link() -> None:
    df = parse(
        "ARG REGISTRY=nvcr.io/nvidia\n"
        "ARG TAG\n"
        "FROM ${REGISTRY}/pytorch:${TAG:-24.05-py3} AS Base\n"
        "FROM base AS app\n"
        "FROM 1\n"
        "FROM $MISSING\n"
    )
    assert df.global_args == {"REGISTRY": "nvcr.io/nvidia", "TAG": None}
    base, app, third, fourth = df.stages
    assert base.base == "nvcr.io/nvidia/pytorch:24.05-py3" and base.name == "base"
    assert app.parent == 0 and third.parent == 1
    assert fourth.unresolved and fourth.parent is None
    assert [s.index for s in df.stage_chain(third)] == [2, 1, 0]


def test_substitute_forms() -> None:
    env: dict[str, str | None] = {"A": "x", "E": "", "N": None}
    assert substitute("$A-${A}", env) == ("x-x", True)
    assert substitute("${E:-d}/${E-d}/${N:-n}", env) == ("d//n", True)
    assert substitute("${A:+alt}${Z:+alt}", env) == ("alt", True)
    assert substitute("${Z}", env) == ("${Z}", False)


def test_split_assignments_forms() -> None:
    assert split_assignments('A=1 B="two words" C') == [("A", "1", 0), ("B", "two words", 4), ("C", None, 18)]
    assert split_assignments("LEGACY some value") == [("LEGACY", "some value", 0)]
    assert split_assignments("NAME", legacy=False) == [("NAME", None, 0)]


def test_onbuild_registers_inner_instruction() -> None:
    df = parse("FROM node:20.14.0\nONBUILD RUN curl -fsSL https://x.example/i.sh | sh\n")
    inst = df.instructions[1]
    assert inst.inner is not None and inst.inner.keyword == "RUN"
    assert inst.inner.stage == 0
    assert inst.inner.args.startswith("curl")


def test_unknown_instruction_and_unterminated_heredoc_are_problems() -> None:
    df = parse((RULES / "syntax.Dockerfile").read_text())
    # The unterminated heredoc is not consumed: its would-be body is parsed (and rejected) again.
    assert df.problems == [
        (3, "unknown instruction 'apt-get'"),
        (4, "heredoc 'EOF' is not terminated"),
        (5, "unknown instruction 'listen'"),
    ]


def test_stray_heredoc_marker_does_not_swallow_the_file() -> None:
    df = parse('FROM alpine:3.20\nRUN echo "write <<END to start a heredoc"\nUSER 1000\nCMD ["sh"]\n')
    assert [i.keyword for i in df.instructions] == ["FROM", "RUN", "USER", "CMD"]
    assert df.problems == [(2, "heredoc 'END' is not terminated")]


def test_only_comments_gives_no_instructions() -> None:
    df = parse((RULES / "comments-only.Dockerfile").read_text())
    assert df.instructions == [] and df.stages == []


def test_windows_line_endings() -> None:
    df = parse("FROM alpine:3.20\r\nRUN echo a \\\r\n  b\r\nUSER 1\r\n")
    assert [(i.keyword, i.start_line, i.end_line) for i in df.instructions] == [
        ("FROM", 1, 1),
        ("RUN", 2, 3),
        ("USER", 4, 4),
    ]


def _realworld_dockerfiles() -> list[Path]:
    base = REALWORLD / "dockerfiles"
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*") if p.is_file())


@pytest.mark.skipif(not _realworld_dockerfiles(), reason="shared real-world corpus not present")
def test_every_realworld_dockerfile_parses_cleanly() -> None:
    files = _realworld_dockerfiles()
    assert len(files) >= 20
    for path in files:
        df = parse(path.read_text(encoding="utf-8"))
        assert df.stages, path
        assert df.problems == [], (path, df.problems)
        assert all(i.known for i in df.instructions), path
        # Every instruction keeps an increasing, in-file line range.
        ends = [(i.start_line, i.end_line) for i in df.instructions]
        assert all(a <= b for a, b in ends), path
        assert all(ends[k][1] < ends[k + 1][0] for k in range(len(ends) - 1)), path
