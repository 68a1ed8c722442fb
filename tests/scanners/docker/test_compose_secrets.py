"""compose/secret-in-environment."""

from __future__ import annotations

from tests.scanners.docker.docker_support import COMPOSE, lines, scan

RULE = "compose/secret-in-environment"


def test_map_list_and_build_args_forms() -> None:
    found = scan(COMPOSE / "docker-compose.yml")
    # MLflow password (map), HF_TOKEN (list), POSTGRES_PASSWORD (map), WANDB_API_KEY (build args);
    # `${AWS_SECRET_ACCESS_KEY}` is interpolated and not reported.
    assert lines(found, RULE) == [18, 31, 59, 72]
    text = (COMPOSE / "docker-compose.yml").read_text()
    for f in [f for f in found if f.rule_id == RULE]:
        assert f.snippet.endswith("<redacted>")
        for literal in ("not-a-real-password", "hf_placeholder_not_real", "mlflow123", "not-a-real-key"):
            assert literal in text
            assert literal not in f.message and literal not in f.snippet and literal not in f.key


def test_anchored_environment_is_reported_for_each_service() -> None:
    found = [f for f in scan(COMPOSE / "docker-compose.anchors.yml") if f.rule_id == RULE]
    assert sorted((f.start_line, f.properties["service"]) for f in found) == [(5, "evaluator"), (5, "trainer")]


def test_interpolation_and_file_variables_are_fine() -> None:
    assert lines(scan(COMPOSE / "compose.hardened.yaml"), RULE) == []
