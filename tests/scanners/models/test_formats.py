"""Formats without pickles: GGUF templates, Keras configs, ONNX, TensorFlow graphs, safetensors."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import model_corpus as mc
from model_scan import rule_ids, scan_bytes

from aisec_ci.scanners.models.gguf_template import template_gadgets
from aisec_ci.scanners.models.onnx_graph import unsafe_location
from aisec_ci.severity import Severity

MALFORMED = "models/malformed-model"


# --- GGUF ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "gadgets"),
    [
        (mc.SAFE_TEMPLATE, []),
        ("{{ messages[0]['content'] | trim }}{{ bos_token }}", []),
        ("{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}", None),
        ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", ["__globals__", "__init__", "popen", "os module"]),
        ("{{ lipsum['__globals__']['os'].system('id') }}", ["__globals__", "os module"]),
    ],
)
def test_template_gadgets(template: str, gadgets: list[str] | None) -> None:
    found = template_gadgets(template)
    if gadgets is None:
        assert {"__init__", "__globals__", "__builtins__", "__import__", "popen"} <= set(found)
    else:
        assert found == gadgets


def test_gguf_finding_names_the_template_key(tmp_path: Path) -> None:
    (finding,) = scan_bytes(tmp_path, "model.gguf", mc.gguf_file(mc.SSTI_TEMPLATE))
    assert finding.rule_id == "models/gguf-template-injection" and finding.severity is Severity.CRITICAL
    assert finding.key == "models/gguf-template-injection||template:tokenizer.chat_template"
    assert finding.properties["format"] == "gguf"


@pytest.mark.parametrize(
    "data",
    [
        b"GGUF\x01\x00\x00\x00" + b"\x00" * 16,  # version 1
        mc.gguf_file(mc.SSTI_TEMPLATE)[:60],  # truncated inside the KV store
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 40),  # absurd key length
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<IIQ", 9, 0, 1 << 60),
    ],
)
def test_broken_gguf_headers_are_malformed_not_crashes(tmp_path: Path, data: bytes) -> None:
    assert rule_ids(scan_bytes(tmp_path, "bad.gguf", data)) == {MALFORMED}


# --- Keras -----------------------------------------------------------------------------------


def test_custom_module_is_medium_and_keras2_lambda_bytecode_is_high(tmp_path: Path) -> None:
    custom = {"module": "my_layers", "class_name": "Attention", "config": {"name": "att"}}
    keras2_lambda = {"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAAAA", None, None]}}
    findings = scan_bytes(tmp_path, "m.keras", mc.keras_file([mc.DENSE, custom, keras2_lambda]))
    by_rule = {f.rule_id: f for f in findings}
    assert by_rule["models/keras-custom-object"].severity is Severity.MEDIUM
    assert "my_layers.Attention" in by_rule["models/keras-custom-object"].message
    assert "bytecode" in by_rule["models/keras-lambda-layer"].message
    assert by_rule["models/keras-lambda-layer"].properties["member"] == "config.json"


def test_keras_allowed_globals_option_applies_to_configs(tmp_path: Path) -> None:
    custom = {"module": "my_layers", "class_name": "Attention", "config": {"name": "att"}}
    findings = scan_bytes(
        tmp_path, "m.keras", mc.keras_file([custom]), options={"allowed_globals": ["my_layers.Attention"]}
    )
    assert findings == []


def test_unreadable_keras_config_is_malformed(tmp_path: Path) -> None:
    data = mc.build_zip([mc.Member("metadata.json", b"{}"), mc.Member("config.json", b"{not json")])
    assert rule_ids(scan_bytes(tmp_path, "m.keras", data)) == {MALFORMED}


def test_deeply_nested_keras_config_does_not_recurse(tmp_path: Path) -> None:
    deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    data = mc.build_zip([mc.Member("metadata.json", b"{}"), mc.Member("config.json", deep, method=8)])
    findings = scan_bytes(tmp_path, "deep.keras", data)
    assert rule_ids(findings) == {MALFORMED}


def test_h5_lambda_found_in_model_config_attribute(tmp_path: Path) -> None:
    keras2 = json.dumps({"class_name": "Sequential", "config": {"layers": [mc.KERAS_LAMBDA]}}).encode()
    data = b"\x89HDF\r\n\x1a\n" + b"\x00" * 512 + keras2 + b"\x00" * 16
    assert rule_ids(scan_bytes(tmp_path, "m.h5", data)) == {"models/keras-lambda-layer"}


# --- ONNX ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "unsafe"),
    [
        ("weights.bin", False),
        ("data/weights.bin", False),
        ("..data", False),
        ("../weights.bin", True),
        ("a/../../b", True),
        ("/etc/passwd", True),
        ("C:\\Windows\\win.ini", True),
        ("..\\..\\secret", True),
        ("~/.aws/credentials", True),
    ],
)
def test_unsafe_locations(location: str, unsafe: bool) -> None:
    assert bool(unsafe_location(location)) is unsafe


def test_custom_operator_domain_is_reported(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "m.onnx", mc.onnx_model(domain="com.evil.ops"))
    assert [(f.rule_id, f.severity) for f in findings] == [("models/onnx-custom-op", Severity.MEDIUM)]
    assert "com.evil.ops" in findings[0].message


def test_model_local_function_domains_are_not_custom_ops(tmp_path: Path) -> None:
    function = mc.pb(1, "f") + mc.pb(10, "local.fns") + mc.pb(7, mc.pb(4, "Relu"))
    data = mc.onnx_model(domain="local.fns") + mc.pb(25, function)
    assert scan_bytes(tmp_path, "m.onnx", data) == []


def test_traversal_in_a_subgraph_initializer_is_found(tmp_path: Path) -> None:
    tensor = mc.pb(8, "w") + mc.pb(13, mc.pb(1, "location") + mc.pb(2, "../../x"))
    if_node = mc.pb(4, "If") + mc.pb(5, mc.pb(1, "then_branch") + mc.pb(6, mc.pb(5, tensor)))
    data = mc.pb(1, 8) + mc.pb(7, mc.pb(1, if_node))
    assert rule_ids(scan_bytes(tmp_path, "m.onnx", data)) == {"models/onnx-external-data-path"}


def test_truncated_onnx_is_malformed(tmp_path: Path) -> None:
    data = mc.onnx_model(raw_weights=1000)
    assert rule_ids(scan_bytes(tmp_path, "m.onnx", data[: len(data) // 2])) == {MALFORMED}


# --- TensorFlow ------------------------------------------------------------------------------


def test_ops_in_the_function_library_and_bare_graphdefs(tmp_path: Path) -> None:
    library = mc.pb(2, mc.pb(1, mc.pb(1, mc.pb(1, "fn")) + mc.pb(3, mc.pb(1, "w") + mc.pb(2, "WriteFile"))))
    saved = mc.pb(1, 1) + mc.pb(2, mc.pb(2, mc.pb(1, mc.pb(1, "a") + mc.pb(2, "Const")) + library))
    assert rule_ids(scan_bytes(tmp_path, "saved_model.pb", saved)) == {"models/tf-dangerous-op"}
    frozen = mc.pb(1, mc.pb(1, "cb") + mc.pb(2, "EagerPyFunc")) + mc.pb(1, mc.pb(1, "c") + mc.pb(2, "Const"))
    (finding,) = scan_bytes(tmp_path, "frozen.pb", frozen)
    assert "EagerPyFunc" in finding.message and "'cb'" in finding.message


# --- safetensors -----------------------------------------------------------------------------


def test_safetensors_offsets_are_validated(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "bad.safetensors", mc.safetensors_bad_offsets())
    messages = " ".join(f.message for f in findings)
    assert rule_ids(findings) == {MALFORMED}
    assert "overlaps" in messages
    assert scan_bytes(tmp_path, "ok.safetensors", mc.safetensors_file()) == []


def test_safetensors_header_larger_than_the_file(tmp_path: Path) -> None:
    data = struct.pack("<Q", 1 << 20) + b'{"a": 1}'
    findings = scan_bytes(tmp_path, "short.safetensors", data)
    assert rule_ids(findings) <= {MALFORMED}
