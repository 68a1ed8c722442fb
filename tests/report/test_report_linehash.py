"""primaryLocationLineHash: codeql-action's published test vectors, and the
properties our engine relies on (per-line lookup, early stop, UTF-16 units)."""

from __future__ import annotations

import random

import pytest

from aisec_ci.report.linehash import line_hash, line_hashes, line_hashes_at
from tests.report.report_builders import FIXTURES

EMPTY = "c129715d7a2bc9a3:1"
GREETINGS = [
    "e9496ae3ebfced30:1",
    "fb7c023a8b9ccb3f:1",
    "ce8ba1a563dcdaca:1",
    "e20e36e16fcb0cc8:1",
    "b3edc88f2938467e:1",
    "c8e28b0b4002a3a0:1",
    EMPTY,
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [EMPTY], id="empty"),
        pytest.param(
            " a\nb\n  \t\tc\n d",
            ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"],
            id="whitespace",
        ),
        pytest.param(" hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n", GREETINGS, id="crlf"),
        pytest.param(" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n", GREETINGS, id="lf"),
        pytest.param(" hello; \t\rworld!!!\r\r\r  \t\tGreetings\r End\r", GREETINGS, id="cr"),
        pytest.param(
            "Lorem ipsum dolor sit amet.\n" * 10,
            [f"a7f2ff13bc495cf2:{n}" for n in range(1, 7)]
            + ["a7f2ff1481e87703:1", "a9cf91f7bbf1862b:1", "55ec222b86bcae53:1", "cc97dc7b1d7d8f7b:1", EMPTY],
            id="repeated-lines",
        ),
        pytest.param(
            "x = 2\nx = 1\nprint(x)\nx = 3\nprint(x)\nx = 4\nprint(x)\n",
            [
                "e54938cc54b302f1:1",
                "bb609acbe9138d60:1",
                "1131fd5871777f34:1",
                "5c482a0f8b35ea28:1",
                "54517377da7028d2:1",
                "2c644846cb18d53e:1",
                "f1b89f20de0d133:1",
                EMPTY,
            ],
            id="short-lines",
        ),
    ],
)
def test_codeql_vectors(text: str, expected: list[str]) -> None:
    assert line_hashes(text) == expected


def test_single_line_lookup_matches_full_list() -> None:
    text = "Lorem ipsum dolor sit amet.\n" * 10
    full = line_hashes(text)
    for n in range(1, len(full) + 1):
        assert line_hash(text, n) == full[n - 1]
    assert line_hash(text, 0) == ""
    assert line_hash(text, len(full) + 1) == ""
    assert line_hash(text, -3) == ""


def test_batched_lookup_on_fixture_file() -> None:
    text = (FIXTURES / "serve.py").read_text(encoding="utf-8")
    full = line_hashes(text)
    # A trailing newline gives code scanning one more (empty) line than splitlines.
    assert len(full) == len(text.splitlines()) + 1
    picked = line_hashes_at(text, [13, 8, 8, 1, 999])
    assert picked == {1: full[0], 8: full[7], 13: full[12], 999: ""}


def test_hash_ignores_indentation_and_line_endings() -> None:
    # Re-indenting or converting CRLF keeps alerts matched across commits.
    assert line_hashes("def f():\n    return 1\n") == line_hashes("def f():\r\n\treturn 1\r\n")
    assert line_hashes("a = 1\n") != line_hashes("a = 2\n")


def test_window_counts_utf16_code_units() -> None:
    # 50 astral characters fill the 100-unit window by themselves, so line 1 does
    # not see line 2; with 49 there is room left and line 2 leaks into line 1.
    full = "\U0001f600" * 50
    assert line_hashes(full + "\nA")[0] == line_hashes(full + "\nB")[0]
    short = "\U0001f600" * 49
    assert line_hashes(short + "\nA")[0] != line_hashes(short + "\nB")[0]


def test_line_covers_first_hundred_characters_across_newlines() -> None:
    long_line = "k" * 100
    assert line_hashes(long_line + "\nx")[0] == line_hashes(long_line + "\ny")[0]
    assert line_hashes("short\nx")[0] != line_hashes("short\ny")[0]


def _awkward_texts() -> list[str]:
    """Texts whose windows repeat, straddle CR/space/LF mixes, astral characters and
    the end of the file: where the batched lookup's shortcuts could go wrong."""
    rng = random.Random(11)
    atoms = ["a", "b", " ", "\t", "\r", "\n", "\r\n", "\r \n", "k" * 40, "\U0001f600", "é", "\uffff", "\x00"]
    texts = ["", "\n", "x", "x\n", "\n\n\n", ("same line\n" * 30) + "tail", ("k" * 120 + "\n") * 5]
    texts += ["".join(rng.choice(atoms) for _ in range(rng.randint(1, 90))) for _ in range(400)]
    return texts


def test_batched_lookup_matches_the_full_pass() -> None:
    rng = random.Random(5)
    for text in _awkward_texts():
        full = line_hashes(text)
        expected = {n: full[n - 1] if 1 <= n <= len(full) else "" for n in range(-1, len(full) + 3)}
        assert line_hashes_at(text, expected) == expected, repr(text)
        some = rng.sample(sorted(expected), min(3, len(expected)))
        assert line_hashes_at(text, some) == {n: expected[n] for n in some}, repr(text)


def test_repeated_line_counter_counts_only_lines_up_to_it() -> None:
    # Lines of 100 characters fill their windows by themselves, so equal lines hash alike.
    text = ("x" * 100 + "\n" + "y" * 100 + "\n") * 3
    full = line_hashes(text)
    assert [h.split(":")[1] for h in full[:6]] == ["1", "1", "2", "2", "3", "3"]
    assert line_hashes_at(text, [5]) == {5: full[4]}
    assert line_hashes_at(text, [6, 3, 1]) == {1: full[0], 3: full[2], 6: full[5]}
