"""A character set (every character distinct) is not a secret, but a random 16-character
key has all-distinct characters one time in seven: only an ordered run, or a longer
set, counts as an alphabet."""

from __future__ import annotations

from aisec_ci.scanners.secrets.false_positives import generic_filter_reason


def test_a_random_sixteen_character_password_with_distinct_characters_is_kept() -> None:
    value = "Zq8vLr2mWx7pKc4T"
    assert len(set(value)) == len(value) == 16
    assert generic_filter_reason(value, f'DB_PASSWORD = "{value}"', "x") is None


def test_character_sets_are_still_alphabets() -> None:
    assert generic_filter_reason("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 'alphabet = "…"', "x") == "alphabet"
    assert generic_filter_reason("BCDFGHJKLMNPQRSTVWXZ", 'consonants = "…"', "x") == "alphabet"
