"""code/eval-model-output and code/eval-dynamic-input."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.code.code_support import assert_matches_markers, scan, scan_fixture


def test_eval_of_llm_output_is_critical_and_other_dynamic_eval_medium() -> None:
    findings = assert_matches_markers("eval_unsafe.py")
    sources = {f.start_line: f.properties.get("source") for f in findings}
    # The taint follows assignments: reply -> expression, msg -> text -> cleaned.
    assert sources[18] == "expression"
    assert sources[30] == "cleaned"
    assert sources[40] == "model()"


def test_literal_eval_method_eval_and_shadowed_eval_are_not_reported() -> None:
    assert scan_fixture("eval_safe.py") == []


def test_project_specific_llm_names_come_from_options(tmp_path: Path) -> None:
    src = tmp_path / "bot.py"
    src.write_text("def handle(q):\n    plan = summon_oracle(q)\n    return eval(plan)\n")
    (default,) = scan(src)
    assert default.rule_id == "code/eval-dynamic-input"
    (configured,) = scan(src, options={"llm_call_names": ["oracle"]})
    assert (configured.rule_id, configured.severity.label) == ("code/eval-model-output", "critical")


def test_llm_module_from_options(tmp_path: Path) -> None:
    src = tmp_path / "bot.py"
    src.write_text("from acme.brains import think\n\ndef handle(q):\n    return exec(think(q))\n")
    assert [f.rule_id for f in scan(src)] == ["code/eval-dynamic-input"]
    assert [f.rule_id for f in scan(src, options={"llm_modules": ["acme.brains"]})] == ["code/eval-model-output"]


def test_exec_of_a_fixed_project_file_is_not_reported_but_a_variable_path_is(tmp_path: Path) -> None:
    src = tmp_path / "setup.py"
    src.write_text(
        "from pathlib import Path\n"
        "exec(open('pkg/version.py').read())\n"
        "exec(Path('pkg/about.py').read_text())\n"
        "def hook(cfg):\n"
        "    exec(Path(cfg.plugin).read_text())\n"
    )
    assert [(f.start_line, f.rule_id) for f in scan(src)] == [(5, "code/eval-dynamic-input")]


def test_model_output_taint_starts_only_at_a_generation_call(tmp_path: Path) -> None:
    # A KFP-like local runner: a CEL condition resolved through `_resolve_pipeline_channel`, a
    # `model_id` looked up by a helper and a server CLI built from `sys.executable` are not model output.
    src = tmp_path / "runner.py"
    src.write_text(
        "import subprocess\n"
        "import sys\n"
        "from transformers import AutoTokenizer, pipeline\n"
        "from huggingface_hub import snapshot_download\n"
        "\n"
        "class ConditionEvaluator:\n"
        "    def evaluate(self, condition, store):\n"
        "        expr = condition\n"
        "        value = ConditionEvaluator._resolve_pipeline_channel(condition, store)\n"
        "        expr = expr.replace('x', str(value)).replace('&&', ' and ')\n"
        "        return eval(expr, {'__builtins__': {}}, {})\n"
        "\n"
        "def serve(spec):\n"
        "    model_id = get_model_id(spec)\n"
        "    local = snapshot_download(model_id)\n"
        "    tok = AutoTokenizer.from_pretrained(local)\n"
        "    cmd = [sys.executable, '-m', 'server', '--model', local, '--tok', str(tok(model_id))]\n"
        "    subprocess.Popen(cmd)\n"
        "    return exec(model_id)\n"
        "\n"
        "def generate(prompt, agent):\n"
        "    pipe = pipeline('text-generation')\n"
        "    text = pipe(prompt)[0]['generated_text']\n"
        "    eval(text)\n"
        "    plan = agent.run(prompt)\n"
        "    exec(plan)\n"
    )
    found = [(f.start_line, f.rule_id, f.severity.label) for f in scan(src)]
    assert found == [
        (11, "code/eval-dynamic-input", "medium"),
        (19, "code/eval-dynamic-input", "medium"),
        (24, "code/eval-model-output", "critical"),
        (26, "code/eval-model-output", "critical"),
    ]
