"""Splitting RUN shell text into commands."""

from __future__ import annotations

from aisec_ci.scanners.docker.shell import inner_scripts, iter_commands, parse_script


def _words(text: str) -> list[list[str]]:
    return [c.words for c in iter_commands(parse_script(text))]


def test_operators_pipes_and_quotes() -> None:
    pipelines = parse_script("a 'x y' \"z $HOME\" && b | c; d || e & f")
    assert [[c.words for c in p.commands] for p in pipelines] == [
        [["a", "x y", "z $HOME"]],
        [["b"], ["c"]],
        [["d"]],
        [["e"]],
        [["f"]],
    ]


def test_assignments_wrappers_and_reserved_words_are_peeled() -> None:
    cmds = list(
        iter_commands(
            parse_script(
                "if [ -f x ]; then DEBIAN_FRONTEND=noninteractive sudo -E -u root env A=1 apt-get install -y y; fi"
            )
        )
    )
    install = cmds[1]
    assert install.words == ["apt-get", "install", "-y", "y"]
    assert install.assignments == {"DEBIAN_FRONTEND": "noninteractive", "A": "1"}
    assert install.wrappers == ["sudo", "env"]


def test_redirections_drop_their_targets() -> None:
    assert _words("curl -s url 2>&1 > /dev/null < in.txt && echo ok >>log") == [
        ["curl", "-s", "url"],
        ["echo", "ok"],
    ]


def test_comments_and_line_continuations() -> None:
    assert _words("echo a # not b\necho \\\n c") == [["echo", "a"], ["echo", "c"]]


def test_substitutions_stay_in_their_word_and_nested_scripts_are_found() -> None:
    (cmd,) = list(iter_commands(parse_script('sh -c "$(curl -fsSL https://x.example/i.sh)" && echo `date`')))[:1]
    assert cmd.words == ["sh", "-c", "$(curl -fsSL https://x.example/i.sh)"]
    assert inner_scripts(cmd) == ["$(curl -fsSL https://x.example/i.sh)"]
    (sub,) = list(iter_commands(parse_script(inner_scripts(cmd)[0])))
    assert inner_scripts(sub) == ["curl -fsSL https://x.example/i.sh"]


def test_process_substitution_is_a_word() -> None:
    (cmd,) = list(iter_commands(parse_script("bash <(curl -s https://x.example/i.sh) --flag")))
    assert cmd.words == ["bash", "<(curl -s https://x.example/i.sh)", "--flag"]
    assert inner_scripts(cmd) == ["curl -s https://x.example/i.sh"]


def test_offsets_point_at_command_start() -> None:
    text = "apt-get update && pip install x"
    cmds = list(iter_commands(parse_script(text)))
    assert [text[c.offset :].split()[0] for c in cmds] == ["apt-get", "pip"]


def test_unterminated_quotes_do_not_hang_or_raise() -> None:
    assert _words("echo 'never closed && rm -rf /") == [["echo", "never closed && rm -rf /"]]
    assert _words('echo "$(unclosed') == [["echo", "$(unclosed"]]


def test_long_scripts_are_bounded() -> None:
    text = "echo x && " * 200_000
    cmds = list(iter_commands(parse_script(text)))
    assert 0 < len(cmds) < 200_000


def test_conda_run_is_peeled_like_a_wrapper() -> None:
    (cmd,) = list(iter_commands(parse_script("micromamba run -n serve --cwd /srv python -m pip install torch")))
    assert cmd.words == ["python", "-m", "pip", "install", "torch"]
    assert cmd.wrappers == ["micromamba run"]
    # `conda install` is the command itself, not a runner.
    assert _words("conda install -y numpy") == [["conda", "install", "-y", "numpy"]]
