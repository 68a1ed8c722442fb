"""Formats without pickles: GGUF templates, Keras configs, ONNX, TensorFlow graphs, safetensors."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.models.gguf_template import template_gadgets
from aisec_ci.scanners.models.onnx_graph import unsafe_location
from aisec_ci.severity import Severity
from tests.scanners.models import model_corpus as mc
from tests.scanners.models.model_scan import rule_ids, scan_bytes, scan_path

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


def test_keras_savedmodel_metadata_lambda_is_found(tmp_path: Path) -> None:
    data = mc.keras_saved_metadata([mc.KERAS2_DENSE, mc.KERAS2_LAMBDA])
    findings = scan_bytes(tmp_path, "my_model/keras_metadata.pb", data)
    assert [(f.rule_id, f.severity) for f in findings] == [("models/keras-lambda-layer", Severity.HIGH)]
    assert "'lambda'" in findings[0].message and "bytecode" in findings[0].message


def test_keras_savedmodel_metadata_foreign_module_and_clean_model(tmp_path: Path) -> None:
    clean = mc.keras_saved_metadata([mc.KERAS2_DENSE])
    assert scan_bytes(tmp_path, "a/keras_metadata.pb", clean) == []
    evil = mc.keras_saved_metadata([mc.KERAS2_DENSE, mc.KERAS_OS])
    findings = scan_bytes(tmp_path, "b/keras_metadata.pb", evil)
    assert rule_ids(findings) == {"models/keras-unsafe-module"}
    assert "os.system" in findings[0].message


def test_keras_savedmodel_metadata_truncated_is_malformed(tmp_path: Path) -> None:
    data = mc.keras_saved_metadata([mc.KERAS2_LAMBDA])
    findings = scan_bytes(tmp_path, "keras_metadata.pb", data[: len(data) - 40])
    # The model-level node before the break is complete: its Lambda layer is still reported.
    assert rule_ids(findings) == {MALFORMED, "models/keras-lambda-layer"}
    assert any("Keras SavedModel metadata" in f.message for f in findings if f.rule_id == MALFORMED)


def test_keras_metadata_inside_a_zipped_savedmodel(tmp_path: Path) -> None:
    data = mc.build_zip(
        [
            mc.Member("export/saved_model.pb", mc.tf_saved_model(["Placeholder"])),
            mc.Member("export/keras_metadata.pb", mc.keras_saved_metadata([mc.KERAS2_LAMBDA]), method=8),
        ]
    )
    findings = scan_bytes(tmp_path, "export.zip", data)
    assert rule_ids(findings) == {"models/keras-lambda-layer"}
    assert findings[0].properties["member"] == "export/keras_metadata.pb"


def test_protobuf_models_inside_archives_are_scanned(tmp_path: Path) -> None:
    data = mc.build_zip(
        [
            mc.Member("export/saved_model.pb", mc.tf_saved_model(["Placeholder", "ReadFile"]), method=8),
            mc.Member("onnx/model.onnx", mc.onnx_model(location="../../etc/shadow")),
            mc.Member("onnx/ok.onnx", mc.onnx_model(location="ok.bin")),
        ]
    )
    findings = scan_bytes(tmp_path, "bundle.zip", data)
    assert {(f.rule_id, f.properties["member"]) for f in findings} == {
        ("models/tf-dangerous-op", "export/saved_model.pb"),
        ("models/onnx-external-data-path", "onnx/model.onnx"),
    }


def test_large_compressed_protobuf_member_is_a_skip_reason_not_a_finding(tmp_path: Path) -> None:
    big = mc.onnx_model(location="../../etc/shadow") + mc.pb(20, b"\x00" * (3 << 20))
    data = mc.build_zip([mc.Member("bundle/model.onnx", big, method=8)])
    with pytest.raises(SkipFile, match="larger than max_inflate_mb"):
        scan_bytes(tmp_path, "bundle.zip", data, options={"max_inflate_mb": 1})
    # Within the limit the same member is inflated and checked.
    assert rule_ids(scan_bytes(tmp_path, "bundle2.zip", data)) == {"models/onnx-external-data-path"}


# --- ONNX ------------------------------------------------------------------------------------


def _onnx_dir(tmp_path: Path, location: str, name: str = "model") -> Path:
    model_dir = tmp_path / name
    model_dir.mkdir()
    (model_dir / "model.onnx").write_bytes(mc.onnx_model(location=location))
    return model_dir / "model.onnx"


def test_external_data_symlink_leaving_the_model_directory(tmp_path: Path) -> None:
    secret = tmp_path / "home" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("not really a key\n")
    model = _onnx_dir(tmp_path, "weights.bin")
    (model.parent / "weights.bin").symlink_to(secret)
    findings = scan_path(model)
    assert [(f.rule_id, f.severity) for f in findings] == [("models/onnx-external-data-path", Severity.HIGH)]
    assert "symlink" in findings[0].message and "weights.bin" in findings[0].message
    assert "not really a key" not in findings[0].message


def test_external_data_through_a_symlinked_directory(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    model = _onnx_dir(tmp_path, "data/w.bin")
    (model.parent / "data").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    findings = scan_path(model)
    assert rule_ids(findings) == {"models/onnx-external-data-path"}
    assert "`data`" in findings[0].message


def test_external_data_symlink_inside_the_model_directory_is_fine(tmp_path: Path) -> None:
    model = _onnx_dir(tmp_path, "weights.bin")
    (model.parent / "shards").mkdir()
    (model.parent / "shards" / "w0.bin").write_bytes(b"\x00" * 8)
    (model.parent / "weights.bin").symlink_to(model.parent / "shards" / "w0.bin")
    assert scan_path(model) == []
    plain = _onnx_dir(tmp_path, "weights.bin", name="plain")
    (plain.parent / "weights.bin").write_bytes(b"\x00" * 8)
    assert scan_path(plain) == []
    assert scan_path(_onnx_dir(tmp_path, "gone.bin", name="missing")) == []


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
