"""Name resolution: imports, aliases, instances and model-output tracking."""

from __future__ import annotations

import ast

import pytest

from aisec_ci.scanners.code.symbols import Symbols


def _bound(source: str) -> Symbols:
    symbols = Symbols()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            symbols.bind_import(node)
        elif isinstance(node, ast.Assign):
            symbols.bind_assignment(node.targets, node.value)
        elif isinstance(node, ast.FunctionDef):
            symbols.bind_definition(node.name)
    return symbols


def _qualify(symbols: Symbols, expr: str) -> str | None:
    return symbols.qualify(ast.parse(expr, mode="eval").body)


@pytest.mark.parametrize(
    ("source", "expr", "qualified"),
    [
        ("import torch as T", "T.load", "torch.load"),
        ("from torch import load", "load", "torch.load"),
        ("from pickle import loads as l", "l", "pickle.loads"),
        ("import os.path", "os.path.join", "os.path.join"),
        ("import xml.etree.ElementTree as ET", "ET.parse", "xml.etree.ElementTree.parse"),
        ("import gradio as gr\ndemo = gr.Blocks()", "demo.queue().launch", "gradio.Blocks().queue().launch"),
        ("import torch\nload = torch.load", "load", "torch.load"),
        ("from .models import load", "load", "load"),
        ("from pickle import load\ndef load(p): pass", "load", "load"),
        ("", "eval", "builtins.eval"),
        ("def eval(x): pass", "eval", "eval"),
        ("import yaml", "cfg['a'].load", "cfg[].load"),
        ("import yaml", "(lambda: 1)()", None),
    ],
)
def test_qualified_names(source: str, expr: str, qualified: str | None) -> None:
    assert _qualify(_bound(source), expr) == qualified


def test_model_output_follows_assignments_and_rebinding_with_the_old_value() -> None:
    symbols = _bound(
        "from openai import OpenAI\n"
        "client = OpenAI()\n"
        "r = client.chat.completions.create(model='m', messages=[])\n"
        "text = r.choices[0].message.content\n"
        "text = text.strip()\n"
        "clean = 'print(1)'\n"
    )
    assert symbols.model_output_source(ast.parse("text", mode="eval").body) == "text"
    assert symbols.model_output_source(ast.parse("clean", mode="eval").body) is None
    assert symbols.is_literal(ast.parse("clean", mode="eval").body)


def test_rebinding_without_the_old_value_clears_model_output() -> None:
    symbols = _bound("reply = llm.invoke(q)\nreply = cfg['expr']\n")
    assert symbols.model_output_source(ast.parse("reply", mode="eval").body) is None


def test_self_referencing_values_do_not_loop() -> None:
    symbols = _bound("a = b\nb = a\na = a + b\n")
    assert symbols.model_output_source(ast.parse("a", mode="eval").body) is None


def test_long_assignment_chains_are_bounded_not_recursed_to_death() -> None:
    source = "x0 = llm.invoke(q)\n" + "".join(f"x{i} = x{i - 1} + 'a'\n" for i in range(1, 3000))
    symbols = _bound(source)
    assert symbols.model_output_source(ast.parse("x2999", mode="eval").body) is None
    assert symbols.model_output_source(ast.parse("x10", mode="eval").body) == "x10"
