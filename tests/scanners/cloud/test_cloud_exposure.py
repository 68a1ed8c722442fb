"""Service exposure E1-E5: command lines (Dockerfile, compose, scripts), nginx, htpasswd."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec_ci.scanners.cloud import nginx
from aisec_ci.severity import Severity
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.cloud.cloud_support import by_rule, line_of, rules, scan


def test_nginx_unsafe() -> None:
    path = "nginx-mlflow-unsafe.conf"
    fs = scan(path, FileKind.NGINX)
    assert {(f.rule_id, f.start_line) for f in fs} == {
        ("exposure/nginx-no-tls-redirect", line_of(path, "listen 80;")),
        ("exposure/nginx-server-tokens", line_of(path, "server_tokens on;")),
        ("exposure/nginx-unlimited-body-size", line_of(path, "client_max_body_size 0;")),
        ("exposure/nginx-proxy-without-auth", line_of(path, "proxy_pass http://mlflow_backend;")),
        ("exposure/nginx-proxy-without-auth", line_of(path, "proxy_pass http://tensorboard")),
        ("exposure/nginx-autoindex", line_of(path, "autoindex on;")),
    }


def test_nginx_with_auth_basic_in_front_of_mlflow_is_clean() -> None:
    assert scan("nginx-mlflow-safe.conf", FileKind.NGINX) == []


def test_nginx_auth_off_in_location_reopens(tmp_path: Path) -> None:
    p = tmp_path / "site.conf"
    p.write_text(
        'server {\n listen 443 ssl;\n auth_basic "x";\n location /api/ {\n  auth_basic off;\n'
        "  proxy_pass http://mlflow:5000;\n }\n}\n"
    )
    (f,) = scan(p, FileKind.NGINX)
    assert f.rule_id == "exposure/nginx-proxy-without-auth" and f.start_line == 6


def test_nginx_parser_survives_broken_input() -> None:
    root = nginx.parse('server { listen 80; location / { proxy_pass "http://a b"; # c } \n')
    names = [d.name for d in nginx.walk(root)]
    assert names[:3] == ["server", "listen", "location"]


def test_dockerfile_cmd() -> None:
    (f,) = scan("Dockerfile.mlflow", FileKind.DOCKERFILE)
    assert f.rule_id == "exposure/mlflow-without-auth" and f.start_line == 4
    assert scan("Dockerfile.mlflow-safe", FileKind.DOCKERFILE) == []


def test_shell_script() -> None:
    path = "start-lab.sh"
    fs = scan(path, FileKind.TEXT)
    assert {(f.rule_id, f.start_line) for f in fs} == {
        ("exposure/ray-dashboard-public", line_of(path, "ray start --head")),
        ("exposure/jupyter-without-auth", line_of(path, "jupyter lab")),
        ("exposure/tensorboard-public", line_of(path, "tensorboard")),
    }
    assert scan("start-lab-safe.sh", FileKind.TEXT) == []


def test_jupyter_root_on_all_interfaces_is_medium(tmp_path: Path) -> None:
    p = tmp_path / "run.sh"
    p.write_text("jupyter notebook --ip=0.0.0.0 --allow-root\n")
    (f,) = scan(p, FileKind.TEXT)
    assert f.severity is Severity.MEDIUM


def test_compose_services() -> None:
    path = "docker-compose.yml"
    fs = scan(path, FileKind.COMPOSE)
    assert {(f.rule_id, f.start_line) for f in fs} == {
        ("exposure/mlflow-without-auth", line_of(path, "command: mlflow server")),
        ("exposure/jupyter-without-auth", line_of(path, "command: start-notebook.py")),
        ("exposure/ray-dashboard-public", line_of(path, "command:", nth=3)),
        ("exposure/mlflow-unsafe-store-options", line_of(path, "command: mlflow server")),
    }
    # The store password on that command line reaches no part of any finding.
    assert not any("mlflowpass" in repr(f) for f in fs)


def test_htpasswd_hashes_never_printed() -> None:
    (f,) = scan("htpasswd-fixture.htpasswd", FileKind.TEXT)
    assert f.rule_id == "exposure/htpasswd-committed"
    assert "$apr1$" not in f.message + f.snippet and "W6ph5" not in f.message + f.snippet
    assert rules(scan("nginx-mlflow-safe.conf", FileKind.NGINX)) == set()


def test_localhost_binds_are_not_reported(tmp_path: Path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text(
        'FROM python:3.11\nCMD ["mlflow", "ui", "--host", "127.0.0.1"]\nRUN echo mlflow server --host 0.0.0.0.example\n'
    )
    assert by_rule(scan(p, FileKind.DOCKERFILE), "exposure/mlflow-without-auth") == []


def test_nginx_unlimited_body_size() -> None:
    path = "nginx-mlflow-unsafe.conf"
    fs = by_rule(scan(path, FileKind.NGINX), "exposure/nginx-unlimited-body-size")
    assert [f.start_line for f in fs] == [line_of(path, "client_max_body_size 0;")]


def test_credentials_on_the_offending_line_are_masked() -> None:
    fs = scan("docker-compose.yml", FileKind.COMPOSE)
    (mlflow,) = by_rule(fs, "exposure/mlflow-without-auth")
    assert "mlflowpass" not in mlflow.snippet + mlflow.message
    assert "postgresql://mlflow:<redacted>@db/mlflow" in mlflow.snippet


def test_compose_service_behind_auth_proxy_is_not_reported() -> None:
    assert scan("docker-compose-proxied.yml", FileKind.COMPOSE) == []


def test_mlflow_store_options() -> None:
    path = "Dockerfile.mlflow-store"
    fs = by_rule(scan(path, FileKind.DOCKERFILE), "exposure/mlflow-unsafe-store-options")
    assert sorted(f.message for f in fs) == [
        "MLflow artifact location is reached over clear text (http:// or ftp://)",
        "MLflow server worker options disable the request timeout or size limits",
    ]
    assert {f.start_line for f in fs} == {line_of(path, "CMD mlflow server")}
    assert "exposure/mlflow-without-auth" not in {f.rule_id for f in scan(path, FileKind.DOCKERFILE)}


@pytest.mark.parametrize(
    "command",
    [
        "mlflow server --backend-store-uri postgresql://mlflow:${MLFLOW_DB_PASSWORD}@db/mlflow",
        "mlflow server --default-artifact-root https://minio.example.com/mlflow",
        "mlflow server --artifacts-destination http://localhost:9000/mlflow",
        "mlflow server --default-artifact-root s3://models/mlflow --gunicorn-opts '--timeout 120'",
        "echo --backend-store-uri postgresql://u:hunter22@db/x",
    ],
)
def test_mlflow_store_options_negatives(tmp_path: Path, command: str) -> None:
    p = tmp_path / "start.sh"
    p.write_text(command + "\n")
    assert scan(p, FileKind.TEXT) == []


def test_mlflow_store_password_never_reported(tmp_path: Path) -> None:
    p = tmp_path / "start.sh"
    p.write_text("mlflow server --host 0.0.0.0 --backend-store-uri postgresql://mlflow:hunter22@db/mlflow\n")
    fs = scan(p, FileKind.TEXT)
    assert {f.rule_id for f in fs} == {"exposure/mlflow-without-auth", "exposure/mlflow-unsafe-store-options"}
    assert next(f for f in fs if f.rule_id.endswith("store-options")).severity is Severity.HIGH
    assert not any("hunter22" in repr(f) for f in fs)
