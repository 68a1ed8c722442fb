"""code/torch-load-unsafe, code/pickle-load, code/numpy-allow-pickle, code/yaml-unsafe-load."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.code.code_support import assert_matches_markers, scan, scan_fixture


def test_unsafe_loaders_are_reported_on_their_call_lines() -> None:
    findings = assert_matches_markers("deserialization_unsafe.py")
    by_line = {f.start_line: f for f in findings}
    # Aliases resolve to the real callee: `T.load`, `from torch import load`, `from pickle import loads as ...`.
    assert by_line[18].properties["call"] == "torch.load"
    assert by_line[19].properties["call"] == "torch.load"
    assert by_line[24].properties["call"] == "pickle.loads"
    assert by_line[37].properties["loader"] == "Loader"
    assert "weights_only=False" in by_line[19].message
    assert by_line[19].properties["unsafe_fallback"] is False


def test_weights_only_false_as_fallback_is_called_out() -> None:
    fallback = [f for f in scan_fixture("deserialization_unsafe.py") if f.properties.get("unsafe_fallback")]
    assert [f.start_line for f in fallback] == [51]
    assert "fallback" in fallback[0].message


def test_safe_loading_is_not_reported() -> None:
    assert scan_fixture("deserialization_safe.py") == []


def test_finding_points_at_the_call_column(tmp_path: Path) -> None:
    src = tmp_path / "train.py"
    src.write_text("import torch\n\ndef main(p):\n    state = dict(m=torch.load(p, weights_only=False))\n")
    (f,) = scan(src)
    line = "    state = dict(m=torch.load(p, weights_only=False))"
    assert (f.start_line, f.start_column) == (4, line.index("torch.load") + 1)
    assert f.end_column == line.index("))") + 2
    assert f.snippet == line.strip()


def test_literal_pickle_bytes_are_not_reported_but_variables_are(tmp_path: Path) -> None:
    src = tmp_path / "cache.py"
    src.write_text(
        "import pickle\n"
        "EMPTY = pickle.loads(b'\\x80\\x04N.')\n"
        "def get(redis, key):\n"
        "    return pickle.loads(redis.get(key))\n"
    )
    found = scan(src)
    assert [(f.start_line, f.rule_id) for f in found] == [(4, "code/pickle-load")]


def test_rebinding_a_name_stops_the_alias(tmp_path: Path) -> None:
    src = tmp_path / "loader.py"
    src.write_text("from pickle import load\ndef load(path):\n    return open(path).read()\ndata = load('x.txt')\n")
    assert scan(src) == []


def test_yaml_loader_subclass_of_safe_loader_is_safe_and_of_loader_is_not(tmp_path: Path) -> None:
    src = tmp_path / "cfg.py"
    src.write_text(
        "import yaml\n"
        "class Strict(yaml.SafeLoader):\n    pass\n"
        "class Loose(yaml.Loader):\n    pass\n"
        "a = yaml.load(s, Loader=Strict)\n"
        "b = yaml.load(s, Loader=Loose)\n"
    )
    found = scan(src)
    assert [(f.start_line, f.severity.label) for f in found] == [(7, "high")]


def test_parameters_shadow_names_only_inside_their_function(tmp_path: Path) -> None:
    src = tmp_path / "scope.py"
    src.write_text(
        "import torch as T\n"
        "def restore(T, path):\n"
        "    return T.load(path)\n"
        "handler = lambda T: T.load('x')\n"
        "state = T.load('ckpt.pt')\n"
    )
    assert [(f.start_line, f.rule_id) for f in scan(src)] == [(5, "code/torch-load-unsafe")]


def test_the_same_load_on_both_branches_of_an_if_is_one_finding(tmp_path: Path) -> None:
    src = tmp_path / "restore.py"
    src.write_text(
        "import pickle\n"
        "import torch\n"
        "\n"
        "def restore(path, use_cuda, other):\n"
        "    if use_cuda:\n"
        "        state = torch.load(path)\n"
        "    else:\n"
        "        state = torch.load(path, map_location='cpu')\n"
        "    if state:\n"
        "        extra = pickle.load(open(path, 'rb'))\n"
        "    else:\n"
        "        extra = pickle.load(open(other, 'rb'))\n"
        "    return state, extra\n"
    )
    findings = scan(src)
    assert [(f.start_line, f.rule_id) for f in findings] == [
        (6, "code/torch-load-unsafe"),
        (10, "code/pickle-load"),
        (12, "code/pickle-load"),
    ]
    assert findings[0].properties["also_at_lines"] == [8]
    assert "line 8" in findings[0].message
    # The kept finding is the one the first load reported before: its key (and so its fingerprint) holds.
    alone = tmp_path / "alone.py"
    alone.write_text("".join(src.read_text().splitlines(keepends=True)[:6]))
    assert scan(alone)[0].key == findings[0].key


# -- stored files: a module's own pickle format and a model server's load hook (issue #13) -------


def test_a_module_reading_back_its_own_pickle_format_is_strict_and_says_why() -> None:
    findings = assert_matches_markers("stored_models/sklearn_integration.py")
    lowered = [f for f in findings if f.properties.get("stored_file")]
    assert [(f.start_line, f.profile, f.properties["stored_file"]) for f in lowered] == [(24, "strict", "own-format")]
    assert "cloudpickle.dump" in lowered[0].message and "writable by this service alone" in lowered[0].message
    # The internal marker never reaches a report; the loads that stay high are in the default profile.
    assert all("_stored_file" not in f.properties for f in findings)
    assert {f.profile for f in findings if f not in lowered} == {""}


def test_a_model_servers_load_hook_is_strict_but_uploads_and_caches_are_not() -> None:
    findings = assert_matches_markers("stored_models/model_server.py")
    hooks = [(f.start_line, f.properties.get("stored_file"), f.profile) for f in findings]
    assert hooks == [(22, "load-hook", "strict"), (27, None, ""), (31, None, "")]
    assert "deployer configured (in `load`)" in findings[0].message


def test_dump_of_another_family_does_not_make_a_load_the_modules_own(tmp_path: Path) -> None:
    src = tmp_path / "store.py"
    src.write_text(
        "import joblib, pickle\n"
        "def save(obj, path):\n"
        "    joblib.dump(obj, path)\n"
        "def restore(path):\n"
        "    with open(path, 'rb') as f:\n"
        "        return pickle.load(f)\n"
    )
    (f,) = scan(src)
    assert (f.start_line, f.severity.label, f.profile) == (6, "high", "")


def test_eval_with_emptied_builtins_says_it_is_not_a_sandbox() -> None:
    findings = assert_matches_markers("stored_models/restricted_eval.py")
    by_line = {f.start_line: f for f in findings}
    assert by_line[11].properties.get("restricted_globals") is True
    assert "not a sandbox" in by_line[11].message and "ast" in by_line[11].message
    assert "restricted_globals" not in by_line[15].properties
    assert "not a sandbox" not in by_line[15].message


def test_exec_of_code_cut_from_the_projects_own_module_is_not_reported() -> None:
    # The table generator's exec (line 14) is gone; every exec fed from outside stays.
    findings = assert_matches_markers("stored_models/docs_generator.py")
    assert 14 not in {f.start_line for f in findings}
