"""The raw-text shortcut for notebooks: skipping the JSON walk must never lose a finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec_ci.scanners.secrets import notebooks
from aisec_ci.scanners.secrets.scanner import prefilter
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.secrets.conftest import FIXTURES
from tests.scanners.secrets.secret_tokens import render, scan_path


def _split_strings(nb: dict, width: int) -> dict:  # type: ignore[type-arg]
    """Every source line cut into `width`-character list items, as odd writers do."""
    for cell in nb["cells"]:
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        cell["source"] = [src[i : i + width] for i in range(0, len(src), width)]
    return nb


def _variants(base: str) -> dict[str, str]:
    nb = json.loads(base)
    return {
        "as written": base,
        "one line": json.dumps(nb),
        "split every 3 chars": json.dumps(_split_strings(json.loads(base), 3), indent=1),
        "split every 7 chars": json.dumps(_split_strings(json.loads(base), 7)),
        "escaped slashes": json.dumps(nb, indent=1).replace("/", "\\/"),
        # Legal JSON that spells provider prefixes with \u escapes.
        "unicode escapes": json.dumps(nb).replace("sk-", "\\u0073k-").replace("hf_", "h\\u0066_"),
    }


def _found(path: Path) -> set[tuple[str, int, object, object]]:
    return {
        (f.rule_id, f.start_line, f.properties.get("cell"), f.properties.get("region"))
        for f in scan_path(path, FileKind.NOTEBOOK)
    }


@pytest.mark.parametrize(
    "variant",
    ["as written", "one line", "split every 3 chars", "split every 7 chars", "escaped slashes", "unicode escapes"],
)
def test_shortcut_finds_what_the_full_walk_finds(
    tmp_path: Path, tokens: dict[str, str], variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = render(FIXTURES / "positive" / "notebook.ipynb.tmpl", tmp_path / "t.ipynb", tokens).read_text()
    p = tmp_path / "v.ipynb"
    p.write_text(_variants(base)[variant])
    fast = _found(p)
    monkeypatch.setattr(notebooks, "may_hold_secrets", lambda *_a: True)
    slow = _found(p)
    assert len(slow) >= 4, slow  # the variant still holds the fixture's secrets
    assert fast == slow


def test_token_split_over_list_items_is_a_candidate(tokens: dict[str, str]) -> None:
    pf = prefilter(True)
    token = tokens["GITHUB"]
    cut = {"cells": [{"cell_type": "code", "source": ["GH = '" + token[:2], token[2:] + "'\n"]}]}
    assert notebooks.may_hold_secrets(json.dumps(cut), pf, True)
    assert notebooks.may_hold_secrets(json.dumps(cut, indent=2), pf, False)


def test_escaped_quotes_feed_the_entropy_prefilter(tokens: dict[str, str]) -> None:
    # `x = "<high entropy>"` in a cell is stored as `\"…\"`: the entropy check must still see quotes.
    value = tokens["AWS_SECRET"]
    nb = {"cells": [{"cell_type": "code", "source": [f'x = "{value}"\n']}]}
    assert notebooks.may_hold_secrets(json.dumps(nb), prefilter(True), True)
    # Without the generic checks, nothing provider-shaped is there.
    assert not notebooks.may_hold_secrets(json.dumps(nb), prefilter(False), False)


def test_plain_notebook_takes_the_shortcut() -> None:
    cell: dict[str, object] = {"cell_type": "code", "source": ["import numpy as np\n", "print(np.arange(3))\n"]}
    nb = {
        "cells": [cell],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    assert not notebooks.may_hold_secrets(json.dumps(nb, indent=1), prefilter(True), True)
    # ANSI colour codes are stored as \u001b: such notebooks always get the full walk.
    cell["outputs"] = [{"output_type": "error", "traceback": ["\x1b[0;31mValueError\x1b[0m"]}]
    assert notebooks.may_hold_secrets(json.dumps(nb), prefilter(True), True)


def _one_secret_notebook(line: str, where: str) -> dict:  # type: ignore[type-arg]
    cell: dict = {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["import os\n", "x = 1\n"]}  # type: ignore[type-arg]
    nb: dict = {"cells": [cell], "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}  # type: ignore[type-arg]
    if where == "source":
        cell["source"].append(line + "\n")
    elif where == "source split":
        cell["source"].extend(line[i : i + 4] for i in range(0, len(line), 4))
    elif where == "stream output":
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [line + "\n"]}]
    else:
        nb["metadata"]["env"] = {"note": line}
    return nb


@pytest.mark.parametrize("where", ["source", "source split", "stream output", "metadata"])
def test_each_secret_alone_survives_the_shortcut(
    tmp_path: Path, tokens: dict[str, str], where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One secret per notebook, so the shortcut cannot pass on the strength of another one."""
    names = [n for n in tokens if n not in {"PEM", "PEM_BODY_ESCAPED", "IMAGE_B64"}]
    paths = []
    for name in names:
        p = tmp_path / f"{name.lower()}.ipynb"
        line = f'{name.lower()}_api_key = "{tokens[name]}"'
        p.write_text(json.dumps(_one_secret_notebook(line, where), indent=1))
        paths.append(p)
    fast = [_found(p) for p in paths]
    monkeypatch.setattr(notebooks, "may_hold_secrets", lambda *_a: True)
    slow = [_found(p) for p in paths]
    assert sum(1 for s in slow if s) >= len(names) - 2  # nearly every token is found by the full walk
    assert fast == slow
