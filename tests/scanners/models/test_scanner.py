"""The scanner seam: registration, file selection, options, and a run through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from aisec_ci.scanners import registry
from aisec_ci.scanners.base import ScanContext, SkipFile
from aisec_ci.scanners.models import SCANNER
from aisec_ci.workspace.files import SourceFile
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.models import model_corpus as mc
from tests.scanners.models.model_scan import scan_path

CLI = (sys.executable, "-m", "aisec_ci", "scan")
RULES = {
    "models/pickle-code-execution": "critical",
    "models/pickle-unknown-import": "medium",
    "models/malformed-model": "medium",
    "models/unscannable-container": "high",
    "models/pickle-format": "info",
    "models/gguf-template-injection": "critical",
    "models/keras-lambda-layer": "high",
    "models/keras-unsafe-module": "critical",
    "models/keras-custom-object": "medium",
    "models/onnx-external-data-path": "high",
    "models/onnx-custom-op": "medium",
    "models/tf-dangerous-op": "high",
}


def test_registered_with_its_rules() -> None:
    assert registry.all_scanners()["models"] is SCANNER
    catalog = registry.catalog()
    for rule_id, severity in RULES.items():
        rule = catalog.get(rule_id)
        assert rule is not None and rule.severity.label == severity
        assert rule.what and rule.why and rule.fix and rule.example and any(t.startswith("CWE-") for t in rule.tags)
    assert {r.id for r in SCANNER.rules} == set(RULES)


@pytest.mark.parametrize(
    ("path", "kind", "wanted"),
    [
        ("model.pt", FileKind.MODEL, True),
        ("weights.dat", FileKind.BINARY, True),
        ("model.pkl", FileKind.TEXT, True),  # protocol 0 pickles are text
        ("README.md", FileKind.TEXT, False),
        ("train.py", FileKind.PYTHON, False),
    ],
)
def test_wants_models_binaries_and_pickle_names(path: str, kind: FileKind, wanted: bool) -> None:
    scanner = SCANNER(ScanContext(root=Path(".")))
    assert scanner.wants(SourceFile(path=path, abspath=Path(path), kind=kind, size=1)) is wanted


def test_options_schema_accepts_documented_keys_and_rejects_others() -> None:
    validator = jsonschema.Draft202012Validator(SCANNER.options_schema)
    validator.validate({"allowed_globals": ["mypkg.Model"], "denied_globals": ["mypkg.*"], "max_archive_depth": 3})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"allow": ["x"]})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"allowed_globals": ["not a name"]})


def test_allowed_globals_option_silences_an_own_class(tmp_path: Path) -> None:
    path = tmp_path / "own.pkl"
    path.write_bytes(mc.proto(4) + mc.sglob("mypkg.models", "Net") + mc.EMPTY_TUPLE + mc.NEWOBJ + mc.STOP)
    assert "models/pickle-unknown-import" in {f.rule_id for f in scan_path(path)}
    assert {f.rule_id for f in scan_path(path, options={"allowed_globals": ["mypkg.models.Net"]})} == {
        "models/pickle-format"
    }


def test_unreadable_file_is_skipped_with_a_reason(tmp_path: Path) -> None:
    scanner = SCANNER(ScanContext(root=tmp_path))
    missing = SourceFile(path="gone.pt", abspath=tmp_path / "gone.pt", kind=FileKind.MODEL, size=10)
    with pytest.raises(SkipFile, match="cannot read"):
        list(scanner.scan_file(missing))


def test_cli_scan_of_a_repository_with_models(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    files = {
        "models/classifier.pt": mc.torch_zip(mc.p_os_system(2)),
        "models/clean.pt": mc.torch_zip(mc.torch_state_dict_pickle()),
        "models/pipeline.joblib": mc.joblib_file(2),
        "models/weights.safetensors": mc.safetensors_file(),
        "checkpoints/old.bin": mc.torch_legacy(mc.torch_state_dict_pickle()),
        "data/embeddings.npy": mc.npy("|O", (1,), mc.p_os_system(3)),
    }
    for rel, data in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(data)
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [*CLI, str(repo), "--scanners", "models", "--format", "json", "--output", str(out), "--fail-on", "high"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    critical = sorted(
        (f["path"], f["properties"].get("member")) for f in report["findings"] if f["severity"] == "critical"
    )
    assert critical == [("data/embeddings.npy", ""), ("models/classifier.pt", "archive/data.pkl")]
    medium_or_more = [f for f in report["findings"] if f["severity"] not in ("info", "critical")]
    assert medium_or_more == []
    assert all(f["start_line"] == 1 and f["fingerprint"] for f in report["findings"])


EXAMPLE_MODELS = Path(__file__).resolve().parents[3] / "examples" / "vulnerable-ai-app" / "models"


@pytest.mark.skipif(not EXAMPLE_MODELS.is_dir(), reason="example app not present")
def test_example_app_models_are_the_generated_ones_and_are_found() -> None:
    expected = {
        "classifier.pt": {"models/pickle-code-execution", "models/pickle-format"},
        "pipeline.joblib": {"models/pickle-code-execution", "models/pickle-format"},
        "weights.safetensors": set(),
    }
    for name, blob in mc.example_models().items():
        path = EXAMPLE_MODELS / name
        assert path.read_bytes() == blob, f"{name} differs from model_corpus.example_models(): regenerate it"
        findings = scan_path(path, rel=f"models/{name}")
        assert {f.rule_id for f in findings} == expected[name], name
        for f in findings:
            if f.rule_id == "models/pickle-code-execution":
                assert "os.system" in f.message and mc.EXAMPLE_COMMAND in f.message
