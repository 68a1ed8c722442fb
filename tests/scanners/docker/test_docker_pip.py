"""docker/pip-unpinned, docker/pip-cache, docker/pip-extra-index-url, docker/insecure-package-index."""

from __future__ import annotations

from pathlib import Path

from tests.scanners.docker.docker_support import RULES, hits, lines, scan, write


def test_pip_fixture() -> None:
    found = scan(RULES / "pip.Dockerfile")
    assert hits(found, "docker/pip") | hits(found, "docker/insecure") == {
        ("docker/pip-extra-index-url", 2),
        ("docker/insecure-package-index", 3),
        ("docker/pip-unpinned", 4),
        ("docker/pip-extra-index-url", 5),
        ("docker/pip-extra-index-url", 6),
        ("docker/insecure-package-index", 7),
    }
    (unpinned,) = [f for f in found if f.rule_id == "docker/pip-unpinned"]
    assert unpinned.properties["packages"] == ["transformers", "sentencepiece"]
    assert unpinned.properties["ml_packages"] == ["transformers"]


def test_credentials_in_index_urls_are_redacted() -> None:
    found = scan(RULES / "pip.Dockerfile")
    (uv,) = [f for f in found if f.start_line == 5]
    assert "s3cr3t" not in uv.message and "s3cr3t" not in uv.key and "***@" in uv.message


def test_allowed_extra_index_urls_option() -> None:
    found = scan(RULES / "pip.Dockerfile", options={"allowed_extra_index_urls": ["https://download.pytorch.org/whl"]})
    assert 6 not in {f.start_line for f in found if f.rule_id == "docker/pip-extra-index-url"}


def test_kitchen_sink_pip() -> None:
    found = scan(RULES.parent / "kitchen-sink" / "Dockerfile")
    assert hits(found, "docker/pip") | hits(found, "docker/insecure") == {
        ("docker/pip-unpinned", 19),
        ("docker/pip-cache", 19),
        ("docker/pip-extra-index-url", 19),
        ("docker/insecure-package-index", 19),
        ("docker/pip-unpinned", 22),
        ("docker/pip-cache", 22),
        ("docker/insecure-package-index", 22),
    }


def test_uv_first_index_strategy_is_not_dependency_confusion(tmp_path: Path) -> None:
    # uv takes a package from the first index that has it (extra indexes before PyPI) unless told otherwise.
    safe = write(
        tmp_path,
        "FROM python:3.12-slim\nENV UV_EXTRA_INDEX_URL=https://pkgs.example.com/simple\n"
        "RUN uv pip install --system --extra-index-url https://download.pytorch.org/whl/cpu torch==2.5.1\n",
    )
    assert lines(scan(safe), "docker/pip-extra-index-url") == []
    unsafe = write(
        tmp_path,
        "FROM python:3.12-slim\nENV UV_INDEX_STRATEGY=unsafe-best-match\n"
        "ENV UV_EXTRA_INDEX_URL=https://pkgs.example.com/simple\n"
        "RUN uv pip install --system --extra-index-url https://download.pytorch.org/whl/cpu torch==2.5.1\n"
        "RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu torch==2.5.1\n",
        name="unsafe.Dockerfile",
    )
    assert lines(scan(unsafe), "docker/pip-extra-index-url") == [3, 4, 5]
