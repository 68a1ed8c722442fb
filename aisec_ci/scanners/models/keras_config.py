"""Keras model configs: Lambda layers and objects from modules outside Keras.

A `.keras` file is a zip whose `config.json` names every layer's module and
class; legacy `.h5` files keep the same JSON in the root group's
`model_config` attribute, and Keras 2 SavedModels keep one JSON document per
layer and model in `keras_metadata.pb`. Deserialising either imports those modules and,
for Lambda layers, runs marshalled bytecode. The JSON is read without
TensorFlow, Keras or h5py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aisec_ci.rules import Rule
from aisec_ci.scanners.models.pickle_policy import Policy, Verdict
from aisec_ci.scanners.models.protobuf_wire import fields
from aisec_ci.scanners.models.stream import Blob
from aisec_ci.severity import Severity

KERAS_LAMBDA_LAYER = Rule(
    id="models/keras-lambda-layer",
    name="Keras model contains a Lambda layer",
    short_description="A Keras model config holds a Lambda layer, which runs serialized Python code when loaded.",
    severity=Severity.HIGH,
    what=(
        "Finds `Lambda` layers in `.keras` `config.json`, HDF5 `model_config` and Keras 2 SavedModel "
        "`keras_metadata.pb`, and notes whether the function is marshalled bytecode (`__lambda__`)."
    ),
    why=(
        "A Lambda layer's function is Python bytecode or a reference to any importable function; loading the "
        "model executes it (CVE-2024-3660), and `safe_mode` has been bypassed (CVE-2025-1550)."
    ),
    example=(
        '{"class_name": "Lambda", "config": {"function": {"class_name": "__lambda__", '
        '"config": {"code": "4wEAAAAAAA..."}}}}'
    ),
    fix="Replace the Lambda layer with a registered custom layer class, or load weights only into code you control.",
    tags=("CWE-502", "CWE-94"),
    precision="high",
    references=("https://www.kb.cert.org/vuls/id/253266",),
)

KERAS_UNSAFE_MODULE = Rule(
    id="models/keras-unsafe-module",
    name="Keras config references a dangerous module",
    short_description="A Keras model config deserialises an object from a module that executes code.",
    severity=Severity.CRITICAL,
    what=(
        "Checks the `module`/`class_name`/`config` triples in Keras configs against the same deny-list as "
        "pickle imports (os, subprocess, builtins eval/exec, importlib, ...)."
    ),
    why="Keras imports the named module and calls the named function while loading the model (CVE-2025-1550).",
    example='{"module": "os", "class_name": "function", "config": "system"}',
    fix="Do not load the model; obtain it from a trusted source.",
    tags=("CWE-502", "CWE-94"),
    precision="high",
)

KERAS_CUSTOM_OBJECT = Rule(
    id="models/keras-custom-object",
    name="Keras config imports a module outside Keras",
    short_description="A Keras model config deserialises an object from a module outside keras/tensorflow.",
    severity=Severity.MEDIUM,
    what="Reports `module` values in Keras configs outside `keras`, `tf_keras` and `tensorflow`.",
    why="Loading imports that module and constructs the object, running its code; unknown modules are unvetted.",
    example='{"module": "my_layers", "class_name": "Attention", "registered_name": "my_layers>Attention"}',
    fix="Make sure the module is your own code, pinned and reviewed, or allow-list it in `models.allowed_globals`.",
    tags=("CWE-502",),
    precision="medium",
)

KERAS_MODULES = ("keras", "tf_keras", "tensorflow", "keras_nlp", "keras_hub", "keras_cv")
MAX_CONFIG = 32 << 20
MAX_NODES = 2_000_000
H5_SEARCH = 64 << 20


@dataclass
class KerasIssue:
    rule: Rule
    subject: str
    message: str


def config_issues(config: Any, policy: Policy) -> Iterator[KerasIssue]:
    seen: set[str] = set()
    for node, path in _walk(config):
        cls = node.get("class_name")
        if cls == "Lambda":
            name = _layer_name(node, path)
            func = _dig(node, "config", "function")
            # Keras 3 wraps bytecode as {"class_name": "__lambda__"}; Keras 2 as [code, defaults, closure].
            bytecode = (isinstance(func, dict) and func.get("class_name") == "__lambda__") or isinstance(func, list)
            kind = "marshalled Python bytecode" if bytecode else "a function reference"
            subject = f"lambda:{name}"
            if subject not in seen:
                seen.add(subject)
                yield KerasIssue(KERAS_LAMBDA_LAYER, subject, f"Lambda layer {name!r} holds {kind}")
        module = node.get("module")
        if isinstance(module, str) and module and not _is_keras(module):
            target = node.get("config") if isinstance(node.get("config"), str) else cls
            target_name = target if isinstance(target, str) else ""
            verdict, reason = policy.classify(module, target_name or "?")
            full = f"{module}.{target_name}" if target_name else module
            if verdict is Verdict.DENY:
                rule, message = KERAS_UNSAFE_MODULE, f"config deserialises {full}, which {reason}"
            elif verdict is Verdict.UNKNOWN:
                rule, message = KERAS_CUSTOM_OBJECT, f"config imports {full} from outside Keras"
            else:
                continue
            subject = f"module:{full}"
            if subject not in seen:
                seen.add(subject)
                yield KerasIssue(rule, subject, message)


def _is_keras(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in KERAS_MODULES)


def _layer_name(node: dict[str, Any], path: str) -> str:
    name = _dig(node, "config", "name")
    return name if isinstance(name, str) else path


def _dig(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _walk(root: Any) -> Iterator[tuple[dict[str, Any], str]]:
    stack: list[tuple[Any, str]] = [(root, "$")]
    visited = 0
    while stack and visited < MAX_NODES:
        node, path = stack.pop()
        visited += 1
        if isinstance(node, dict):
            yield node, path
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    stack.append((value, f"{path}.{key}"))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    stack.append((value, f"{path}[{i}]"))


def parse_config(raw: bytes) -> Any:
    if len(raw) > MAX_CONFIG:
        raise ValueError(f"config larger than {MAX_CONFIG} bytes")
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("config nested too deeply") from None


def h5_model_configs(blob: Blob) -> Iterator[Any]:
    """JSON model configs stored as HDF5 string attributes, found by their text.

    HDF5 keeps small attributes inline in the root group's object header, near
    the start of the file, so only the first `H5_SEARCH` bytes are searched.
    """
    data = blob.read_at(0, H5_SEARCH)
    decoder = json.JSONDecoder()
    pos = 0
    found = 0
    while found < 16:
        # Keras 2 writes {"class_name": ...}; Keras 3 puts "module" first.
        hits = [p for p in (data.find(b'{"class_name"', pos), data.find(b'{"module"', pos)) if p != -1]
        if not hits:
            return
        pos = min(hits)
        end = data.find(b"\x00", pos)
        chunk = data[pos : end if end != -1 else len(data)]
        try:
            value, used = decoder.raw_decode(chunk.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            pos += 1
            continue
        found += 1
        yield value
        pos += max(used, 1)


KERAS_METADATA_NAME = "keras_metadata.pb"
MAX_METADATA_FIELDS = 2_000_000


def saved_metadata_configs(blob: Blob) -> Iterator[Any]:
    """The JSON documents of a Keras SavedModel's `keras_metadata.pb`.

    The file is a `SavedMetadata` message: repeated `SavedObject nodes = 1`,
    each holding its layer's or model's config as JSON text in field 5
    (`metadata`). tf.keras deserialises these configs when the SavedModel is
    loaded with `tf.keras.models.load_model`, so Lambda layers and foreign
    modules in them matter exactly as in `config.json`.
    """
    budget = [MAX_METADATA_FIELDS]
    for node in fields(blob, 0, blob.size(), budget):
        if node.number != 1 or node.wire_type != 2:
            continue
        for f in fields(blob, node.offset, node.offset + node.value, budget):
            if f.number == 5 and f.wire_type == 2 and 0 < f.value <= MAX_CONFIG:
                raw = blob.read_at(f.offset, f.value)
                if raw.lstrip()[:1] != b"{":
                    continue
                try:
                    yield parse_config(raw)
                except ValueError:
                    # One unreadable document must not hide the others; the model-level
                    # node repeats every layer's config anyway.
                    continue
