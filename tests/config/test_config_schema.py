"""The shipped JSON Schema: valid itself, usable by editors on its own, in step
with the loader, and with every installed scanner's options schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema import Draft202012Validator

from aisec_ci.config.loader import CORE_KEYS, ConfigYamlLoader, config_json_schema, load_config
from aisec_ci.scanners.registry import all_scanners
from tests.config.config_fakes import FIXTURES

BUILTIN_SCANNERS = {"deps", "secrets", "docker", "kubernetes", "cloud", "workflows", "models", "code"}


def plain_yaml(path: Path) -> Any:
    """The fixture as an editor's schema plugin sees it: dates stay strings."""
    return yaml.load(path.read_text(), Loader=ConfigYamlLoader)


def test_shipped_schema_is_valid_draft_2020_12() -> None:
    schema = config_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_is_package_data() -> None:
    import aisec_ci.config

    shipped = Path(aisec_ci.config.__file__).with_name("schema.json")
    assert json.loads(shipped.read_text(encoding="utf-8")) == config_json_schema()


def test_config_json_schema_returns_a_fresh_copy() -> None:
    first = config_json_schema()
    first["properties"].clear()
    assert "fail-on" in config_json_schema()["properties"]


def test_schema_keys_match_the_loader() -> None:
    props = set(config_json_schema()["properties"])
    assert props == set(CORE_KEYS) | BUILTIN_SCANNERS


def test_full_example_validates_against_the_schema_alone() -> None:
    errors = list(Draft202012Validator(config_json_schema()).iter_errors(plain_yaml(FIXTURES / "full.aisec.yml")))
    assert errors == []


@pytest.mark.parametrize(
    ("fixture", "path"),
    [
        ("typo.aisec.yml", []),
        ("bad-ignores.aisec.yml", ["ignores", 0]),
    ],
)
def test_bad_examples_fail_the_schema_alone(fixture: str, path: list[Any]) -> None:
    errors = list(Draft202012Validator(config_json_schema()).iter_errors(plain_yaml(FIXTURES / fixture)))
    assert errors and list(errors[0].absolute_path) == path


def test_every_installed_scanner_has_a_valid_options_schema() -> None:
    for name, cls in all_scanners().items():
        try:
            Draft202012Validator.check_schema(dict(cls.options_schema))
        except jsonschema.SchemaError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"scanner {name}: invalid options_schema: {exc.message}")
        assert cls.options_schema.get("type") == "object", name
        # Unknown keys must be errors, as for the rest of the config.
        assert cls.options_schema.get("additionalProperties") is False, name


def test_installed_scanners_are_accepted_by_the_real_registry(tmp_path: Path) -> None:
    names = sorted(all_scanners())
    if not names:
        pytest.skip("no scanner installed yet")
    sections = "".join(f"{n}: {{}}\n" for n in names if n not in CORE_KEYS)
    (tmp_path / ".aisec.yml").write_text(f"scanners: [{', '.join(names)}]\n{sections}")
    cfg = load_config(None, root=tmp_path)
    assert cfg.scanners == tuple(names)
