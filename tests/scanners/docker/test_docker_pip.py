"""docker/pip-unpinned, docker/pip-cache, docker/pip-extra-index-url, docker/insecure-package-index."""

from __future__ import annotations

from tests.scanners.docker.docker_support import RULES, hits, scan


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
