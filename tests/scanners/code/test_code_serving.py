"""code/gradio-public-without-auth, code/flask-debug, code/asgi-debug."""

from __future__ import annotations

from tests.scanners.code.code_support import FIXTURES, assert_matches_markers, scan, scan_fixture


def test_public_demos_and_debug_servers_are_reported() -> None:
    findings = assert_matches_markers("serving_unsafe.py")
    gradio = [f for f in findings if f.rule_id == "code/gradio-public-without-auth"]
    # `with gr.Blocks() as demo` and `demo.queue().launch` still resolve to Gradio.
    assert gradio[0].properties["call"] == "gradio.Blocks().queue().launch"


def test_authenticated_and_local_servers_are_not_reported() -> None:
    assert scan_fixture("serving_safe.py") == []


def test_debug_switches_in_test_files_are_not_reported_but_gradio_share_is() -> None:
    findings = scan(FIXTURES / "serving_unsafe.py", rel="tests/integration/test_serving.py")
    assert {f.rule_id for f in findings} == {"code/gradio-public-without-auth"}
