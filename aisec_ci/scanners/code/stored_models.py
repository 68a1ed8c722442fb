"""Pickle files a module writes and reads back itself, and a model server's load hook.

A pickle load runs code for whoever controls what is loaded. Bytes that arrive from elsewhere (a
request body, a queue, a runner's payload) are in an attacker's reach: high, in the default profile.
A file is as safe as the hands that can write it, and two shapes on real ML code are the product
working as designed rather than a defect the call's author can fix:

1. own format: the module saves objects with a pickle-family `dump` and restores them with the
   matching `load` (BentoML's framework integrations save a user's model into the model store and
   load it back);
2. load hook: a model server's `load`/`load_model` reads the model file its deployer configured
   (KServe's scikit-learn server).

Both stay reported, as medium in the strict profile, with a message naming what protects them:
write access to the store, and the provenance of the model file (which the models scanner judges).
A file whose name or handle is traced to a request, an upload or a download keeps the high finding.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from aisec_ci.findings import Finding
from aisec_ci.scanners.code.calls import CallSite
from aisec_ci.severity import Severity

STORED_FILE = "_stored_file"
"""Set by the pickle check on loads of a file not traced to outside input; value: the loader's
family. Only this module reads it, and it removes it."""

_FAMILIES = {
    "pickle": "pickle",
    "cPickle": "pickle",
    "_pickle": "pickle",
    "pickle5": "pickle",
    "cloudpickle": "cloudpickle",
    "dill": "dill",
    "joblib": "joblib",
    "sklearn.externals.joblib": "joblib",
    "pandas": "pandas",
    "pandas.io.pickle": "pandas",
}
# Loaders that take an open file; joblib.load and pandas.read_pickle also take a path.
_FILE_HANDLE_LOADERS = frozenset({"load", "Unpickler"})
_PATH_LOADERS = frozenset({"joblib.load", "sklearn.externals.joblib.load", "pandas.read_pickle"})
# Words in a file's name expression that say it came from outside the process's own storage.
_OUTSIDE_WORDS = frozenset(
    {
        "request",
        "req",
        "upload",
        "uploaded",
        "uploads",
        "form",
        "body",
        "payload",
        "url",
        "download",
        "downloaded",
        "recv",
        "socket",
        "stdin",
        "argv",
        "message",
        "untrusted",
        "user",
    }
)
_LOAD_HOOKS = frozenset({"load", "load_model", "load_models", "load_pipeline", "load_checkpoint"})
_TRACE_NODES = 400
_TRACE_DEPTH = 4


def pickle_family(name: str) -> str:
    module = name.rpartition(".")[0]
    return _FAMILIES.get(module, module)


def dump_family(name: str) -> str | None:
    """The family a call writes files in: `cloudpickle.dump`, `joblib.dump`, `df.to_pickle`."""
    module, _, func = name.rpartition(".")
    if func == "dump" and module in _FAMILIES:
        return _FAMILIES[module]
    if func == "to_pickle":
        return "pandas"
    return None


def stored_file_read(site: CallSite, data: ast.expr | None) -> bool:
    """Does this pickle-family call read a file (not bytes) whose name and handle nothing ties to
    a request, an upload or a download?"""
    if data is None:
        return False
    by_path = site.name in _PATH_LOADERS
    if not by_path and site.last not in _FILE_HANDLE_LOADERS:
        return False  # `loads`, `jsonpickle.decode`, `shelve.open`: bytes or a database
    traced = _traced(site, data)
    if any(word in _OUTSIDE_WORDS for word in _words(traced)):
        return False
    return by_path or any(_is_open_call(site, node) for node in traced)


def _traced(site: CallSite, data: ast.expr) -> list[ast.expr]:
    """`data` and what the names in it were bound from, a few assignments back (bounded)."""
    out: list[ast.expr] = []
    seen: set[str] = set()
    todo: list[tuple[ast.expr, int]] = [(data, 0)]
    budget = _TRACE_NODES
    while todo and budget > 0:
        node, depth = todo.pop()
        out.append(node)
        for sub in ast.walk(node):
            budget -= 1
            if budget <= 0:
                break
            if isinstance(sub, ast.Name) and sub.id not in seen and depth < _TRACE_DEPTH:
                seen.add(sub.id)
                todo.extend((value, depth + 1) for value in site.symbols.values.get(sub.id, []))
    return out


def _words(nodes: Sequence[ast.expr]) -> set[str]:
    words: set[str] = set()
    for node in nodes:
        for sub in ast.walk(node):
            name = sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute) else None
            if name:
                words.update(w for w in name.lower().split("_") if w)
    return words


def _is_open_call(site: CallSite, node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    qualified = site.symbols.qualify(node.func) or ""
    return qualified.rsplit(".", 1)[-1] == "open"


def settle(found: list[Finding], reads: Sequence[tuple[int, str]], dumped: set[str]) -> None:
    """Lower, in place, the stored-file loads (`reads`: index into `found`, enclosing function)
    that are the module's own format or a load hook; drop the marker from all of them."""
    for index, function in reads:
        f = found[index]
        properties = dict(f.properties)
        family = str(properties.pop(STORED_FILE, ""))
        if family in dumped:
            shape = "own-format"
            why = (
                f"reads back a file this module writes with `{family}.dump`: code runs only if someone else "
                "can write the stored file; keep the store writable by this service alone, or save in a "
                "format without code (safetensors, skops, ONNX)"
            )
        elif function.lstrip("_") in _LOAD_HOOKS:
            shape = "load-hook"
            why = (
                f"loads the model file its deployer configured (in `{function}`): code runs if the model is "
                "malicious; serve only models from a trusted store, scan them with the models scanner, or "
                "prefer a format without code (skops, ONNX)"
            )
        else:
            found[index] = f.evolve(properties=properties)
            continue
        loader = properties.get("loader", "the pickle load")
        found[index] = f.evolve(
            severity=Severity.MEDIUM,
            profile="strict",
            message=f"`{loader}` {why}",
            properties={**properties, "stored_file": shape},
        )
