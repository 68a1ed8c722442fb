"""code/trust-remote-code and code/torch-hub-load."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.code.code_support import assert_matches_markers, scan, scan_fixture


def test_trust_remote_code_in_every_shape_is_reported() -> None:
    findings = assert_matches_markers("remote_code_unsafe.py")
    by_line = {f.start_line: f for f in findings}
    # The repository comes through the module constant `MODEL_ID`.
    assert by_line[11].properties["repository"] == "acme-research/long-summariser"
    assert by_line[11].properties["callee"] == "transformers.AutoTokenizer.from_pretrained"
    assert by_line[12].properties["revision_pinned"] is True
    assert "pinned to a commit" in by_line[12].message
    assert "keyword dict" in by_line[17].message
    assert by_line[21].properties == {
        "call": "torch.hub.load",
        "trust_repo": True,
        "repository": "ultralytics/yolov5",
    }


def test_remote_code_off_is_not_reported() -> None:
    assert scan_fixture("remote_code_safe.py") == []


def test_unresolved_wrapper_with_trust_remote_code_is_still_reported(tmp_path: Path) -> None:
    src = tmp_path / "serve_vllm.py"
    src.write_text("from .engine import build\n\nengine = build(model='acme/moe', trust_remote_code=True)\n")
    (f,) = scan(src)
    assert (f.rule_id, f.start_line, f.properties["call"]) == ("code/trust-remote-code", 3, "build")
